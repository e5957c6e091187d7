import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { TokenCheck } from "./api/token-check.js";
import { RoutesApi } from "./api/routes-api.js";
import type { Settings } from "./config/settings.js";
import { ConfigError } from "./config/config-error.js";
import { ErrorResponder, BUILT_IN_ERROR_PATH } from "./forward/error-responder.js";
import { HttpForwarder } from "./forward/http-forwarder.js";
import type { ClientTls } from "./http1/connect-upstream.js";
import { UpstreamPools } from "./http1/upstream-pools.js";
import { parseUpstreamTarget } from "./http1/upstream-target.js";
import { boundPort, describeListen, listen, type ListenSpec } from "./listener/listen.js";
import { createMetricsServer } from "./listener/metrics-server.js";
import { ProxyDispatcher } from "./listener/proxy-dispatcher.js";
import { startRedirectServer } from "./listener/redirect-server.js";
import { CertificateReloader } from "./tls/certificate-reloader.js";
import { apiListenerTlsFiles, publicListenerTlsFiles } from "./tls/tls-files.js";
import { buildTlsOptions } from "./tls/tls-options.js";
import type { Logger } from "./log/logger.js";
import type { ProxyMetrics } from "./metrics/metrics.js";
import { ActivityRecorder } from "./routing/activity-recorder.js";
import { MemoryRouteStore } from "./routing/memory-route-store.js";
import type { RouteStore } from "./routing/route-store.js";
import { loadStorageBackend } from "./routing/storage-backend.js";
import type { CaptureRole } from "./capture/capture-role.js";
import { WebSocketRelay } from "./websocket/ws-relay.js";

