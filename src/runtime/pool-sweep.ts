import type { UpstreamPools } from "../http1/upstream-pools.js";
import { parseUpstreamTarget } from "../http1/upstream-target.js";
import type { RouteStore } from "../routing/route-store.js";

/** Pools of upstreams no route names any more are closed at most this often (JupyterHub adds routes in bursts). */
const POOL_SWEEP_INTERVAL_MS = 5000;

/**
 * After route changes, closes the pools of upstreams that no route names any more (dead servers must not hold
 * sockets, as they did in CHP). The scan is O(routes), so it runs at most once per interval, not per API call.
 */
export class PoolSweep {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: RouteStore,
    private readonly pools: UpstreamPools,
  ) {}

  schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sweep();
    }, POOL_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async sweep(): Promise<void> {
    const live = new Set<string>();
    for (const route of Object.values(await this.store.getAll())) {
      try {
        live.add(parseUpstreamTarget(route.target).key);
      } catch {
        // A route with an unusable target has no pool.
      }
    }
    this.pools.retainOnly(live);
  }
}
