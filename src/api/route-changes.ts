import { events } from "../events.js";
import type { Logger } from "../log/logger.js";
import type { ActivityRecorder } from "../routing/activity-recorder.js";
import { cleanRoutePath, type RouteData, type RouteStore } from "../routing/route-store.js";

export interface RouteChangesOptions {
  store: RouteStore;
  activity: ActivityRecorder;
  log: Logger;
  /** Called after each change of the table (pool clean-up). */
  onChange?: () => void;
}

/**
 * The one way the routing table changes on request (the REST API, the admin page): the same log lines, the same
 * `routeChanged` event, the same activity bookkeeping and pool clean-up, whoever asked.
 */
export class RouteChanges {
  constructor(private readonly options: RouteChangesOptions) {}

  /** Adds (or replaces) the route at `path` (any form; cleaned as CHP does). */
  async add(path: string, route: RouteData): Promise<void> {
    const key = cleanRoutePath(path);
    this.options.log.info("Adding route %s -> %s", key, route.target);
    await this.options.store.add(key, route);
    this.options.log.info("Route added %s -> %s", key, route.target);
    // Stores that announce their changes (in-memory; Redis, also for other replicas) publish the event themselves.
    if (!this.options.store.announcesChanges && events.routeChanged.active)
      events.routeChanged.publish({ path: key, target: route.target });
    this.options.onChange?.();
  }

  /** Removes the route at `path`; false when there is none. */
  async remove(path: string): Promise<boolean> {
    const key = cleanRoutePath(path);
    const { store } = this.options;
    if (!(await store.get(key))) return false;
    this.options.log.info("Removing route %s", key);
    await store.remove(key);
    this.options.activity.forget(key);
    if (!store.announcesChanges && events.routeChanged.active) events.routeChanged.publish({ path: key });
    this.options.onChange?.();
    return true;
  }
}
