import { request as httpRequest, STATUS_CODES, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import type { ActivityRecorder } from "../routing/activity-recorder.js";
import type { RouteMatch } from "../routing/route-store.js";
import { addForwardedHeaders, type ForwardingOptions } from "../forward/forwarded-headers.js";
import type { ClientTls } from "../forward/upstream-pools.js";
import { describeUpstreamError } from "../forward/upstream-error.js";
import { upstreamPath, type PathOptions, type UpstreamTarget } from "../forward/upstream-target.js";
import { FrameParser } from "./frame-parser.js";
import type { SocketTap, SocketTapFactory } from "./socket-tap.js";

export interface WebSocketRelayOptions {
  forwarding: ForwardingOptions;
  paths: PathOptions;
  clientTls: ClientTls;
  connectTimeoutMs: number;
}

/** Writes a complete, closing HTTP error on a socket that asked for an upgrade (CHP left some open, §6.3 #4). */
export function rejectUpgrade(socket: Duplex, code: number): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  // A client that never reads must not keep the socket: give the answer a moment, then drop it.
  setTimeout(() => socket.destroy(), 5000).unref();
}

function rawHeaderBlock(res: IncomingMessage, skip?: Set<string>): string {
  let block = "";
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (!skip?.has(raw[i].toLowerCase())) block += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return block;
}

const NON_101_SKIP = new Set(["transfer-encoding", "content-length", "connection"]);

/**
 * Relays an upgraded connection as raw bytes in both directions (no re-framing: subprotocols, extensions and
 * pings untouched, no message-size cap). A tap, when the factory offers one, sees every byte after it was
 * forwarded; it can neither delay nor alter the stream.
 */
export class WebSocketRelay {
  private readonly open = new Set<RelayedPair>();

  constructor(
    private readonly options: WebSocketRelayOptions,
    private readonly activity: ActivityRecorder,
    private readonly log: Logger,
    private readonly metrics?: ProxyMetrics,
    private readonly taps?: SocketTapFactory,
  ) {}

  get openCount(): number {
    return this.open.size;
  }

  relay(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    match: RouteMatch,
    target: UpstreamTarget,
    segments: number,
  ): void {
    const { options } = this;
    const encrypted = (req.socket as TLSSocket).encrypted === true;
    const headers: Record<string, string | string[] | undefined> = { ...req.headers };
    if (options.forwarding.xForward)
      addForwardedHeaders(headers, { remoteAddress: req.socket.remoteAddress, encrypted }, true);
    if (options.forwarding.changeOrigin) headers.host = target.originHost;
    for (const [name, value] of options.forwarding.customHeaders) headers[name] = value;

    const url = req.url ?? "/";
    const tap = this.safeTap(url, req, match);
    tap?.prepareRequest(headers);

    const requestOptions: RequestOptions = {
      method: "GET",
      path: upstreamPath(target, url, segments, options.paths),
      headers,
      agent: false,
      timeout: options.connectTimeoutMs,
      ...(target.socketPath
        ? { socketPath: target.socketPath }
        : { host: target.hostname, port: target.port }),
      ...(target.secure
        ? {
            rejectUnauthorized: options.clientTls.rejectUnauthorized,
            key: options.clientTls.key,
            cert: options.clientTls.cert,
            ca: options.clientTls.ca,
            servername: target.hostname,
          }
        : {}),
    };
    const upstream = (target.secure ? httpsRequest : httpRequest)(requestOptions);
    let settled = false;

    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      const description = describeUpstreamError(error);
      this.metrics?.upstreamErrors.inc({ kind: description.kind });
      this.metrics?.requestsProxy.inc({ status: "503" });
      this.log.error("503 %s %s %s", req.method, url.split("?")[0], description.message);
      tap?.closed();
      rejectUpgrade(socket, 503);
    };

    socket.on("error", () => upstream.destroy());
    upstream.on("timeout", () =>
      upstream.destroy(Object.assign(new Error("upstream connect timeout"), { code: "ETIMEDOUT" })),
    );
    upstream.on("error", fail);

    upstream.on("response", (res) => {
      // The upstream refused the upgrade (e.g. Tornado's 403 origin check): pass its answer on, then close.
      settled = true;
      tap?.closed();
      this.metrics?.requestsProxy.inc({ status: String(res.statusCode) });
      socket.write(
        `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n${rawHeaderBlock(res, NON_101_SKIP)}Connection: close\r\n\r\n`,
      );
      res.on("data", (chunk: Buffer) => socket.write(chunk));
      res.on("end", () => socket.end());
      res.on("error", () => socket.destroy());
    });

