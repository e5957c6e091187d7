import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import type { ActivityRecorder } from "../routing/activity-recorder.js";
import type { RouteMatch } from "../routing/route-store.js";
import { upstreamRequestHeaders, type ForwardingOptions } from "../forward/forwarded-headers.js";
import { connectUpstream, readyEvent, type ClientTls } from "../http1/connect-upstream.js";
import { reportUpstreamFailure } from "../forward/upstream-failure.js";
import { upstreamPath, type PathOptions } from "../forward/upstream-path.js";
import type { UpstreamTarget } from "../http1/upstream-target.js";
import { ResponseHeadReader, type ReadResponseHead } from "../http1/response-head-reader.js";
import { FrameParser } from "./frame-parser.js";
import type { FrameDirection, SocketTap, SocketTapFactory } from "./socket-tap.js";

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
    const headers = upstreamRequestHeaders(
      req.headers,
      { remoteAddress: req.socket.remoteAddress, encrypted },
      target.originHost,
      options.forwarding,
      true,
    );
    const url = req.url ?? "/";
    const tap = this.safeTap(url, req, match);
    tap?.prepareRequest(headers);
    let requestHead = `GET ${upstreamPath(target, url, segments, options.paths)} HTTP/1.1\r\n`;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) requestHead += `${name}: ${item}\r\n`;
    }
    requestHead += "\r\n";
    // Only what the handshake needs is passed on: an idle relayed socket must not keep the request alive.
    this.handshake(
      socket,
      { request: requestHead, method: req.method, url, clientHead: head },
      target,
      match,
      tap,
    );
  }

  /**
   * Sends the upgrade request upstream and pairs the sockets on 101. Every closure made here is released once
   * the upstream has answered, so nothing of the handshake stays reachable from an open pair.
   */
  private handshake(
    socket: Duplex,
    upgrade: UpstreamUpgrade,
    target: UpstreamTarget,
    route: RouteMatch,
    tap: GuardedTap | undefined,
  ): void {
    const upstream = connectUpstream(target, this.options.clientTls);
    // A timer, not upstream.setTimeout(): that would keep a cleared Timeout and a bound callback per socket.
    const timer = setTimeout(
      () => upstream.destroy(Object.assign(new Error("upstream timeout"), { code: "ETIMEDOUT" })),
      this.options.connectTimeoutMs,
    );
    upstream.once(readyEvent(target), () => upstream.write(upgrade.request));

    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reportUpstreamFailure(error, upgrade.method, upgrade.url, this.log, this.metrics);
      tap?.closed();
      rejectUpgrade(socket, 503);
    };
    const abortUpstream = () => upstream.destroy();
    socket.on("error", abortUpstream);
    upstream.on("error", fail);

    readUpgradeAnswer(upstream, (error, response) => {
      if (error || !response) {
        fail(error ?? new Error("no response"));
        return;
      }
      settled = true;
      clearTimeout(timer);
      upstream.off("error", fail);
      socket.off("error", abortUpstream);
      this.metrics?.requestsProxy.inc({ status: String(response.head.status) });
      if (socket.destroyed) {
        upstream.destroy();
        tap?.closed();
        return;
      }
      // The upstream's answer goes to the client byte for byte, head included.
      socket.write(response.raw);
      if (response.head.status !== 101) {
        passRefusal(socket, upstream, response.rest, this.options.connectTimeoutMs);
        tap?.closed();
        return;
      }
      this.pair(socket, upstream, route, tap);
      tap?.opened(response.headers);
      if (response.rest.length > 0) {
        socket.write(response.rest);
        tap?.serverBytes(response.rest);
      }
      const { clientHead } = upgrade;
      if (clientHead.length > 0) {
        upstream.write(clientHead);
        tap?.clientBytes(clientHead);
      }
      upstream.resume();
    });
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
      if (betweenFrames(pair, "toClient")) pair.client.write(CLOSE_GOING_AWAY);
      if (betweenFrames(pair, "toServer")) pair.server.write(maskedCloseGoingAway());
      pair.client.end();
      pair.server.end();
      setTimeout(() => {
        pair.client.destroy();
        pair.server.destroy();
      }, graceMs).unref();
    }
  }

  private pair(client: Duplex, server: Duplex, route: RouteMatch, tap: GuardedTap | undefined): void {
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
    // A tap that parses the frames anyway answers for the boundaries: each chunk is then parsed once.
    const framesTap = tap?.tracksFrames ? tap : undefined;
    const pair: RelayedPair = { client, server, toClient: undefined, toServer: undefined, framesTap };
    this.open.add(pair);
    this.metrics?.activeWebSockets.inc();
    const activity = this.activity;
    pump(client, server, (chunk) => {
      if (!framesTap) (pair.toServer ??= frameBoundaries()).push(chunk);
      activity.record(route);
      tap?.clientBytes(chunk);
    });
    pump(server, client, (chunk) => {
      if (!framesTap) (pair.toClient ??= frameBoundaries()).push(chunk);
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

  private safeTap(url: string, req: IncomingMessage, match: RouteMatch): GuardedTap | undefined {
    if (!this.taps) return undefined;
    try {
      const user = match.data.user;
      const tap = this.taps.tapFor({
        url,
        headers: req.headers,
        routePrefix: match.prefix,
        routeUser: typeof user === "string" ? user : undefined,
      });
      return tap && new GuardedTap(tap, this.log);
    } catch (error) {
      this.log.error({ err: error }, "WebSocket inspection could not start; relaying without it");
      return undefined;
    }
  }
}

/** The upstream's answer to the upgrade: its final head, and the client-facing view of its headers. */
interface UpgradeAnswer extends ReadResponseHead {
  headers: IncomingHttpHeaders;
}

/**
 * Reads the upstream's answer to the upgrade without an HTTP client, so nothing of the handshake outlives it.
 * Informational heads (100, 102, 103) before the final answer are passed over: only a 101 or a final status
 * answers an upgrade.
 */
function readUpgradeAnswer(
  upstream: Socket,
  done: (error: Error | undefined, answer?: UpgradeAnswer) => void,
): void {
  const reader = new ResponseHeadReader("GET");
  const onData = (chunk: Buffer) => {
    let read: ReadResponseHead | undefined;
    try {
      read = reader.push(chunk);
      while (read && read.head.status < 200 && read.head.status !== 101) {
        read = read.rest.length > 0 ? reader.push(read.rest) : undefined;
      }
    } catch (error) {
      finish(error as Error);
      return;
    }
    if (!read) return;
    const headers: IncomingHttpHeaders = {};
    const flat = read.head.headers;
    for (let i = 0; i < flat.length; i += 2) headers[flat[i]] = flat[i + 1];
    finish(undefined, { ...read, headers });
  };
  const onEnd = () => finish(new Error("socket hang up"));
  const finish = (error: Error | undefined, answer?: UpgradeAnswer) => {
    upstream.off("data", onData);
    upstream.off("end", onEnd);
    upstream.pause();
    done(error, answer);
  };
  upstream.on("data", onData);
  upstream.on("end", onEnd);
}

/** The client's upgrade, reduced to what the upstream handshake needs. */
interface UpstreamUpgrade {
  /** The request head as it goes upstream, blank line included. */
  request: string;
  /** Method and URL for the failure log. */
  method: string | undefined;
  url: string;
  /** Bytes the client sent after its request head. */
  clientHead: Buffer;
}

/** An upstream that refused the upgrade (e.g. Tornado's 403 origin check): its answer goes on, then both close. */
function passRefusal(socket: Duplex, upstream: Socket, rest: Buffer, idleTimeoutMs: number): void {
  upstream.setTimeout(idleTimeoutMs, () => upstream.destroy());
  upstream.on("error", () => socket.destroy());
  if (rest.length > 0) socket.write(rest);
  upstream.on("data", (chunk: Buffer) => socket.write(chunk));
  upstream.on("end", () => socket.end());
  socket.on("close", () => upstream.destroy());
  upstream.resume();
}

interface RelayedPair {
  client: Duplex;
  server: Duplex;
  /**
   * Frame boundaries of each direction, so shutdown can add a close frame without cutting one. Made with the
   * direction's first bytes: until then the stream is between frames, and idle sockets are the many.
   */
  toClient: FrameParser | undefined;
  toServer: FrameParser | undefined;
  /** The tap that follows the frames instead, when there is one. */
  framesTap: GuardedTap | undefined;
}

const ignoreMessage = (): void => undefined;

/** A parser that keeps no payload: it only follows frame headers. */
function frameBoundaries(): FrameParser {
  return new FrameParser(ignoreMessage, { maxMessageBytes: 0 });
}

function betweenFrames(pair: RelayedPair, direction: FrameDirection): boolean {
  if (pair.framesTap) return pair.framesTap.betweenFrames(direction) === true;
  const tracker = pair[direction];
  return tracker === undefined || tracker.atFrameBoundary;
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

/**
 * A tap that fails stops observing; the relay goes on as if it never had one. One object per socket, no
 * closures: it lives as long as the connection.
 */
class GuardedTap implements SocketTap {
  private broken = false;

  constructor(
    private readonly tap: SocketTap,
    private readonly log: Logger,
  ) {}

  prepareRequest(headers: Record<string, string | string[] | undefined>): void {
    this.call(this.tap.prepareRequest, headers);
  }

  opened(headers: IncomingHttpHeaders): void {
    this.call(this.tap.opened, headers);
  }

  clientBytes(chunk: Buffer): void {
    this.call(this.tap.clientBytes, chunk);
  }

  serverBytes(chunk: Buffer): void {
    this.call(this.tap.serverBytes, chunk);
  }

  closed(): void {
    this.call(this.tap.closed, undefined);
  }

  get tracksFrames(): boolean {
    return this.tap.betweenFrames !== undefined;
  }

  betweenFrames(direction: FrameDirection): boolean | undefined {
    if (this.broken || !this.tap.betweenFrames) return undefined;
    try {
      return this.tap.betweenFrames(direction);
    } catch {
      return undefined;
    }
  }

  // One method call per tap call and no closure per chunk: this sits on the per-chunk path.
  private call<A>(method: (this: SocketTap, arg: A) => void, arg: A): void {
    if (this.broken) return;
    try {
      method.call(this.tap, arg);
    } catch (error) {
      this.broken = true;
      this.log.error({ err: error }, "WebSocket inspection failed; this connection is relayed without it");
    }
  }
}
