import { unlinkSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { ProxyApp, type ListenerStatus } from "../app.js";
import type { AdminApp } from "../admin/admin-app.js";
import type { AdminSources } from "../admin/admin-sources.js";
import { RouteChanges } from "../api/route-changes.js";
import { TokenCheck } from "../api/token-check.js";
import { apiDispatcher } from "../api/api-dispatcher.js";
import { RoutesApi } from "../api/routes-api.js";
import { KernelSocketTap, type CaptureStatus } from "../capture/kernel-socket-tap.js";
import { LaunchCapture } from "../capture/launch-capture.js";
import { RecordsFanOut, type RecordStage } from "../capture/records-fan-out.js";
import { RecordsFileSink } from "../capture/records-file-sink.js";
import type { Config } from "../config/config.js";
import { readOptionFile } from "../config/option-file.js";
import { DeliveryService, type DeliveryStatus } from "../delivery/delivery-service.js";
import { BUILT_IN_ERROR_PATH, ErrorResponder, type ErrorPageSource } from "../forward/error-responder.js";
import { HttpForwarder } from "../forward/http-forwarder.js";
import type { ClientTls } from "../http1/connect-upstream.js";
import { UpstreamPools } from "../http1/upstream-pools.js";
import { metricsHandler } from "../listener/metrics-server.js";
import { ProxyDispatcher } from "../listener/proxy-dispatcher.js";
import type { Logger } from "../log/logger.js";
import { LaunchCookieCodec } from "../lti/launch-cookie.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import { ActivityRecorder } from "../routing/activity-recorder.js";
import { addStartupRoute, type RouteStore } from "../routing/route-store.js";
import { publicListenerTlsFiles } from "../tls/tls-files.js";
import { VERSION } from "../version.js";
import { ReadHold } from "../websocket/read-hold.js";
import { WebSocketRelay, type RelayStatus } from "../websocket/ws-relay.js";
import { Lifecycle } from "./lifecycle.js";
import { PoolSweep } from "./pool-sweep.js";
import type { OpenedSpawnerEndpoint } from "./spawner-endpoint.js";
import { openRouteStore, type RouteStoreStatus } from "./route-storage.js";

/** How long an upstream connection may take to open; the answer's own deadline is separate. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long an upgrade may wait for the upstream's 101 when `--proxy-timeout` is not set: jupyter_server answers a
 * kernel channel upgrade only once the kernel replied to kernel_info, which it waits up to 60 s for.
 */
const UPGRADE_RESPONSE_TIMEOUT_MS = 90_000;
/** Idle keep-alive connections to upstreams close after this (below the usual 5 s of Tornado and Node servers). */
const UPSTREAM_KEEP_ALIVE_MS = 4000;
/** Calls to Moodle give up after this. */
const MOODLE_REQUEST_TIMEOUT_MS = 30_000;

/** Everything an operator can ask the running proxy about. */
export interface RuntimeStatus {
  startedAt: number;
  routes: RouteStoreStatus;
  relay: RelayStatus;
  capture: CaptureStatus;
  delivery?: DeliveryStatus;
  listeners: ListenerStatus;
}

/** The running program's parts, for the admin page and tests. */
export interface RuntimeParts {
  store: RouteStore;
  activity: ActivityRecorder;
  relay: WebSocketRelay;
  capture: KernelSocketTap;
  delivery?: DeliveryService;
  metrics?: ProxyMetrics;
}

function readFileOption(option: string, file: string | undefined): Buffer | undefined {
  return file === undefined ? undefined : readOptionFile(option, file);
}

/**
 * The composition root: the only place that builds the program's parts from a Config and wires them together,
 * and the owner of their start and stop. Tests build the proxy through it as the binary does.
 */
export class Runtime {
  private constructor(
    private readonly startedAt: number,
    readonly config: Config,
    private readonly lifecycle: Lifecycle,
    readonly parts: RuntimeParts,
    private readonly storeStatus: () => RouteStoreStatus,
    private readonly app: ProxyApp,
  ) {}

  /** Builds and starts everything; on failure, whatever was started is stopped again before the error is thrown. */
  static async start(config: Config, log: Logger): Promise<Runtime> {
    const lifecycle = new Lifecycle(log);
    try {
      return await Runtime.compose(config, log, lifecycle);
    } catch (error) {
      await lifecycle.stop(config.server.shutdownTimeoutMs);
      throw error;
    }
  }

  /**
   * Builds the parts in data-flow order, each registered for stop as soon as it exists (so the reverse order stops
   * the listeners first and the stores last), and binds the listeners last.
   */
  private static async compose(config: Config, log: Logger, lifecycle: Lifecycle): Promise<Runtime> {
    const startedAt = Date.now();
    const metrics = await openMetrics(config, lifecycle);
    const routes = await openRouteStore(config.routes.storage, log);
    lifecycle.register("route store", () => routes.close());
    const store = routes.store;
    const activity = new ActivityRecorder({ store, log });
    lifecycle.register("activity notes", async () => {
      activity.close();
      await activity.flush();
    });
    const { pools, clientTls } = openUpstreamPools(config, lifecycle);
    const { capture, delivery, codec } = await openCapture(config, log, lifecycle);
    const { dispatcher, relay } = buildProxying(config, log, {
      store,
      activity,
      pools,
      clientTls,
      capture,
      codec,
    });

    const tokens = new TokenCheck(config.routes.apiToken);
    if (tokens.open) log.warn("REST API is not authenticated.");
    const poolSweep = new PoolSweep(store, pools);
    lifecycle.register("pool sweep", () => poolSweep.close());
    const routeChanges = new RouteChanges({ store, activity, log, onChange: () => poolSweep.schedule() });
    const api = new RoutesApi({
      store,
      tokens,
      activity,
      changes: routeChanges,
      hostRouting: config.routes.hostRouting,
      log,
    });
    // The plan, the Engine API driver and their dependencies load only when the spawner is on (start-up time).
    const spawner = config.spawner
      ? (await import("./spawner-endpoint.js")).openSpawnerEndpoint(config.spawner, tokens, log)
      : undefined;
    if (spawner) lifecycle.register("container engine", () => spawner.close());
    // The listeners are bound last (below); the admin page reads them only once it serves requests.
    const bound: { app?: ProxyApp } = {};
    const admin = await Runtime.adminPage(config, log, lifecycle, {
      version: VERSION,
      startedAt,
      routes: {
        getAll: () => store.getAll(),
        get: (path) => store.get(path),
        remove: (path) => routeChanges.remove(path),
        flushActivity: () => activity.flush(),
        status: () => routes.status(),
      },
      relay,
      capture,
      delivery,
      listeners: () => bound.app?.status(),
      spawner,
    });

    logForwardingOptions(config, log);
    const defaultTarget = config.routes.defaultTarget;
    if (defaultTarget) {
      log.info("Adding route / -> %s", defaultTarget);
      await addStartupRoute(store, "/", { target: defaultTarget, last_activity: new Date() });
    }

    const publicTlsFiles = await publicListenerTlsFiles(config.tls, config.dataDir, log);
    const listening = await ProxyApp.listen(
      config,
      publicTlsFiles,
      {
        proxy: dispatcher,
        api: apiDispatcher({ routes: api.handle, spawner: spawner?.handle, log }),
        metrics: metrics && metricsHandler(metrics),
        admin: admin?.handle,
      },
      log,
    );
    bound.app = listening;
    lifecycle.register("listeners", (remainingMs) =>
      listening.close(remainingMs, () => {
        relay.closeAll();
        // Live admin streams would hold the listener open until the deadline.
        admin?.close();
      }),
    );

    // Written before the last readiness line, so whoever waits for it finds the file.
    const pidFile = config.listen.pidFile;
    if (pidFile) {
      writeFileSync(pidFile, String(process.pid));
      log.info("Writing pid %d to %s", process.pid, pidFile);
      lifecycle.register("pid file", () => removeFile(pidFile));
    }
    if (defaultTarget) log.info("Route added / -> %s", defaultTarget);

    metrics?.observe({
      openWebSockets: () => relay.openCount,
      routeCount: () => routes.status().routes,
      routeStoreConnected: () => {
        const connected = routes.status().connected;
        return connected === undefined ? undefined : connected ? 1 : 0;
      },
      // The spool's figures only: `status()` would read the dead-letter file on every scrape.
      deliveryQueue: delivery && (() => delivery.queue()),
      captureHeldBytes: () => capture.heldBytes,
    });
    const parts: RuntimeParts = { store, activity, relay, capture, delivery, metrics };
    return new Runtime(startedAt, config, lifecycle, parts, () => routes.status(), listening);
  }

  /**
   * The admin page when `--admin-port` is given, signed in to with the REST API token (or the generated one), with
   * the Moodle origins records may go to and the spawner's container engine and policy (images, course volumes).
   */
  private static async adminPage(
    config: Config,
    log: Logger,
    lifecycle: Lifecycle,
    parts: Omit<AdminSources, "tokens" | "moodleOrigins" | "engine"> & { spawner?: OpenedSpawnerEndpoint },
  ): Promise<AdminApp | undefined> {
    if (!config.admin) return undefined;
    const { spawner, ...sources } = parts;
    // Loaded only when served, like the metrics: the page's modules and files cost nothing otherwise.
    const [{ AdminApp }, { adminToken }] = await Promise.all([
      import("../admin/admin-app.js"),
      import("../admin/admin-token.js"),
    ]);
    const token = adminToken(config.routes.apiToken, config.dataDir);
    if (token.file)
      log.warn("REST API has no token: sign in to the admin page with the token in %s", token.file);
    const moodleUrl = config.delivery?.moodle?.baseUrl;
    const admin = new AdminApp(
      {
        ...sources,
        tokens: token.check,
        moodleOrigins: [
          ...new Set([
            ...(moodleUrl ? [new URL(moodleUrl).origin] : []),
            ...(config.delivery?.allowOrigins ?? []),
          ]),
        ],
        engine: spawner && {
          client: spawner.engine,
          imageFilter: spawner.policy.imageFilter,
          ...(moodleUrl ? { defaultHost: new URL(moodleUrl).hostname } : {}),
        },
      },
      log,
    );
    lifecycle.register("admin page", () => admin.close());
    return admin;
  }

  /** The public listener, for embedding (e.g. in-process tests that watch its upgrades). */
  get publicServer(): Server {
    return this.app.publicServer;
  }

  /** Graceful stop within `--shutdown-timeout`: listeners first, stores last (see Lifecycle). */
  stop(): Promise<void> {
    return this.lifecycle.stop(this.config.server.shutdownTimeoutMs);
  }

  /** SIGHUP (systemd ExecReload) re-reads the certificates; open connections keep theirs. */
  reloadCertificates(): void {
    this.app.reloadCertificates();
  }

  /** Files that must not outlive the process even when it exits without a graceful stop. */
  removeFiles(): void {
    this.app.removeFiles();
    if (this.config.listen.pidFile) removeFile(this.config.listen.pidFile);
  }

  status(): RuntimeStatus {
    return {
      startedAt: this.startedAt,
      routes: this.storeStatus(),
      relay: this.parts.relay.status(),
      capture: this.parts.capture.status(),
      delivery: this.parts.delivery?.status(),
      listeners: this.app.status(),
    };
  }
}

/** Metrics cost a little on every request and prom-client megabytes of memory: both only when served. */
async function openMetrics(config: Config, lifecycle: Lifecycle): Promise<ProxyMetrics | undefined> {
  if (!config.listen.metrics) return undefined;
  const metrics = new (await import("../metrics/metrics.js")).ProxyMetrics();
  lifecycle.register("metrics", () => metrics.close());
  return metrics;
}

/** The keep-alive connections to upstreams, shared by forwarded requests and error pages. */
function openUpstreamPools(
  config: Config,
  lifecycle: Lifecycle,
): { pools: UpstreamPools; clientTls: ClientTls } {
  const clientTls: ClientTls = {
    key: readFileOption("--client-ssl-key", config.upstream.clientKeyFile),
    cert: readFileOption("--client-ssl-cert", config.upstream.clientCertFile),
    ca: config.upstream.clientCaFile
      ? [readFileOption("--client-ssl-ca", config.upstream.clientCaFile) as Buffer]
      : undefined,
    rejectUnauthorized: !config.upstream.insecure,
  };
  const pools = new UpstreamPools({
    connectionsPerOrigin: config.upstream.maxConnections,
    clientSharePercent: config.upstream.clientSharePercent,
    queueLimit: config.upstream.queueLimit,
    queueTimeoutMs: config.upstream.queueTimeoutMs,
    keepAliveTimeoutMs: UPSTREAM_KEEP_ALIVE_MS,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    clientTls,
  });
  lifecycle.register("upstream connections", () => pools.close());
  return { pools, clientTls };
}

/**
 * The capture side: the kernel socket tap and where its records go (the durable delivery first, so a record reaches
 * the spool whatever the `--records-file` sink does), and the launch-cookie codec the tap and the forwarder share.
 */
async function openCapture(
  config: Config,
  log: Logger,
  lifecycle: Lifecycle,
): Promise<{ capture: KernelSocketTap; delivery?: DeliveryService; codec: LaunchCookieCodec }> {
  const stages: RecordStage[] = [];
  let delivery: DeliveryService | undefined;
  if (config.delivery) {
    delivery = await DeliveryService.open({
      dataDir: config.dataDir,
      moodle: config.delivery.moodle,
      allowOrigins: config.delivery.allowOrigins,
      batchSize: config.delivery.batchSize,
      batchAgeMs: config.delivery.batchAgeMs,
      concurrency: config.delivery.concurrency,
      spoolMaxBytes: config.delivery.spoolMaxBytes,
      multiRecord: config.delivery.multiRecord,
      requestTimeoutMs: MOODLE_REQUEST_TIMEOUT_MS,
      logger: log,
    });
    const opened = delivery;
    lifecycle.register("delivery", async (remainingMs) => {
      await opened.flush(remainingMs);
      await opened.close();
    });
    delivery.start();
    stages.push(delivery);
  } else {
    log.warn("No Moodle configured (--moodle-url, --moodle-allow): captured records are not delivered");
  }
  if (config.capture.recordsFile) {
    const file = new RecordsFileSink(config.capture.recordsFile);
    lifecycle.register("records file", () => file.close());
    stages.push(file);
  }
  const codec = await LaunchCookieCodec.openKeyFile(config.capture.launchCookieKeyFile, {
    acceptLegacyCookies: config.capture.legacyLmsCookies,
  });
  const capture = new KernelSocketTap({
    sink: new RecordsFanOut(stages, log),
    logger: log,
    cookieCodec: codec,
    socketMemoryBytes: config.capture.socketMemoryBytes,
    memoryBytes: config.capture.memoryBytes,
  });
  return { capture, delivery, codec };
}

/** The proxy's request path: routing, then the HTTP forwarder or the WebSocket relay (tapped), and error pages. */
function buildProxying(
  config: Config,
  log: Logger,
  parts: {
    store: RouteStore;
    activity: ActivityRecorder;
    pools: UpstreamPools;
    clientTls: ClientTls;
    capture: KernelSocketTap;
    codec: LaunchCookieCodec;
  },
): { dispatcher: ProxyDispatcher; relay: WebSocketRelay } {
  const { store, activity, pools } = parts;
  const errorPages: ErrorPageSource =
    config.forwarding.errorPages.kind === "target"
      ? { kind: "target", url: config.forwarding.errorPages.url, pools }
      : {
          kind: "path",
          dir:
            config.forwarding.errorPages.kind === "path"
              ? config.forwarding.errorPages.dir
              : BUILT_IN_ERROR_PATH,
        };
  const errors = new ErrorResponder(errorPages, log);
  const forwarding = {
    xForward: config.forwarding.xForward,
    changeOrigin: config.forwarding.changeOrigin,
    customHeaders: config.forwarding.customHeaders,
    dropClientForwarded: config.forwarding.dropClientForwarded,
  };
  const paths = {
    prependPath: config.forwarding.prependPath,
    includePrefix: config.forwarding.includePrefix,
  };
  const forwarder = new HttpForwarder({
    pools,
    forwarding,
    paths,
    proxyTimeoutMs: config.upstream.responseTimeoutMs,
    bodyIdleTimeoutMs: config.server.requestBodyTimeoutMs,
    autoRewrite: config.forwarding.autoRewrite,
    protocolRewrite: config.forwarding.protocolRewrite,
    activity,
    errors,
    log,
    launches: new LaunchCapture(parts.codec, log),
  });
  const relay = new WebSocketRelay({
    forwarding,
    paths,
    clientTls: parts.clientTls,
    deadlines: {
      connectMs: CONNECT_TIMEOUT_MS,
      responseMs: config.upstream.responseTimeoutMs || UPGRADE_RESPONSE_TIMEOUT_MS,
    },
    activity,
    log,
    taps: parts.capture,
    readHold: config.upstream.websocketHoldMs > 0 ? new ReadHold(config.upstream.websocketHoldMs) : undefined,
  });
  const dispatcher = new ProxyDispatcher({
    store,
    forwarder,
    relay,
    errors,
    hostRouting: config.routes.hostRouting,
    accessLog: config.log.accessLog,
    log,
  });
  return { dispatcher, relay };
}

/** CHP's start-up lines for the rewriting options. */
function logForwardingOptions(config: Config, log: Logger): void {
  if (config.forwarding.autoRewrite) log.info("AutoRewrite of Location headers enabled.");
  if (config.forwarding.changeOrigin) log.info("Change Origin of host headers enabled.");
  if (config.forwarding.protocolRewrite)
    log.info("ProtocolRewrite enabled. Rewriting to %s", config.forwarding.protocolRewrite);
}

function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}