function readFileOption(option: string, file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** The running proxy: public, API and metrics listeners over one route store. */
export class ProxyApp {
  private readonly servers: Server[] = [];
  private readonly unixSockets: string[] = [];
  private readonly connections = new Set<Socket>();
  private readonly reloaders: CertificateReloader[] = [];
  private poolSweep: NodeJS.Timeout | undefined;
  private stopping = false;

  private constructor(
    readonly settings: Settings,
    readonly log: Logger,
    readonly store: RouteStore,
    readonly metrics: ProxyMetrics | undefined,
    private readonly pools: UpstreamPools,
    private readonly relay: WebSocketRelay,
    private readonly capture: CaptureRole | undefined,
  ) {}

  static async start(
    settings: Settings,
    log: Logger,
    roles: { metrics?: ProxyMetrics; capture?: CaptureRole } = {},
  ): Promise<ProxyApp> {
    const { options } = settings;
    const { metrics, capture } = roles;
    const store: RouteStore = options.storageBackend
      ? await loadStorageBackend(options.storageBackend, log)
      : new MemoryRouteStore();
    const activity = new ActivityRecorder(store, log, metrics);
    const clientTls: ClientTls = {
      key: readFileOption("--client-ssl-key", options.clientSslKey),
      cert: readFileOption("--client-ssl-cert", options.clientSslCert),
      ca: options.clientSslCa
        ? [readFileOption("--client-ssl-ca", options.clientSslCa) as Buffer]
        : undefined,
      rejectUnauthorized: !options.insecure,
    };
    const pools = new UpstreamPools({
      connectionsPerOrigin: 256,
      keepAliveTimeoutMs: 4000,
      connectTimeoutMs: 10_000,
      clientTls,
    });
    const errors = new ErrorResponder(
      options.errorTarget
        ? {
            kind: "target",
            url: options.errorTarget.endsWith("/") ? options.errorTarget : `${options.errorTarget}/`,
            pools,
          }
        : { kind: "path", dir: options.errorPath ?? BUILT_IN_ERROR_PATH },
      log,
    );
    const forwarding = {
      xForward: options.xForward,
      changeOrigin: Boolean(options.changeOrigin),
      customHeaders: settings.customHeaders,
    };
    const paths = { prependPath: options.prependPath, includePrefix: options.includePrefix };
    const forwarder = new HttpForwarder(
      pools,
      {
        forwarding,
        paths,
        proxyTimeoutMs: options.proxyTimeout ?? 0,
        autoRewrite: Boolean(options.autoRewrite),
        protocolRewrite: options.protocolRewrite,
      },
      activity,
      errors,
      log,
      metrics,
      capture?.launches,
    );
    const relay = new WebSocketRelay(
      { forwarding, paths, clientTls, connectTimeoutMs: 10_000 },
      activity,
      log,
      metrics,
      capture?.taps,
    );
    const dispatcher = new ProxyDispatcher(
      store,
      forwarder,
      relay,
      errors,
      { hostRouting: Boolean(options.hostRouting), accessLog: Boolean(options.accessLog) },
      log,
      metrics,
    );
    const tokens = new TokenCheck(settings.authToken);
    if (tokens.open) log.warn("REST API is not authenticated.");
    const app = new ProxyApp(settings, log, store, metrics, pools, relay, capture);
    const api = new RoutesApi(
      store,
      tokens,
      activity,
      { hostRouting: Boolean(options.hostRouting) },
      log,
      metrics,
      () => app.routesChanged(),
    );

    if (options.autoRewrite) log.info("AutoRewrite of Location headers enabled.");
    if (options.changeOrigin) log.info("Change Origin of host headers enabled.");
    if (options.protocolRewrite)
      log.info("ProtocolRewrite enabled. Rewriting to %s", options.protocolRewrite);

    if (options.defaultTarget) {
      log.info("Adding route / -> %s", options.defaultTarget);
      await store.add("/", { target: options.defaultTarget, last_activity: new Date() });
    }

    const publicTlsFiles = await publicListenerTlsFiles(settings, log);
    const publicTls = publicTlsFiles && buildTlsOptions(publicTlsFiles);
    const publicServer = publicTls
      ? createHttpsServer({ ...publicTls, keepAlive: true }, dispatcher.handleRequest)
      : createHttpServer({ keepAlive: true }, dispatcher.handleRequest);
    publicServer.keepAliveTimeout = options.keepAliveTimeout;
    // Uploads of large notebooks must not be cut by Node's hidden 5-minute request timeout (CHP #311).
    publicServer.requestTimeout = 0;
    publicServer.on("upgrade", dispatcher.handleUpgrade);
    if (options.timeout) {
      const timeout = options.timeout;
      publicServer.on("request", (req: IncomingMessage) => req.socket.setTimeout(timeout));
    }
    publicServer.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
      if (error.code !== "ECONNRESET" && socket.writable)
        socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
    const apiTlsFiles = apiListenerTlsFiles(options);
    const apiTls = apiTlsFiles && buildTlsOptions(apiTlsFiles);
    const apiServer = apiTls ? createHttpsServer(apiTls, api.handle) : createHttpServer(api.handle);

    try {
      const publicBound = await app.bind(publicServer, settings.publicListen);
      const apiBound = await app.bind(apiServer, settings.apiListen);
      let metricsBound: ListenSpec | undefined;
      if (metrics && settings.metricsListen)
        metricsBound = await app.bind(createMetricsServer(metrics), settings.metricsListen);
      log.info(
        "Proxying %s to %s",
        describeListen(publicBound, publicTls ? "https" : "http"),
        options.defaultTarget ?? "(no default)",
      );
      log.info("Proxy API at %s/api/routes", describeListen(apiBound, apiTls ? "https" : "http"));
      if (metricsBound) log.info("Serve metrics at %s/metrics", describeListen(metricsBound, "http"));
      if (publicTlsFiles && publicTls) {
        app.reloaders.push(
          new CertificateReloader({
            server: publicServer as HttpsServer,
            files: publicTlsFiles,
            initial: publicTls,
            logger: log,
            metrics,
          }),
        );
      }
      if (apiTlsFiles && apiTls) {
        app.reloaders.push(
          new CertificateReloader({
            server: apiServer as HttpsServer,
            files: apiTlsFiles,
            initial: apiTls,
            logger: log,
          }),
        );
      }
      if (options.redirectPort !== undefined && publicBound.kind === "tcp" && publicBound.port !== 80) {
        const redirect = await startRedirectServer({
          port: options.redirectPort,
          ip: publicBound.host,
          redirectTo: options.redirectTo ?? publicBound.port,
          logger: log,
        });
        app.servers.push(redirect);
      }
    } catch (error) {
      await app.closeServers();
      throw error;
    }
    // Written before the line is logged and before the last readiness marker, so whoever waits for either finds it.
    if (options.pidFile) {
      writeFileSync(options.pidFile, String(process.pid));
      log.info("Writing pid %d to %s", process.pid, options.pidFile);
    }
    if (options.defaultTarget) log.info("Route added / -> %s", options.defaultTarget);
    metrics?.routes.set(Object.keys(await store.getAll()).length);
    return app;
  }

  /** SIGHUP (systemd ExecReload) re-reads the certificates; open connections keep theirs. */
  reloadCertificates(): void {
    for (const reloader of this.reloaders) reloader.reload("SIGHUP");
  }

  private async bind(server: Server, spec: ListenSpec): Promise<ListenSpec> {
    server.on("connection", (socket: Socket) => {
      this.connections.add(socket);
      socket.once("close", () => this.connections.delete(socket));
    });
    await listen(server, spec);
    this.servers.push(server);
    if (spec.kind === "unix") this.unixSockets.push(spec.path);
    return boundPort(server, spec);
  }

  /**
   * After route changes, pools only for upstreams that routes still name, and the route gauge. The scan is
   * O(routes), so it runs at most once per interval, not per API call (JupyterHub adds routes in bursts).
   */
  private routesChanged(): void {
    if (this.poolSweep) return;
    this.poolSweep = setTimeout(() => {
      this.poolSweep = undefined;
      void this.sweepPools();
    }, POOL_SWEEP_INTERVAL_MS);
    this.poolSweep.unref();
  }

  private async sweepPools(): Promise<void> {
    const routes = Object.values(await this.store.getAll());
    const live = new Set<string>();
    for (const route of routes) {
      try {
        live.add(parseUpstreamTarget(route.target).key);
      } catch {
        // A route with an unusable target has no pool.
      }
    }
    this.pools.retainOnly(live);
    this.metrics?.routes.set(routes.length);
  }

  /**
   * Graceful stop: no new connections, in-flight HTTP requests may finish, WebSockets are closed, captured
   * records are flushed; all within `--shutdown-timeout`.
   */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const deadline = Date.now() + this.settings.options.shutdownTimeout;
    clearTimeout(this.poolSweep);
    const closed = this.closeServers();
    for (const server of this.servers)
      (server as Server & { closeIdleConnections?: () => void }).closeIdleConnections?.();
    this.relay.closeAll();
    await Promise.race([closed, delay(Math.max(0, deadline - Date.now()))]);
    for (const socket of this.connections) socket.destroy();
    await this.capture?.flush(Math.max(0, deadline - Date.now()));
    await this.capture?.close();
    this.pools.close();
    for (const reloader of this.reloaders) reloader.close();
    this.removeFiles();
  }

  private closeServers(): Promise<void> {
    return Promise.all(
      this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    ).then(() => undefined);
  }

  /** Pid file and UNIX socket files go with the process (CHP left sockets behind, §6.3 #14). */
  removeFiles(): void {
    for (const file of [this.settings.options.pidFile, ...this.unixSockets]) {
      if (!file) continue;
      try {
        unlinkSync(file);
      } catch {
        // Already gone.
      }
    }
  }
}

const POOL_SWEEP_INTERVAL_MS = 5000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
