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
  /** Upper bound of connections per upstream origin: bounded pools stop the socket/port exhaustion CHP users hit. */
  connectionsPerOrigin: number;
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  clientTls: ClientTls;
}

/**
 * Keep-alive HTTP/1.1 connections to one upstream origin (or UNIX socket): the most recently used idle one
 * first, new ones up to the bound, then requests wait in order.
 */
export class UpstreamPool implements ConnectionOwner {
  private readonly idle: UpstreamConnection[] = [];
  private readonly waiting: UpstreamExchange[] = [];
  private size = 0;
  private closing = false;
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: UpstreamTarget,
    private readonly options: PoolOptions,
  ) {}

  request(request: UpstreamRequest, sink: ResponseSink): ExchangeControl {
    const exchange = new UpstreamExchange(request, sink, this.forget);
    if (this.closing) exchange.fail(upstreamError("upstream pool closed", "UPSTREAM_POOL_CLOSED"));
    else this.assign(exchange);
    return exchange;
  }

  released(connection: UpstreamConnection): void {
    if (this.closing) {
      connection.destroy();
      return;
    }
    const next = this.waiting.shift();
    if (next) {
      connection.run(next);
      return;
    }
    connection.idle();
    this.idle.push(connection);
    this.sweep ??= setInterval(this.closeExpired, IDLE_SWEEP_MS).unref();
  }

  closed(connection: UpstreamConnection, orphan: UpstreamExchange | undefined): void {
    this.size--;
    const index = this.idle.lastIndexOf(connection);
    if (index !== -1) this.idle.splice(index, 1);
    if (orphan && this.closing) orphan.fail(upstreamError("upstream pool closed", "UPSTREAM_POOL_CLOSED"));
    else if (orphan) this.open(orphan);
    else if (!this.closing && this.waiting.length > 0 && this.size < this.options.connectionsPerOrigin)
      this.open(this.waiting.shift() as UpstreamExchange);
  }

  /** No new requests; idle connections close now, busy ones when their exchange ends. */
  close(): void {
    this.closing = true;
    clearInterval(this.sweep);
    for (const exchange of this.waiting.splice(0))
      exchange.fail(upstreamError("upstream pool closed", "UPSTREAM_POOL_CLOSED"));
    for (const connection of this.idle.splice(0)) connection.destroy();
  }

  private assign(exchange: UpstreamExchange): void {
    const connection = this.idle.pop();
    if (connection) connection.run(exchange);
    else if (this.size < this.options.connectionsPerOrigin) this.open(exchange);
    else this.waiting.push(exchange);
  }

  private open(exchange: UpstreamExchange): void {
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
    connection.run(exchange);
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

  private readonly forget = (exchange: UpstreamExchange): void => {
    const index = this.waiting.indexOf(exchange);
    if (index !== -1) this.waiting.splice(index, 1);
  };
}
