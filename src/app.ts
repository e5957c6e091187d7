import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { unlinkSync } from "node:fs";
import type { Socket } from "node:net";
import type { SecureContextOptions } from "node:tls";
import type { Config, TlsFiles } from "./config/config.js";
import type { TlsListener } from "./events.js";
import { describeListen, type ListenSpec } from "./config/listen-spec.js";
import { boundPort, listen } from "./listener/listen.js";
import { startRedirectServer } from "./listener/redirect-server.js";
import type { Logger } from "./log/logger.js";
import { CertificateReloader, type CertificateInfo } from "./tls/certificate-reloader.js";
import { buildTlsOptions, type TlsServerOptions } from "./tls/tls-options.js";

/** How often Node looks for client connections past their head or request deadline. */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** What the listeners serve; the runtime builds them. */
export interface ListenerHandlers {
  proxy: {
    handleRequest: RequestListener;
    handleUpgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => void;
  };
  api: RequestListener;
  metrics?: RequestListener;
  /** The admin page, served on `config.admin.listen` when both are given. */
  admin?: RequestListener;
}

export interface ListenerStatus {
  /** Where each listener is bound (with the port the kernel chose for port 0). */
  public: ListenSpec;
  api: ListenSpec;
  metrics?: ListenSpec;
  admin?: ListenSpec;
  certificates: Array<{ listener: TlsListener; certificate?: CertificateInfo }>;
}

/** How many connections the admin listener holds at once (pages, their live streams, scripts). */
const ADMIN_MAX_CONNECTIONS = 1024;
/** An admin request's headers must arrive within this (slow senders do not hold sockets for minutes). */
const ADMIN_HEADERS_TIMEOUT_MS = 10_000;

/**
 * The program's listeners: the public proxy port (HTTP or HTTPS), the REST API, metrics, the admin page and the
 * optional HTTP→HTTPS redirect, with their certificates kept current. Nothing else: what they serve comes in as
 * handlers.
 */
export class ProxyApp {
  private readonly servers: Server[] = [];
  private readonly unixSockets: string[] = [];
  private readonly connections = new Set<Socket>();
  private readonly reloaders: Array<{ listener: TlsListener; reloader: CertificateReloader }> = [];
  private bound!: Pick<ListenerStatus, "public" | "api" | "metrics" | "admin">;
  /** The public listener, for embedding (e.g. in-process tests that watch its upgrades). */
  publicServer!: Server;

  /**
   * Binds every listener and logs CHP's readiness lines (`Proxying …`, `Proxy API at …`, `Serve metrics at …`) and
   * `Admin page at …`; a port that cannot be bound closes what was bound and rejects. The admin page is served over
   * TLS whenever the proxy has a certificate (the public listener's, else the API's).
   */
  static async listen(
    config: Config,
    publicTlsFiles: TlsFiles | undefined,
    handlers: ListenerHandlers,
    log: Logger,
  ): Promise<ProxyApp> {
    const app = new ProxyApp();
    const publicTls = publicTlsFiles && buildTlsOptions(publicTlsFiles);
    // Uploads of large notebooks must not be cut by Node's hidden 5-minute request timeout (CHP users hit it):
    // `--request-timeout` is 0 unless set. Slow heads are cut at `--headers-timeout`, which Node checks every
    // `connectionsCheckingInterval` (30 s by default, so a slow-loris head could last half a minute longer).
    const serverOptions = {
      keepAlive: true,
      headersTimeout: config.server.headersTimeoutMs,
      requestTimeout: config.server.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    };
    const publicServer = publicTls
      ? createHttpsServer({ ...publicTls, ...serverOptions }, handlers.proxy.handleRequest)
      : createHttpServer(serverOptions, handlers.proxy.handleRequest);
    publicServer.keepAliveTimeout = config.server.keepAliveTimeoutMs;
    publicServer.on("upgrade", handlers.proxy.handleUpgrade);
    const idle = config.server.clientIdleTimeoutMs;
    if (idle) publicServer.on("request", (req: IncomingMessage) => req.socket.setTimeout(idle));
    publicServer.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
      if (error.code !== "ECONNRESET" && socket.writable)
        socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
    const apiTlsFiles = config.tls.api;
    const apiTls = apiTlsFiles && buildTlsOptions(apiTlsFiles);
    const apiServer = apiTls ? createHttpsServer(apiTls, handlers.api) : createHttpServer(handlers.api);
    // The admin page shares a listener's certificate (and its reloads): the public one's, else the API's.
    const adminTls = publicTlsFiles ? publicTls : apiTls;
    const adminServer =
      handlers.admin && config.admin ? createAdminServer(handlers.admin, adminTls) : undefined;

    try {
      const publicBound = await app.bind(publicServer, config.listen.public);
      const apiBound = await app.bind(apiServer, config.listen.api);
      let metricsBound: ListenSpec | undefined;
      if (handlers.metrics && config.listen.metrics)
        metricsBound = await app.bind(createHttpServer(handlers.metrics), config.listen.metrics);
      log.info(
        "Proxying %s to %s",
        describeListen(publicBound, publicTls ? "https" : "http"),
        config.routes.defaultTarget ?? "(no default)",
      );
      log.info("Proxy API at %s/api/routes", describeListen(apiBound, apiTls ? "https" : "http"));
      if (metricsBound) log.info("Serve metrics at %s/metrics", describeListen(metricsBound, "http"));
      let adminBound: ListenSpec | undefined;
      if (adminServer && config.admin) {
        adminBound = await app.bind(adminServer, config.admin.listen);
        log.info("Admin page at %s/admin/", describeListen(adminBound, adminTls ? "https" : "http"));
      }
      app.bound = { public: publicBound, api: apiBound, metrics: metricsBound, admin: adminBound };
      app.publicServer = publicServer;
      const adminFollows = (servers: Server[], tls: TlsServerOptions | undefined) =>
        adminServer && tls === adminTls ? [...servers, adminServer] : servers;
      if (publicTlsFiles && publicTls)
        app.watchCertificate(
          "public",
          adminFollows([publicServer], publicTls),
          publicTlsFiles,
          publicTls,
          log,
        );
      if (apiTlsFiles && apiTls)
        app.watchCertificate("api", adminFollows([apiServer], apiTls), apiTlsFiles, apiTls, log);
      const redirect = config.listen.redirect;
      if (redirect && publicBound.kind === "tcp" && publicBound.port !== 80) {
        app.servers.push(
          await startRedirectServer({
            port: redirect.port,
            ip: publicBound.host,
            redirectTo: redirect.to ?? publicBound.port,
            logger: log,
          }),
        );
      }
    } catch (error) {
      await app.closeServers();
      app.closeReloaders();
      throw error;
    }
    return app;
  }

