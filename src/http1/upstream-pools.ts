import { UpstreamPool, type PoolOptions } from "./upstream-pool.js";
import type { UpstreamTarget } from "./upstream-target.js";

/** One keep-alive pool per upstream origin (or UNIX socket), created on first use. */
export class UpstreamPools {
  private readonly pools = new Map<string, UpstreamPool>();

  constructor(private readonly options: PoolOptions) {}

  for(target: UpstreamTarget): UpstreamPool {
    let pool = this.pools.get(target.key);
    if (!pool) {
      pool = new UpstreamPool(target, this.options);
      this.pools.set(target.key, pool);
    }
    return pool;
  }

  /** Pools of upstreams no route uses any more are closed, so dead servers don't hold sockets (CHP #557). */
  retainOnly(liveKeys: Set<string>): void {
    for (const [key, pool] of this.pools) {
      if (!liveKeys.has(key)) {
        this.pools.delete(key);
        pool.close();
      }
    }
  }

  close(): void {
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }
}
