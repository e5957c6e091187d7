import { Pool, type Dispatcher } from "undici";
import type { UpstreamTarget } from "./upstream-target.js";

export interface ClientTls {
  key?: Buffer;
  cert?: Buffer;
  ca?: Buffer[];
  /** `--insecure`: accept upstream certificates that don't verify (honoured, unlike CHP ≥ 5.1, §6.3 #5). */
  rejectUnauthorized: boolean;
}

export interface PoolOptions {
  /** Upper bound of connections per upstream origin: bounded pools stop the socket/port exhaustion CHP users hit. */
  connectionsPerOrigin: number;
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  clientTls: ClientTls;
}

/** One keep-alive undici Pool per upstream origin (or UNIX socket), created on first use. */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly options: PoolOptions) {}

  for(target: UpstreamTarget): Dispatcher {
    let pool = this.pools.get(target.key);
    if (!pool) {
      pool = this.create(target);
      this.pools.set(target.key, pool);
    }
    return pool;
  }

  private create(target: UpstreamTarget): Pool {
    const { clientTls } = this.options;
    const origin = target.socketPath
      ? "http://localhost"
      : `${target.secure ? "https" : "http"}://${target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname}:${target.port}`;
    return new Pool(origin, {
      connections: this.options.connectionsPerOrigin,
      pipelining: 1,
      keepAliveTimeout: this.options.keepAliveTimeoutMs,
      keepAliveMaxTimeout: this.options.keepAliveTimeoutMs,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: {
        timeout: this.options.connectTimeoutMs,
        ...(target.socketPath ? { socketPath: target.socketPath } : {}),
        ...(target.secure
          ? {
              rejectUnauthorized: clientTls.rejectUnauthorized,
              key: clientTls.key,
              cert: clientTls.cert,
              ca: clientTls.ca,
              servername: target.hostname,
            }
          : {}),
      },
    });
  }

  /** Pools of upstreams no route uses any more are closed, so dead servers don't hold sockets (CHP #557). */
  retainOnly(liveKeys: Set<string>): void {
    for (const [key, pool] of this.pools) {
      if (!liveKeys.has(key)) {
        this.pools.delete(key);
        void pool.close().catch(() => pool.destroy());
      }
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
  }
}
