import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import { FrameParser } from "./frame-parser.js";
import type { GuardedTap } from "./guarded-tap.js";
import type { HeldReads } from "./read-hold.js";
import type { RouteMatch } from "../routing/route-store.js";
import type { FrameDirection } from "./socket-tap.js";

/** Close frame, status 1001 (going away), as a server sends it: unmasked. */
const CLOSE_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/** The same close frame as a client must send it: masked with a random key. */
function maskedCloseGoingAway(): Buffer {
  const mask = randomBytes(4);
  return Buffer.from([0x88, 0x82, ...mask, 0x03 ^ mask[0], 0xe9 ^ mask[1]]);
}

const ignoreMessage = (): void => undefined;

/**
 * Follows one direction's frames through `chunk` with `parser` (a new one, keeping no payload, when there is none).
 * Returns the parser to keep, or undefined when the direction rests between messages afterwards: a new parser would
 * carry on from there exactly, and an idle WebSocket then holds none (≈ 0.3 KB each), as the capture tap drops its own.
 */
function followFrames(parser: FrameParser | undefined, chunk: Buffer): FrameParser | undefined {
  const boundaries = parser ?? new FrameParser(ignoreMessage, { maxMessageBytes: 0 });
  boundaries.push(chunk);
  return boundaries.atRest ? undefined : boundaries;
}

/** What a pair reports to the relay that made it. */
export interface PairOwner {
  /** Bytes came from the pair's client (its route is active). */
  clientActivity(pair: RelayedPair): void;
  /** Runs once, when either side of the pair is gone. */
  pairClosed(pair: RelayedPair): void;
}

/** The pair a relayed socket belongs to, kept on the socket so its listeners can be shared by all pairs. */
const PAIR = Symbol("ltictr.relayedPair");
type PairedSocket = Duplex & { [PAIR]: RelayedPair };

// The listeners below are the same functions for every pair and find their pair through the socket they are
// called on (`this`): an idle kernel socket then costs no closures (seven per pair, with their scopes, were
// ≈ 0.6 KB of the ≈ 10 KB each idle socket costs).
function onClientData(this: PairedSocket, chunk: Buffer): void {
  this[PAIR].fromClient(chunk);
}
function onServerData(this: PairedSocket, chunk: Buffer): void {
  this[PAIR].fromServer(chunk);
}
function onSideEnd(this: PairedSocket): void {
  this[PAIR].otherSide(this).end();
}
function onOtherSideDrain(this: PairedSocket): void {
  this[PAIR].otherSide(this).resume();
}
function onSideGone(this: PairedSocket): void {
  this[PAIR].close();
}

/**
 * An upgraded client socket and its upstream, relayed as raw bytes in both directions (no re-framing:
 * subprotocols, extensions and pings untouched, no message-size cap), with back-pressure each way. A tap sees
 * every byte after it was forwarded; it can neither delay nor alter the stream.
 */
export class RelayedPair {
  /**
   * Frame boundaries of each direction, so shutdown can add a close frame without cutting one. Held only while a
   * frame or a fragmented message is unfinished: otherwise the stream is between frames, and idle sockets are the
   * many.
   */
  private toClient: FrameParser | undefined;
  private toServer: FrameParser | undefined;
  /** The tap that follows the frames instead, when there is one. */
  private readonly framesTap: GuardedTap | undefined;
  private closed = false;
  private goingAway = false;
  /**
   * The route's prefix, named once at the opening: the socket's route for its life (open counts, the close event). An
   * in-memory store's match then keeps the route, not the request's path (see RouteHandle).
   */
  readonly prefix: string;

  constructor(
    readonly client: Duplex,
    readonly server: Duplex,
    /** The route the upgrade matched. */
    readonly route: RouteMatch,
    private readonly tap: GuardedTap | undefined,
    private readonly owner: PairOwner,
    /** The upstream's reads, when a small read may hold them (see ReadHold). */
    private readonly serverReads?: HeldReads,
  ) {
    // A tap that parses the frames anyway answers for the boundaries: each chunk is then parsed once.
    this.framesTap = tap?.tracksFrames ? tap : undefined;
    this.prefix = route.prefix;
  }

  /** Starts relaying. */
  start(): void {
    const { client, server } = this;
    for (const s of [client, server]) {
      const net = s as Duplex & {
        setNoDelay?: (b: boolean) => void;
        setKeepAlive?: (b: boolean, d: number) => void;
        setTimeout?: (ms: number) => void;
      };
      net.setTimeout?.(0);
      net.setNoDelay?.(true);
      net.setKeepAlive?.(true, 0);
      (s as PairedSocket)[PAIR] = this;
      s.on("end", onSideEnd);
      s.on("close", onSideGone);
      s.on("error", onSideGone);
    }
    client.on("data", onClientData);
    // A TLS upstream's bytes come as data events; a plain one's come from its UpstreamReads, which emits none.
    server.on("data", onServerData);
  }

  /** Whether bytes still go from side to side (not after shutdown's close frames). */
  get relaying(): boolean {
    return !this.closed && !this.goingAway;
  }

  fromClient(chunk: Buffer): void {
    this.forward(this.client, this.server, chunk);
    // A client that sends waits for an answer (a cell run, a widget's comm message): it is not held back.
    this.serverReads?.releaseHold();
    if (!this.framesTap) this.toServer = followFrames(this.toServer, chunk);
    this.owner.clientActivity(this);
    this.tap?.clientBytes(chunk);
  }

  fromServer(chunk: Buffer): void {
    this.forward(this.server, this.client, chunk);
    if (!this.framesTap) this.toClient = followFrames(this.toClient, chunk);
    this.tap?.serverBytes(chunk);
  }

  otherSide(side: Duplex): Duplex {
    return side === this.client ? this.server : this.client;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.server.destroy();
    this.tap?.closed();
    this.owner.pairClosed(this);
  }

  /** Writes what `from` read to `to`; `from` pauses until `to` drains when `to` is full. */
  private forward(from: Duplex, to: Duplex, chunk: Buffer): void {
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", onOtherSideDrain);
    }
  }

  /**
   * Graceful shutdown: stops relaying and, where the stream sits between frames, sends each side a close
   * frame with 1001 "going away" (so browsers reconnect instead of reporting an error); the sockets are
   * destroyed after `graceMs`.
   */
  closeGoingAway(graceMs: number): void {
    const { client, server } = this;
    this.goingAway = true;
    client.pause();
    server.pause();
    if (this.betweenFrames("toClient")) client.write(CLOSE_GOING_AWAY);
    if (this.betweenFrames("toServer")) server.write(maskedCloseGoingAway());
    client.end();
    server.end();
    setTimeout(() => {
      client.destroy();
      server.destroy();
    }, graceMs).unref();
  }

  private betweenFrames(direction: FrameDirection): boolean {
    if (this.framesTap) return this.framesTap.betweenFrames(direction) === true;
    const tracker = direction === "toClient" ? this.toClient : this.toServer;
    return tracker === undefined || tracker.atFrameBoundary;
  }
}
