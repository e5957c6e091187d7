import type { ClientTls } from "./connect-upstream.js";
import { UpstreamConnection, type ConnectionOwner } from "./upstream-connection.js";
import {
  UpstreamExchange,
  upstreamError,
  type ExchangeControl,
  type ResponseSink,
  type UpstreamRequest,
} from "./upstream-exchange.js";
import type { UpstreamTarget } from "./upstream-target.js";

/** How often idle connections are checked against their keep-alive time (so they close up to this late). */
const IDLE_SWEEP_MS = 250;

export interface PoolOptions {
  /**
   * Upper bound of connections per upstream origin; 0 = none (as in CHP). A bound protects an upstream's file
   * descriptors; requests beyond it wait (see `queueLimit`, `queueTimeoutMs`).
   */
  connectionsPerOrigin: number;
  /**
   * Percent of `connectionsPerOrigin` one client may hold at once (100 when absent); without a bound it has
   * nothing to be a share of. A client at its share waits even while connections are free, so one client
   * (many slow uploads, slow reads of large answers) cannot take every connection from the others.
   */
  clientSharePercent?: number;
  /** Requests that may wait for a connection (unbounded when absent); more are refused at once. */
  queueLimit?: number;
  /** ms a request may wait for a connection before it fails (0 or absent: for ever). */
  queueTimeoutMs?: number;
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  clientTls: ClientTls;
}

/** Who a request is for: requests with the same key share one client's share of the connections. */
export type ClientKey = string;

/** A request waiting for a connection. */
interface Waiting {
  exchange: UpstreamExchange;
  client: ClientKey;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Keep-alive HTTP/1.1 connections to one upstream origin (or UNIX socket): the most recently used idle one
 * first, new ones up to the bound, then requests wait in order, each at most `queueTimeoutMs`, and a client
 * never holds more than its share of the bound.
 */
export class UpstreamPool implements ConnectionOwner {
  private readonly idle: UpstreamConnection[] = [];
  private readonly waiting: Waiting[] = [];
  /** The client each busy connection serves. */
  private readonly holders = new Map<UpstreamConnection, ClientKey>();
  /** Busy connections per client. */
  private readonly held = new Map<ClientKey, number>();
  private readonly maxConnections: number;
  private readonly clientLimit: number;
  private readonly queueLimit: number;
  private size = 0;
  private closing = false;
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: UpstreamTarget,
    private readonly options: PoolOptions,
  ) {
    this.maxConnections = options.connectionsPerOrigin > 0 ? options.connectionsPerOrigin : Infinity;
    const share = options.clientSharePercent ?? 100;
    this.clientLimit =
      this.maxConnections === Infinity || share >= 100
        ? Infinity
        : Math.max(1, Math.floor((this.maxConnections * share) / 100));
    this.queueLimit = options.queueLimit ?? Infinity;
  }

  /** Connections open (busy, idle or connecting) and requests waiting, for the operator. */
  get load(): { connections: number; waiting: number } {
    return { connections: this.size, waiting: this.waiting.length };
  }

  request(request: UpstreamRequest, sink: ResponseSink, client: ClientKey = ""): ExchangeControl {
    const exchange = new UpstreamExchange(request, sink, this.forget);
    if (this.closing) exchange.fail(upstreamError("upstream pool closed", "UPSTREAM_POOL_CLOSED"));
    else this.assign(exchange, client);
    return exchange;
  }

  released(connection: UpstreamConnection): void {
    this.unhold(connection);
    if (this.closing) {
      connection.destroy();
      return;
    }
    const next = this.nextRunnable();
    if (next) {
      this.run(connection, next.exchange, next.client);
      return;
    }
    connection.idle();
    this.idle.push(connection);
    this.sweep ??= setInterval(this.closeExpired, IDLE_SWEEP_MS).unref();
  }

  closed(connection: UpstreamConnection, orphan: UpstreamExchange | undefined): void {
    const client = this.unhold(connection);
    this.size--;
    const index = this.idle.lastIndexOf(connection);
    if (index !== -1) this.idle.splice(index, 1);
    if (orphan && this.closing) orphan.fail(upstreamError("upstream pool closed", "UPSTREAM_POOL_CLOSED"));
    else if (orphan) this.open(orphan, client ?? "");
    else if (!this.closing && this.size < this.maxConnections) {
      const next = this.nextRunnable();
      if (next) this.open(next.exchange, next.client);
    }
  }

