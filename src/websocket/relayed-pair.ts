import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import { FrameParser } from "./frame-parser.js";
import type { GuardedTap } from "./guarded-tap.js";
import type { FrameDirection } from "./socket-tap.js";

/** Close frame, status 1001 (going away), as a server sends it: unmasked. */
const CLOSE_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/** The same close frame as a client must send it: masked with a random key. */
function maskedCloseGoingAway(): Buffer {
  const mask = randomBytes(4);
  return Buffer.from([0x88, 0x82, ...mask, 0x03 ^ mask[0], 0xe9 ^ mask[1]]);
}

const ignoreMessage = (): void => undefined;

/** A parser that keeps no payload: it only follows frame headers. */
function frameBoundaries(): FrameParser {
  return new FrameParser(ignoreMessage, { maxMessageBytes: 0 });
}

/** Forwards `from` to `to` with backpressure; `observe` sees each chunk after it was handed on. */
export function pump(from: Duplex, to: Duplex, observe?: (chunk: Buffer) => void): void {
  from.on("data", (chunk: Buffer) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
    observe?.(chunk);
  });
  from.on("end", () => to.end());
}

/** What a pair reports as its bytes flow. */
export interface PairObserver {
  /** Bytes from the client (the route is active). */
  clientActivity(): void;
}

/**
 * An upgraded client socket and its upstream, relayed as raw bytes in both directions (no re-framing:
 * subprotocols, extensions and pings untouched, no message-size cap). A tap sees every byte after it was
 * forwarded; it can neither delay nor alter the stream.
 */
export class RelayedPair {
  /**
   * Frame boundaries of each direction, so shutdown can add a close frame without cutting one. Made with the
   * direction's first bytes: until then the stream is between frames, and idle sockets are the many.
   */
  private toClient: FrameParser | undefined;
  private toServer: FrameParser | undefined;
  /** The tap that follows the frames instead, when there is one. */
  private readonly framesTap: GuardedTap | undefined;
  private closed = false;

  constructor(
    readonly client: Duplex,
    readonly server: Duplex,
    /** The route prefix the upgrade matched. */
    readonly route: string,
    private readonly tap: GuardedTap | undefined,
  ) {
    // A tap that parses the frames anyway answers for the boundaries: each chunk is then parsed once.
    this.framesTap = tap?.tracksFrames ? tap : undefined;
  }

  /** Starts relaying; `onClose` runs once, when either side is gone. */
  start(observer: PairObserver, onClose: (pair: RelayedPair) => void): void {
    const { client, server, tap, framesTap } = this;
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
    pump(client, server, (chunk) => {
      if (!framesTap) (this.toServer ??= frameBoundaries()).push(chunk);
      observer.clientActivity();
      tap?.clientBytes(chunk);
    });
    const fromServer = (chunk: Buffer) => {
      if (!framesTap) (this.toClient ??= frameBoundaries()).push(chunk);
      tap?.serverBytes(chunk);
    };
    pump(server, client, fromServer);
    const close = () => {
      if (this.closed) return;
      this.closed = true;
      client.destroy();
      server.destroy();
      tap?.closed();
      onClose(this);
    };
    client.on("close", close);
    server.on("close", close);
    client.on("error", close);
    server.on("error", close);
  }

  /**
   * Graceful shutdown: stops relaying and, where the stream sits between frames, sends each side a close
   * frame with 1001 "going away" (so browsers reconnect instead of reporting an error); the sockets are
   * destroyed after `graceMs`.
   */
  closeGoingAway(graceMs: number): void {
    const { client, server } = this;
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
