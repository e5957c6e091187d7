import type { Socket } from "node:net";
import { connectUpstream, readyEvent, type ClientTls } from "./connect-upstream.js";
import { ReadBuffer } from "./read-buffer.js";
import { upstreamError, type ExchangeTransport, type UpstreamExchange } from "./upstream-exchange.js";
import type { UpstreamTarget } from "./upstream-target.js";

/** What a connection reports to the pool that owns it. */
export interface ConnectionOwner {
  /** The connection finished an exchange and can take another. */
  released(connection: UpstreamConnection): void;
  /** The socket is gone. `orphan` is an exchange that failed before any answer and may be retried elsewhere. */
  closed(connection: UpstreamConnection, orphan: UpstreamExchange | undefined): void;
}

/**
 * One keep-alive socket to an upstream, carrying one exchange at a time. Its listeners are attached once for
 * the socket's life, not per request; a plain socket reads into memory it reuses (ReadBuffer).
 */
export class UpstreamConnection implements ExchangeTransport {
  private readonly socket: Socket;
  private readonly reads = new ReadBuffer();
  private exchange: UpstreamExchange | undefined;
  private connected = false;
  private lastError: Error | undefined;
  /** Exchanges completed on this socket: a failure on a reused socket may be a stale keep-alive, worth a retry. */
  private served = 0;
  private idleTimeoutMs: number;
  private idleSince = 0;
  /** What the socket's inactivity timeout is set to: changed only when a request asks for another. */
  private socketTimeoutMs: number;

  /** Throws when the socket cannot even be opened (a TLS identity Node refuses). */
  constructor(
    target: UpstreamTarget,
    clientTls: ClientTls,
    connectTimeoutMs: number,
    idleTimeoutMs: number,
    private readonly owner: ConnectionOwner,
  ) {
    const socket = connectUpstream(target, clientTls, { buffer: this.reads.next, callback: this.onRead });
    this.socket = socket;
    this.idleTimeoutMs = idleTimeoutMs;
    this.socketTimeoutMs = connectTimeoutMs;
    socket.setTimeout(connectTimeoutMs);
    socket.once(readyEvent(target), this.onReady);
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("error", this.onError);
    socket.on("close", this.onClose);
    socket.on("timeout", this.onTimeout);
  }

  get reused(): boolean {
    return this.served > 0;
  }

  /** False once the socket is closing (the upstream ended it, or it failed): it must not carry a request. */
  get usable(): boolean {
    return !this.socket.destroyed;
  }

  /** Runs `exchange` now, or as soon as the socket is connected. */
  run(exchange: UpstreamExchange): void {
    this.exchange = exchange;
    this.reads.wake();
    if (this.connected) this.begin(exchange);
  }

  /**
   * The socket has nothing in flight and goes back to the pool's idle list. The pool's sweep ends its idle time,
   * not a socket timer: re-arming a timer twice per request was a measurable part of a small request's cost.
   * Its large read memory goes back for other connections to use (see ReadBuffer.rest).
   */
  idle(): void {
    this.idleSince = Date.now();
    this.reads.rest();
  }

  idleExpired(now: number): boolean {
    return now - this.idleSince >= this.idleTimeoutMs;
  }

  write(data: Buffer | string, encoding?: BufferEncoding): boolean {
    return encoding ? this.socket.write(data, encoding) : this.socket.write(data);
  }

  waitForDrain(): Promise<boolean> {
    const { socket } = this;
    if (socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (drained: boolean) => {
        socket.off("drain", onDrain);
        socket.off("close", onClose);
        resolve(drained);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      socket.once("drain", onDrain);
      socket.once("close", onClose);
    });
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  release(reusable: boolean): void {
    const hint = this.exchange?.keepAliveTimeoutMs;
    this.exchange = undefined;
    this.served++;
    // Leave a second's margin before the upstream's own idle timeout, so it never closes a socket we just reused.
    if (hint !== undefined) this.idleTimeoutMs = Math.min(this.idleTimeoutMs, hint - 1000);
    if (!reusable || this.idleTimeoutMs <= 0 || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    this.socket.resume();
    this.owner.released(this);
  }

  destroy(): void {
    this.exchange = undefined;
    this.socket.destroy();
  }

  private begin(exchange: UpstreamExchange): void {
    if (exchange.finished) {
      // Aborted while the socket was connecting: the connection is still good for the next request.
      this.exchange = undefined;
      this.idle();
      this.owner.released(this);
      return;
    }
    const timeoutMs = exchange.request.timeoutMs;
    if (timeoutMs !== this.socketTimeoutMs) {
      this.socket.setTimeout(timeoutMs);
      this.socketTimeoutMs = timeoutMs;
    }
    this.socket.resume();
    exchange.start(this);
  }

  private readonly onReady = (): void => {
    this.connected = true;
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 60_000);
    if (this.exchange) this.begin(this.exchange);
    else this.idle();
  };

  /** Plain sockets: the bytes are in reused read memory (see ReadBuffer), whose reuse depends on the consumer. */
  private readonly onRead = (length: number, memory: Uint8Array): boolean => {
    const exchange = this.exchange;
    if (this.deliver(this.reads.take(memory as Buffer, length))) {
      this.reads.reclaim();
    } else {
      this.reads.handOff();
      // Its consumer is finished: later answers on this connection go to another one, which cannot tell us.
      if (exchange?.finished) this.reads.abandon();
    }
    return true;
  };

  /** TLS sockets. */
  private readonly onData = (chunk: Buffer): void => {
    this.deliver(chunk);
  };

  /** Returns whether the chunk's memory is free again. */
  private deliver(chunk: Buffer): boolean {
    if (this.exchange) return this.exchange.receive(chunk);
    this.socket.destroy(); // Bytes nobody asked for: the connection's framing can no longer be trusted.
    return true;
  }

  /** A close-delimited body ends with the upstream's FIN; before any answer, the close handler decides. */
  private readonly onEnd = (): void => {
    const exchange = this.exchange;
    if (exchange?.responseStarted) {
      this.exchange = undefined;
      exchange.receiveEnd();
    }
    this.socket.destroy();
  };

  private readonly onError = (error: Error): void => {
    this.lastError = error;
  };

  private readonly onTimeout = (): void => {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.socket.destroy();
    exchange?.fail(upstreamError(this.connected ? "upstream timeout" : "connect timeout", "ETIMEDOUT"));
  };

  private readonly onClose = (): void => {
    this.reads.close();
    const exchange = this.exchange;
    this.exchange = undefined;
    if (!exchange || exchange.finished) {
      this.owner.closed(this, undefined);
    } else if (!exchange.responseStarted && this.reused && exchange.replayable && !exchange.retried) {
      // Most likely the upstream closed a kept-alive socket just as the request went out: one more try.
      exchange.retried = true;
      exchange.detach();
      this.owner.closed(this, exchange);
    } else {
      exchange.fail(this.lastError ?? upstreamError("socket hang up", "ECONNRESET"));
      this.owner.closed(this, undefined);
    }
  };
}
