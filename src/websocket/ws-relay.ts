import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { events } from "../events.js";
import {
  ClientInfo,
  upstreamRequestHeaders,
  type UpstreamHeaderOptions,
} from "../forward/forwarded-headers.js";
import { reportUpstreamFailure } from "../forward/upstream-failure.js";
import { upstreamPath, type PathOptions } from "../forward/upstream-path.js";
import type { ClientTls } from "../http1/connect-upstream.js";
import type { UpstreamTarget } from "../http1/upstream-target.js";
import type { Logger } from "../log/logger.js";
import type { ActivityRecorder } from "../routing/activity-recorder.js";
import type { RouteMatch } from "../routing/route-store.js";
import { endWithGrace } from "./end-with-grace.js";
import { GuardedTap } from "./guarded-tap.js";
import { passRefusal, REFUSAL_GRACE_MS } from "./pass-refusal.js";
import type { HeldReads, ReadHold } from "./read-hold.js";
import { RelayedPair, type PairOwner } from "./relayed-pair.js";
import type { SocketTapFactory } from "./socket-tap.js";
import { upgradeHandshake, type HandshakeDeadlines } from "./upgrade-handshake.js";

export interface WebSocketRelayOptions {
  forwarding: UpstreamHeaderOptions;
  paths: PathOptions;
  clientTls: ClientTls;
  deadlines: HandshakeDeadlines;
  activity: ActivityRecorder;
  log: Logger;
  /** Chooses the sockets to inspect (kernel channels) and observes them. */
  taps?: SocketTapFactory;
  /** Holds plain upstreams' small reads so that their pieces go to the client together; none: read at once. */
  readHold?: ReadHold;
}

/** Writes a complete, closing HTTP error on a socket that asked for an upgrade (CHP left some open). */
export function rejectUpgrade(socket: Duplex, code: number): void {
  if (socket.destroyed) return;
  endWithGrace(
    socket,
    REFUSAL_GRACE_MS,
    `HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  );
}

export interface RelayStatus {
  /** Relayed WebSockets open now. */
  open: number;
  /** Open WebSockets per route prefix. */
  byRoute: Record<string, number>;
}

/**
 * The WebSocket half of the proxy: passes an upgrade on to the route's upstream and, on 101, relays the two
 * sockets as raw bytes (see RelayedPair). Upgrades that fail get a complete error answer; an upstream that
 * refuses gets its answer passed on with back-pressure, then both sockets close.
 */
export class WebSocketRelay implements PairOwner {
  private readonly open = new Set<RelayedPair>();
  private readonly log: Logger;

  constructor(private readonly options: WebSocketRelayOptions) {
    this.log = options.log;
  }

  get openCount(): number {
    return this.open.size;
  }

  status(): RelayStatus {
    const byRoute: Record<string, number> = {};
    for (const { prefix } of this.open) byRoute[prefix] = (byRoute[prefix] ?? 0) + 1;
    return { open: this.open.size, byRoute };
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
    const headers = upstreamRequestHeaders(
      req.headers,
      ClientInfo.of(req.socket),
      target.originHost,
      options.forwarding,
      true,
    );
    const url = req.url ?? "/";
    const method = req.method;
    const tap = this.safeTap(url, req, match);
    tap?.prepareRequest(headers);
    let request = `GET ${upstreamPath(target, url, segments, options.paths)} HTTP/1.1\r\n`;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) request += `${name}: ${item}\r\n`;
    }
    request += "\r\n";
    // Only what the handshake needs is kept: an idle relayed socket must not keep the request alive.
    upgradeHandshake(socket, target, options.clientTls, request, options.deadlines, (error, outcome) => {
      if (error || !outcome) {
        tap?.closed();
        if (socket.destroyed) return;
        reportUpstreamFailure(error, method, url, this.log);
        rejectUpgrade(socket, 503);
        return;
      }
      const { upstream, reads, answer, early } = outcome;
      if (events.proxyResponse.active) events.proxyResponse.publish({ status: answer.head.status });
      // The upstream's answer goes to the client byte for byte, head included.
      socket.write(answer.raw);
      if (answer.head.status !== 101) {
        tap?.closed();
        passRefusal(socket, upstream, answer.rest, answer.head.framing, options.deadlines.responseMs);
        return;
      }
      const pair = this.pair(socket, upstream, match, tap, reads);
      reads?.relayTo(pair, socket, options.readHold);
      tap?.opened(answer.headers);
      if (answer.rest.length > 0) {
        socket.write(answer.rest);
        tap?.serverBytes(answer.rest);
      }
      // What the client sent with its request and during the handshake goes first, in that order.
      for (const bytes of [head, early]) {
        if (bytes.length === 0) continue;
        upstream.write(bytes);
        tap?.clientBytes(bytes);
      }
      upstream.resume();
      socket.resume();
    });
  }

  /** Graceful shutdown: every open pair gets its close frames (see RelayedPair.closeGoingAway). */
  closeAll(graceMs = 1000): void {
    for (const pair of this.open) pair.closeGoingAway(graceMs);
  }

  clientActivity(pair: RelayedPair): void {
    this.options.activity.record(pair.route);
  }

  pairClosed(pair: RelayedPair): void {
    this.open.delete(pair);
    if (events.webSocketClosed.active) events.webSocketClosed.publish({ route: pair.prefix });
  }

  private pair(
    client: Duplex,
    server: Socket,
    route: RouteMatch,
    tap: GuardedTap | undefined,
    serverReads: HeldReads | undefined,
  ): RelayedPair {
    const pair = new RelayedPair(client, server, route, tap, this, serverReads);
    this.open.add(pair);
    if (events.webSocketOpened.active) events.webSocketOpened.publish({ route: pair.prefix });
    pair.start();
    return pair;
  }

  private safeTap(url: string, req: IncomingMessage, match: RouteMatch): GuardedTap | undefined {
    const taps = this.options.taps;
    if (!taps) return undefined;
    try {
      const user = match.data.user;
      const tap = taps.tapFor({
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
