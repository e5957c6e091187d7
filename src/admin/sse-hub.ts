import type { ServerResponse } from "node:http";

export interface SseHubOptions {
  /** Streams open at once; more are refused (the page retries). */
  maxClients: number;
  /** Bytes a client may leave unread before it is dropped. */
  maxBufferedBytes: number;
  /** A comment line this often keeps proxies and browsers from closing an idle stream. */
  heartbeatMs: number;
  /** The browser reconnects after this long when a stream ends. */
  retryMs: number;
}

interface SseClient {
  res: ServerResponse;
  /** The session that opened it (closed with the session), if any. */
  owner: string | undefined;
}

/**
 * Server-sent events to every open admin page. Each message is serialised once for all clients; a client's unread
 * bytes are bounded (a page that stops reading is dropped, never buffered without end); heartbeats run only
 * while somebody listens.
 */
export class SseHub {
  private readonly clients = new Set<SseClient>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  /** Clients dropped because they did not read. */
  dropped = 0;

  constructor(private readonly options: SseHubOptions) {}

  get size(): number {
    return this.clients.size;
  }

  /**
   * Starts the stream on `res`; false (nothing written) when the hub is full or closed, for the caller to refuse.
   * `owner` names the session whose sign-out or expiry ends the stream.
   */
  open(res: ServerResponse, owner?: string): boolean {
    if (this.closed || this.clients.size >= this.options.maxClients) return false;
    const client: SseClient = { res, owner };
    this.clients.add(client);
    // A stream's connection is never reused: when the stream ends (sign-out, shutdown) the connection goes too.
    res.shouldKeepAlive = false;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-accel-buffering": "no",
    });
    res.socket?.setNoDelay(true);
    res.write(`retry: ${this.options.retryMs}\n\n`);
    res.on("close", () => this.remove(client));
    this.heartbeat ??= setInterval(() => this.writeAll(": heartbeat\n\n"), this.options.heartbeatMs).unref();
    return true;
  }

  /** Sends `data` (JSON) as event `event` to every client. */
  broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.writeAll(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the streams `owner` opened (sign-out, expiry). */
  closeOwner(owner: string): void {
    for (const client of this.clients) {
      if (client.owner === owner) this.end(client);
    }
  }

  /** Ends every stream and refuses new ones (shutdown). */
  close(): void {
    this.closed = true;
    for (const client of this.clients) this.end(client);
  }

  private writeAll(chunk: string): void {
    const bytes = Buffer.byteLength(chunk);
    for (const client of this.clients) {
      if (client.res.writableLength + bytes > this.options.maxBufferedBytes) {
        this.dropped += 1;
        this.remove(client);
        client.res.destroy();
        continue;
      }
      client.res.write(chunk);
    }
  }

  private end(client: SseClient): void {
    this.remove(client);
    client.res.end();
  }

  private remove(client: SseClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }
}
