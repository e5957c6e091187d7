import { events } from "../events.js";
import { UrlTrie, segmentCount } from "./url-trie.js";
import { parseUpstreamTarget, type UpstreamTarget } from "../http1/upstream-target.js";
import { cleanRoutePath, type RouteData, type RouteMatch, type RouteStore } from "./route-store.js";

/** Largest offset V8 keeps as a small integer on every platform (2^30 − 1 ms ≈ 12 days). */
const MAX_NOTE_OFFSET = 2 ** 30 - 1;
const NOT_NOTED = -1;

/**
 * Activity notes are kept as ms since an epoch shared by a store's routes: a small integer lives inside the route
 * object, where a full timestamp would be a heap number of its own — one more cold memory page for each request
 * when the load is spread over thousands of routes. A note that does not fit (after ≈ 12 days, or when the clock
 * steps back) folds every route's note into its data and starts a new epoch.
 */
class NoteEpoch {
  start = Date.now();

  constructor(private readonly routes: Map<string, StoredRoute>) {}

  restartAt(at: number): void {
    for (const route of this.routes.values()) route.read();
    this.start = at;
  }
}

/**
 * One added route: the match lookups return, where requests note activity until the route is read, and what the
 * request path derives from the route, kept here so that a request touches this one object (see RouteMatch).
 */
class StoredRoute implements RouteMatch {
  readonly depth: number;
  private upstream: UpstreamTarget | undefined = undefined;
  private noted = NOT_NOTED;
  /** The route's JSON as the API sends it; dropped when the data or its `last_activity` changes. */
  private json: string | undefined = undefined;

  constructor(
    readonly prefix: string,
    readonly data: RouteData,
    private readonly epoch: NoteEpoch,
  ) {
    this.depth = segmentCount(prefix);
  }

  parsedTarget(): UpstreamTarget {
    this.upstream ??= parseUpstreamTarget(this.data.target);
    return this.upstream;
  }

  noteActivity(at: number): void {
    const offset = at - this.epoch.start;
    if (offset >= 0 && offset <= MAX_NOTE_OFFSET) {
      // `| 0`: V8 stores a subtraction's result as a heap number (the field would become a boxed double).
      this.noted = offset | 0;
      return;
    }
    this.epoch.restartAt(at);
    this.noted = 0;
  }

  /** The data with the newest note folded into `last_activity`; a note never moves it backwards. */
  read(): RouteData {
    if (this.noted !== NOT_NOTED) {
      const at = this.epoch.start + this.noted;
      this.noted = NOT_NOTED;
      const last = this.data.last_activity;
      if (!(last instanceof Date) || last.getTime() < at) {
        this.data.last_activity = new Date(at);
        this.json = undefined;
      }
    }
    return this.data;
  }

  toJson(): string {
    const data = this.read();
    this.json ??= JSON.stringify(data);
    return this.json;
  }

  update(partial: Partial<RouteData>): void {
    Object.assign(this.data, partial);
    this.upstream = undefined;
    this.json = undefined;
  }
}

/**
 * The embedded default: a Map for the API's view (insertion order) and a trie for lookups, both holding one
 * lasting object per route. Lookups allocate nothing, and a request's activity note is a field write on the
 * route it matched, whatever the size of the table (CHP's `last_activity` rules without a store write per chunk).
 */
export class MemoryRouteStore implements RouteStore {
  readonly announcesChanges = true;
  private readonly routes = new Map<string, StoredRoute>();
  private readonly trie = new UrlTrie<StoredRoute>();
  private readonly epoch = new NoteEpoch(this.routes);

  get size(): number {
    return this.routes.size;
  }

  get(path: string): RouteData | undefined {
    return this.routes.get(cleanRoutePath(path))?.read();
  }

  getTarget(path: string): RouteMatch | undefined {
    return this.trie.match(path);
  }

  getAll(): Record<string, RouteData> {
    return Object.fromEntries(Array.from(this.routes, ([key, route]) => [key, route.read()]));
  }

  /**
   * `JSON.stringify(getAll())`, from each route's JSON kept since it last changed: JupyterHub polls the whole
   * table, and between two polls most routes are idle (10,000 routes: ≈ 3 ms instead of ≈ 40).
   */
  getAllJson(): string {
    const parts: string[] = [];
    for (const [key, route] of this.routes) parts.push(`${JSON.stringify(key)}:${route.toJson()}`);
    return `{${parts.join(",")}}`;
  }

  add(path: string, data: RouteData): void {
    const key = cleanRoutePath(path);
    const route = new StoredRoute(key, data, this.epoch);
    this.routes.set(key, route);
    this.trie.add(key, route);
    if (events.routeChanged.active) events.routeChanged.publish({ path: key, target: data.target });
  }

  update(path: string, partial: Partial<RouteData>): void {
    this.routes.get(cleanRoutePath(path))?.update(partial);
  }

  remove(path: string): void {
    const key = cleanRoutePath(path);
    if (!this.routes.delete(key)) return;
    this.trie.remove(key);
    if (events.routeChanged.active) events.routeChanged.publish({ path: key });
  }
}