    upstream.on("upgrade", (res, upstreamSocket, upstreamHead) => {
      settled = true;
      upstream.setTimeout(0);
      if (socket.destroyed) {
        upstreamSocket.destroy();
        tap?.closed();
        return;
      }
      this.pair(socket, upstreamSocket, match.prefix, tap);
      socket.write(
        `HTTP/1.1 101 ${res.statusMessage || "Switching Protocols"}\r\n${rawHeaderBlock(res)}\r\n`,
      );
      tap?.opened(res.headers);
      if (upstreamHead.length > 0) {
        socket.write(upstreamHead);
        tap?.serverBytes(upstreamHead);
      }
      if (head.length > 0) {
        upstreamSocket.write(head);
        tap?.clientBytes(head);
      }
    });
    upstream.end();
  }

  /**
   * Graceful shutdown: stops relaying and, where the stream sits between frames, sends each side a close
   * frame with 1001 "going away" (so browsers reconnect instead of reporting an error); the sockets are
   * destroyed after `graceMs`.
   */
  closeAll(graceMs = 1000): void {
    for (const pair of this.open) {
      pair.client.pause();
      pair.server.pause();
      if (pair.toClient.atFrameBoundary) pair.client.write(CLOSE_GOING_AWAY);
      if (pair.toServer.atFrameBoundary) pair.server.write(maskedCloseGoingAway());
      pair.client.end();
      pair.server.end();
      setTimeout(() => {
        pair.client.destroy();
        pair.server.destroy();
      }, graceMs).unref();
    }
  }

  private pair(client: Duplex, server: Duplex, prefix: string, tap: SocketTap | undefined): void {
    for (const s of [client, server]) {
      const net = s as Duplex & {
        setNoDelay?: (b: boolean) => void;
        setKeepAlive?: (b: boolean, d: number) => void;
        setTimeout?: (ms: number) => void;
      };
      net.setTimeout?.(0);
      net.setNoDelay?.(true);
      net.setKeepAlive?.(true, 0);
    }
    const pair: RelayedPair = { client, server, toClient: frameBoundaries(), toServer: frameBoundaries() };
    this.open.add(pair);
    this.metrics?.activeWebSockets.inc();
    const activity = this.activity;
    pump(client, server, (chunk) => {
      pair.toServer.push(chunk);
      activity.record(prefix);
      tap?.clientBytes(chunk);
    });
    pump(server, client, (chunk) => {
      pair.toClient.push(chunk);
      tap?.serverBytes(chunk);
    });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.open.delete(pair);
      this.metrics?.activeWebSockets.dec();
      client.destroy();
      server.destroy();
      tap?.closed();
    };
    client.on("close", close);
    server.on("close", close);
    client.on("error", close);
    server.on("error", close);
  }

  private safeTap(url: string, req: IncomingMessage, match: RouteMatch): SocketTap | undefined {
    if (!this.taps) return undefined;
    try {
      const user = match.data.user;
      return guard(
        this.taps.tapFor({
          url,
          headers: req.headers,
          routePrefix: match.prefix,
          routeUser: typeof user === "string" ? user : undefined,
        }),
        this.log,
      );
    } catch (error) {
      this.log.error({ err: error }, "WebSocket inspection could not start; relaying without it");
      return undefined;
    }
  }
}

interface RelayedPair {
  client: Duplex;
  server: Duplex;
  /** Frame boundaries of each direction, so shutdown can add a close frame without cutting one. */
  toClient: FrameParser;
  toServer: FrameParser;
}

/** A parser that keeps no payload: it only follows frame headers. */
function frameBoundaries(): FrameParser {
  return new FrameParser(() => undefined, { maxMessageBytes: 0 });
}

/** Close frame, status 1001 (going away), as a server sends it: unmasked. */
const CLOSE_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/** The same close frame as a client must send it: masked with a random key. */
function maskedCloseGoingAway(): Buffer {
  const mask = randomBytes(4);
  return Buffer.from([0x88, 0x82, ...mask, 0x03 ^ mask[0], 0xe9 ^ mask[1]]);
}

/** Forwards `from` to `to` with backpressure; `observe` sees each chunk after it was handed on. */
function pump(from: Duplex, to: Duplex, observe: (chunk: Buffer) => void): void {
  from.on("data", (chunk: Buffer) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
    observe(chunk);
  });
  from.on("end", () => to.end());
}

/** A tap that fails stops observing; the relay goes on as if it never had one. */
function guard(tap: SocketTap | undefined, log: Logger): SocketTap | undefined {
  if (!tap) return undefined;
  let broken = false;
  const call = (fn: () => void) => {
    if (broken) return;
    try {
      fn();
    } catch (error) {
      broken = true;
      log.error({ err: error }, "WebSocket inspection failed; this connection is relayed without it");
    }
  };
  return {
    prepareRequest: (headers) => call(() => tap.prepareRequest(headers)),
    opened: (headers) => call(() => tap.opened(headers)),
    clientBytes: (chunk) => call(() => tap.clientBytes(chunk)),
    serverBytes: (chunk) => call(() => tap.serverBytes(chunk)),
    closed: () => call(() => tap.closed()),
  };
}
