import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import type { RouteStore } from "./route-store.js";

/**
 * Sets a route's `last_activity` (chp-compat-spec §3.9) with a leading-edge throttle: at most one store write per
 * route per interval. CHP writes on every chunk; JupyterHub reads the value every 5 minutes, so a second's
 * resolution loses nothing and keeps the hot path free of store round-trips.
 */
export class ActivityRecorder {
  private readonly lastWrite = new Map<string, number>();

  constructor(
    private readonly store: RouteStore,
    private readonly log: Logger,
    private readonly metrics?: ProxyMetrics,
    private readonly intervalMs = 1000,
  ) {}

  record(prefix: string): void {
    const now = Date.now();
    const previous = this.lastWrite.get(prefix);
    if (previous !== undefined && now - previous < this.intervalMs) return;
    this.lastWrite.set(prefix, now);
    void this.write(prefix, now);
  }

  /** A route that was added or replaced restarts its throttle window (POST sets last_activity itself). */
  reset(prefix: string, at: number): void {
    this.lastWrite.set(prefix, at);
  }

  forget(prefix: string): void {
    this.lastWrite.delete(prefix);
  }

  private async write(prefix: string, now: number): Promise<void> {
    const stopTimer = this.metrics?.lastActivityUpdating.startTimer();
    try {
      if (await this.store.get(prefix)) await this.store.update(prefix, { last_activity: new Date(now) });
    } catch (error) {
      this.log.error({ err: error }, "Failed to record activity for %s", prefix);
    } finally {
      stopTimer?.();
    }
  }
}