  /** SIGHUP (systemd ExecReload) re-reads the certificates; open connections keep theirs. */
  reloadCertificates(): void {
    for (const { reloader } of this.reloaders) reloader.reload("SIGHUP");
  }

  status(): ListenerStatus {
    return {
      ...this.bound,
      certificates: this.reloaders.map(({ listener, reloader }) => ({
        listener,
        certificate: reloader.certificate,
      })),
    };
  }

  /**
   * Stops accepting; idle keep-alive connections close now, requests in flight may finish until `graceMs` has
   * passed (`beforeWait` runs in between: the WebSocket relay sends its close frames then); then every
   * connection left is destroyed.
   */
  async close(graceMs: number, beforeWait?: () => void): Promise<void> {
    const closed = this.closeServers();
    for (const server of this.servers) server.closeIdleConnections();
    beforeWait?.();
    await Promise.race([closed, delay(graceMs)]);
    for (const socket of this.connections) socket.destroy();
    this.closeReloaders();
    this.removeFiles();
  }

  /** UNIX socket files go with the process (CHP left them behind). */
  removeFiles(): void {
    for (const file of this.unixSockets) {
      try {
        unlinkSync(file);
      } catch {
        // Already gone.
      }
    }
  }

  /** Keeps the servers that share one certificate on its current version. */
  private watchCertificate(
    listener: TlsListener,
    servers: Server[],
    files: TlsFiles,
    initial: TlsServerOptions,
    logger: Logger,
  ): void {
    const server = {
      setSecureContext: (options: SecureContextOptions) => {
        for (const each of servers) (each as HttpsServer).setSecureContext(options);
      },
    };
    this.reloaders.push({
      listener,
      reloader: new CertificateReloader({ server, files, initial, logger, listener }),
    });
  }

  private async bind(server: Server, spec: ListenSpec): Promise<ListenSpec> {
    const { connections } = this;
    // One listener shared by every connection of this server (`this` is the closed socket): a closure and a
    // `once` wrapper per connection were ≈ 0.2 KB of every idle WebSocket.
    function forget(this: Socket): void {
      connections.delete(this);
    }
    server.on("connection", (socket: Socket) => {
      connections.add(socket);
      socket.on("close", forget);
    });
    await listen(server, spec);
    this.servers.push(server);
    if (spec.kind === "unix") this.unixSockets.push(spec.path);
    return boundPort(server, spec);
  }

  private closeServers(): Promise<void> {
    return Promise.all(
      this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    ).then(() => undefined);
  }

  private closeReloaders(): void {
    for (const { reloader } of this.reloaders) reloader.close();
  }
}

/** The admin listener: bounded connections and header time, so that no page or script can exhaust the process. */
function createAdminServer(handler: RequestListener, tls: TlsServerOptions | undefined): Server {
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  server.maxConnections = ADMIN_MAX_CONNECTIONS;
  server.headersTimeout = ADMIN_HEADERS_TIMEOUT_MS;
  server.requestTimeout = ADMIN_HEADERS_TIMEOUT_MS * 3;
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === "HPE_HEADER_OVERFLOW" && socket.writable)
      socket.end("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
    else if (error.code !== "ECONNRESET" && socket.writable)
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  return server;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
