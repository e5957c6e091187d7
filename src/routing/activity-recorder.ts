import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import type { RouteMatch, RouteStore } from "./route-store.js";

/**
 * Tracks each route's `last_activity` (chp-compat-spec §3.9). CHP writes the store on every chunk. Here a
 * request notes the time on the route it matched when the store keeps notes itself (the in-memory store folds
 * them in when a route is read); for other stores the notes wait in a map and reach the store in one batch per
 * interval — and right before the API answers a read, so JupyterHub always sees the newest value.
 */
export class ActivityRecorder {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: RouteStore,
    private readonly log: Logger,
    private readonly metrics?: ProxyMetrics,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  record(route: RouteMatch): void {
    if (route.noteActivity) route.noteActivity(Date.now());
    else this.pending.set(route.prefix, Date.now());
  }

  /** A route that was (re)added starts from its own `last_activity`; earlier notes must not overwrite it. */
  forget(prefix: string): void {
    this.pending.delete(prefix);
  }

  /** Writes the waiting notes to the store; a time never moves a route's `last_activity` backwards. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    for (const [prefix, at] of batch) {
      const stopTimer = this.metrics?.lastActivityUpdating.startTimer();
      try {
        // Stores may answer synchronously: no await (and no microtask) per route for those.
        const found = this.store.get(prefix);
        const data = found instanceof Promise ? await found : found;
        const current = data?.last_activity instanceof Date ? data.last_activity.getTime() : undefined;
        if (data && !(current !== undefined && current >= at)) {
          const updated = this.store.update(prefix, { last_activity: new Date(at) });
          if (updated instanceof Promise) await updated;
        }
      } catch (error) {
        this.log.error({ err: error }, "Failed to record activity for %s", prefix);
      } finally {
        stopTimer?.();
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
