import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { events } from "../events.js";
import type { Logger } from "../log/logger.js";
import type { RouteMatch, RouteStore } from "../routing/route-store.js";
import { parseRequestPath } from "../routing/request-path.js";
import { segmentCount } from "../routing/url-trie.js";
import type { ErrorResponder } from "../forward/error-responder.js";
import type { HttpForwarder } from "../forward/http-forwarder.js";
import { parseUpstreamTarget, type UpstreamTarget } from "../http1/upstream-target.js";
import { rejectUpgrade, type WebSocketRelay } from "../websocket/ws-relay.js";

export interface ProxyDispatcherOptions {
  store: RouteStore;
  forwarder: HttpForwarder;
  relay: WebSocketRelay;
  errors: ErrorResponder;
  hostRouting: boolean;
  /** `--access-log`: one info line per proxied request (path without query: queries can carry tokens). */
  accessLog: boolean;
  log: Logger;
}

// Per-request objects on the proxy path are made by constructors, not literals: V8 may decide at a full
// collection under load that a literal's objects live long and allocate them in the old generation from
// then on, with everything they point to kept until the next full collection (see bench/RESULTS.md).

class Resolved {
  readonly ok = true;
  constructor(
    readonly match: RouteMatch,
    readonly target: UpstreamTarget,
    readonly segments: number,
    readonly outgoing: string,
  ) {}
}

class Unresolved {
  readonly ok = false;
  constructor(
    readonly code: 404 | 500,
    readonly reason: string,
  ) {}
}

type Resolution = Resolved | Unresolved;

const HEALTH_BODY = JSON.stringify({ status: "OK" });

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** The public listener's request path: health check, route lookup, then HTTP forwarder or WebSocket relay. */
export class ProxyDispatcher {
  private readonly store: RouteStore;
  private readonly forwarder: HttpForwarder;
  private readonly relay: WebSocketRelay;
  private readonly errors: ErrorResponder;
  private readonly hostRouting: boolean;
  private readonly accessLog: boolean;
  private readonly log: Logger;

  constructor(options: ProxyDispatcherOptions) {
    this.store = options.store;
    this.forwarder = options.forwarder;
    this.relay = options.relay;
    this.errors = options.errors;
    this.hostRouting = options.hostRouting;
    this.accessLog = options.accessLog;
    this.log = options.log;
  }

  handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === "/_chp_healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(HEALTH_BODY);
      return;
    }
    if (events.proxyRequest.active) events.proxyRequest.publish({ kind: "web" });
    if (this.accessLog) this.logAccess(req, res);
    this.resolve(req).then(
      (resolution) => {
        if (!resolution.ok) {
          this.fail(req, resolution.code, resolution.reason);
          void this.errors.respond(req, res, resolution.code);
          return;
        }
        req.url = resolution.outgoing;
        if (this.log.isLevelEnabled("debug")) this.logProxied("WEB", resolution);
        this.forwarder.forward(req, res, resolution.match, resolution.target, resolution.segments);
      },
      (error: unknown) => {
        this.fail(req, 500, (error as Error).message);
        void this.errors.respond(req, res, 500);
      },
    );
  };

  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Not a closure: it stays on the socket for the connection's life and must not keep `req` alive.
    socket.on("error", destroyOnError);
    if (events.proxyRequest.active) events.proxyRequest.publish({ kind: "ws" });
    if (req.method !== "GET" || (req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      rejectUpgrade(socket, 400);
      return;
    }
    this.resolve(req).then(
      (resolution) => {
        if (!resolution.ok) {
          this.fail(req, resolution.code, resolution.reason);
          rejectUpgrade(socket, resolution.code);
          return;
        }
        req.url = resolution.outgoing;
        if (this.log.isLevelEnabled("debug")) this.logProxied("WS", resolution);
        this.relay.relay(req, socket, head, resolution.match, resolution.target, resolution.segments);
      },
      (error: unknown) => {
        this.fail(req, 500, (error as Error).message);
        rejectUpgrade(socket, 500);
      },
    );
  };

  private async resolve(req: IncomingMessage): Promise<Resolution> {
    const started = events.routeLookup.active ? performance.now() : 0;
    const path = parseRequestPath(req.url ?? "/", req.headers.host, this.hostRouting);
    if (!path) return new Unresolved(500, "malformed URL");
    let match: RouteMatch | undefined;
    try {
      match = await this.store.getTarget(path.routing);
    } finally {
      if (started !== 0) events.routeLookup.publish({ seconds: (performance.now() - started) / 1000 });
    }
    if (!match) return new Unresolved(404, "no route");
    let target: UpstreamTarget;
    try {
      target = match.parsedTarget ? match.parsedTarget() : parseUpstreamTarget(match.data.target);
    } catch (error) {
      return new Unresolved(500, `bad target ${match.data.target}: ${(error as Error).message}`);
    }
    const depth = match.depth ?? segmentCount(match.prefix);
    const segments = Math.max(0, depth - (this.hostRouting ? 1 : 0));
    return new Resolved(match, target, segments, path.outgoing);
  }

  /** Only at debug level: its arguments would cost every request an allocation and a read of the route's data. */
  private logProxied(kind: "WEB" | "WS", resolution: { match: RouteMatch; outgoing: string }): void {
    this.log.debug(
      "PROXY %s %s to %s",
      kind,
      resolution.outgoing.split("?")[0],
      resolution.match.data.target,
    );
  }

  private logAccess(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    const path = (req.url ?? "").split("?")[0];
    res.once("close", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.log.info(
        "%d %s %s %sms %s",
        res.statusCode,
        req.method,
        path,
        ms.toFixed(1),
        req.socket.remoteAddress ?? "",
      );
    });
  }

  private fail(req: IncomingMessage, code: number, reason: string): void {
    if (events.proxyResponse.active) events.proxyResponse.publish({ status: code });
    const line = `${code} ${req.method} ${(req.url ?? "").split("?")[0]} ${reason}`;
    if (code === 404) this.log.debug(line);
    else this.log.error(line);
  }
}
