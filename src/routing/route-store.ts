/** The routing table as JupyterHub sees it through CHP's REST API, and CHP's store contract for `--storage-backend`. */

import type { UpstreamTarget } from "../http1/upstream-target.js";

/** The JSON body JupyterHub posted, stored verbatim, plus `last_activity`. */
export interface RouteData {
  target: string;
  last_activity?: Date;
  [field: string]: unknown;
}

export interface RouteMatch {
  /** The matched route path in normal form (`/a/b`, or `/` for the root). */
  prefix: string;
  /** The route's data, as read right after the lookup. */
  data: RouteData;
  /**
   * Present on stores that keep activity notes themselves (the in-memory store): a request's activity is then a
   * write into memory the lookup read already, folded into `last_activity` when the route is read. Without it, the
   * activity recorder writes notes through `update`, in batches.
   */
  noteActivity?(at: number): void;
  /**
   * Such stores also hand out what each request derives from the route: the number of segments in `prefix`, and
   * the parsed target (parsed once; throws for an unusable one, as `parseUpstreamTarget` does). A request then
   * reads neither the route's data nor its strings; under a load spread over thousands of routes each of those is
   * a cold line of memory of its own.
   */
  readonly depth?: number;
  parsedTarget?(): UpstreamTarget;
}

/**
 * A route store. The in-memory store answers synchronously; plugin stores (CHP's `--storage-backend` contract)
 * may return promises, so callers await every result.
 */
export interface RouteStore {
  get(path: string): RouteData | undefined | Promise<RouteData | undefined>;
  getTarget(path: string): RouteMatch | undefined | Promise<RouteMatch | undefined>;
  getAll(): Record<string, RouteData> | Promise<Record<string, RouteData>>;
  /**
   * `JSON.stringify(getAll())` as UTF-8, where the store can produce it faster: the in-memory store and a Redis
   * replica's copy keep the table's JSON ready between JupyterHub's polls.
   */
  getAllJson?(): Buffer | Promise<Buffer>;
  add(path: string, data: RouteData): void | Promise<void>;
  /**
   * For start-up writes such as the default route, which several replicas of a shared store make at once: adds the
   * route unless one with the same target is there already (its other data and activity are then kept). Returns
   * whether it wrote. Stores without it get `add`.
   */
  ensureRoute?(path: string, data: RouteData): Promise<boolean>;
  update(path: string, partial: Partial<RouteData>): void | Promise<void>;
  remove(path: string): void | Promise<void>;
  /** True for stores that publish `events.routeChanged` themselves (also for changes learnt from other replicas). */
  readonly announcesChanges?: boolean;
}

/**
 * A shared store that cannot take a write now (its server is unreachable): thrown at once, never after a hang, so the
 * API can answer 503 while requests keep being routed from the store's local copy.
 */
export class RouteStoreUnavailable extends Error {
  readonly code = "ROUTE_STORE_UNAVAILABLE";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RouteStoreUnavailable";
  }
}

/** CHP's `trimPrefix`: a leading `/`, and one trailing `/` stripped unless the path is `/`. */
export function cleanRoutePath(path: string): string {
  let clean = path.startsWith("/") ? path : `/${path}`;
  if (clean.length > 1 && clean.endsWith("/")) clean = clean.slice(0, -1);
  return clean;
}

/**
 * A `last_activity` as ms since 1970, as stores hold it: a Date, or an ISO string or ms after a JSON trip (plugin
 * stores, Redis); undefined when it is none of these or not a valid time.
 */
export function activityTime(value: unknown): number | undefined {
  let time: number;
  if (value instanceof Date) time = value.getTime();
  else if (typeof value === "string" || typeof value === "number") time = new Date(value).getTime();
  else return undefined;
  return Number.isFinite(time) ? time : undefined;
}

/** A route the proxy itself adds at start (the default target): `ensureRoute` where the store has it, else `add`. */
export async function addStartupRoute(store: RouteStore, path: string, data: RouteData): Promise<void> {
  if (store.ensureRoute) await store.ensureRoute(path, data);
  else await store.add(path, data);
}
