import { events } from "../events.js";
import type { Logger } from "../log/logger.js";
import type { RouteMatch, RouteStore } from "./route-store.js";

export interface ActivityRecorderOptions {
  store: RouteStore;
  log: Logger;
  /** How often waiting notes are written to a store that does not keep them itself. Default 1 s. */
  intervalMs?: number;
}

/**
 * Tracks each route's `last_activity`: CHP writes the store on every chunk of a request or response, which at
 * kernel-socket rates is a store write per frame. Here a request notes the time on the route it matched when
 * the store keeps notes itself (the in-memory store folds them in when a route is read); for other stores the
 * notes wait in a map and reach the store in one batch per interval — and right before the API answers a
 * read, so JupyterHub always sees the newest value. A time never moves `last_activity` backwards.
 */
export class ActivityRecorder {
  private pending = new Map<string, number>();
  private readonly store: RouteStore;
  private readonly log: Logger;
  private readonly timer: NodeJS.Timeout;

  constructor(options: ActivityRecorderOptions) {
    this.store = options.store;
    this.log = options.log;
    this.timer = setInterval(() => void this.flush(), options.intervalMs ?? 1000);
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

  /** Writes the waiting notes to the store. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    for (const [prefix, at] of batch) {
      const started = events.activityWrite.active ? performance.now() : 0;
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
        if (started !== 0) events.activityWrite.publish({ seconds: (performance.now() - started) / 1000 });
      }
    }
  }

  /** Stops the interval; the owner flushes first so that no note is lost on shutdown. */
  close(): void {
    clearInterval(this.timer);
  }
}