  /** No new requests; idle connections close now, busy ones when their exchange ends. */
  close(): void {
    this.closing = true;
    clearInterval(this.sweep);
    for (const { exchange, timer } of this.waiting.splice(0)) {
      clearTimeout(timer);
      exchange.fail(upstreamError("upstream pool closed", "UPSTREAM_POOL_CLOSED"));
    }
    for (const connection of this.idle.splice(0)) connection.destroy();
  }

  private assign(exchange: UpstreamExchange, client: ClientKey): void {
    if (this.mayHold(client)) {
      const connection = this.takeIdle();
      if (connection) return this.run(connection, exchange, client);
      if (this.size < this.maxConnections) return this.open(exchange, client);
    }
    if (this.waiting.length >= this.queueLimit) {
      exchange.fail(
        upstreamError("too many requests waiting for an upstream connection", "UPSTREAM_QUEUE_FULL"),
      );
      return;
    }
    const entry: Waiting = { exchange, client, timer: undefined };
    const timeoutMs = this.options.queueTimeoutMs ?? 0;
    if (timeoutMs > 0) entry.timer = setTimeout(this.expire, timeoutMs, entry).unref();
    this.waiting.push(entry);
  }

  /** The most recently used idle connection that is still open (one the upstream just closed is skipped). */
  private takeIdle(): UpstreamConnection | undefined {
    for (let connection = this.idle.pop(); connection; connection = this.idle.pop())
      if (connection.usable) return connection;
    return undefined;
  }

  private mayHold(client: ClientKey): boolean {
    return this.clientLimit === Infinity || (this.held.get(client) ?? 0) < this.clientLimit;
  }

  /** The first waiting request whose client is below its share, taken off the queue. */
  private nextRunnable(): Waiting | undefined {
    const index =
      this.clientLimit === Infinity ? 0 : this.waiting.findIndex((entry) => this.mayHold(entry.client));
    if (index === -1 || index >= this.waiting.length) return undefined;
    const [entry] = this.waiting.splice(index, 1);
    clearTimeout(entry.timer);
    return entry;
  }

  /** Counts only when a client's share is bounded: two Map writes per request would be the only use otherwise. */
  private hold(connection: UpstreamConnection, client: ClientKey): void {
    if (this.clientLimit === Infinity) return;
    this.holders.set(connection, client);
    this.held.set(client, (this.held.get(client) ?? 0) + 1);
  }

  private unhold(connection: UpstreamConnection): ClientKey | undefined {
    const client = this.holders.get(connection);
    if (client === undefined) return undefined;
    this.holders.delete(connection);
    const count = (this.held.get(client) ?? 1) - 1;
    if (count > 0) this.held.set(client, count);
    else this.held.delete(client);
    return client;
  }

  private run(connection: UpstreamConnection, exchange: UpstreamExchange, client: ClientKey): void {
    this.hold(connection, client);
    connection.run(exchange);
  }

  private open(exchange: UpstreamExchange, client: ClientKey): void {
    const { target, options } = this;
    let connection: UpstreamConnection;
    try {
      connection = new UpstreamConnection(
        target,
        options.clientTls,
        options.connectTimeoutMs,
        options.keepAliveTimeoutMs,
        this,
      );
    } catch (error) {
      // E.g. a `--client-ssl-key` TLS refuses: this request fails, the pool and the proxy carry on.
      exchange.fail(error as Error);
      return;
    }
    this.size++;
    this.run(connection, exchange, client);
  }

  /** Idle connections past their keep-alive time leave the list first, so none is handed out while closing. */
  private readonly closeExpired = (): void => {
    const now = Date.now();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const connection = this.idle[i];
      if (!connection.idleExpired(now)) continue;
      this.idle.splice(i, 1);
      connection.destroy();
    }
    if (this.idle.length === 0) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  };

  private readonly expire = (entry: Waiting): void => {
    const index = this.waiting.indexOf(entry);
    if (index === -1) return;
    this.waiting.splice(index, 1);
    entry.exchange.fail(
      upstreamError("no upstream connection became free in time", "UPSTREAM_QUEUE_TIMEOUT"),
    );
  };

  private readonly forget = (exchange: UpstreamExchange): void => {
    const index = this.waiting.findIndex((entry) => entry.exchange === exchange);
    if (index === -1) return;
    clearTimeout(this.waiting[index].timer);
    this.waiting.splice(index, 1);
  };
}
