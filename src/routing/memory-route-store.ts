import { randomUUID } from "node:crypto";
import { events } from "../events.js";
import { UrlTrie, segmentCount } from "./url-trie.js";
import { parseUpstreamTarget, type UpstreamTarget } from "../http1/upstream-target.js";
import { cleanRoutePath, type RouteData, type RouteMatch, type RouteStore } from "./route-store.js";

/**
 * Stands for `last_activity` in a route's JSON template. JSON.stringify leaves its fast path for an object that
 * holds a Date (it calls `toJSON` through the generic path for the whole object), so a route's JSON is kept as
 * the text around its date: the date alone is formatted when only the activity moved. The NUL and the random part
 * make it a value no route data carries.
 */
const DATE_SLOT = `\u0000${randomUUID()}`;
const DATE_SLOT_JSON = JSON.stringify(DATE_SLOT);

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
  /** Whether any route noted activity or changed since the table's JSON was last made. */
  tableChanged = true;

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
  /** `"<prefix>":<the route's JSON>` as the API sends it; dropped when the data or its `last_activity` changes. */
  private json: string | undefined = undefined;
  /** The JSON before and after the `last_activity` value; dropped when the data changes. */
  private beforeDate: string | undefined = undefined;
  private afterDate = "";
  private readonly key: string;

  constructor(
    readonly prefix: string,
    readonly data: RouteData,
    private readonly epoch: NoteEpoch,
  ) {
    this.depth = segmentCount(prefix);
    this.key = `${JSON.stringify(prefix)}:`;
    // Here rather than at the first read: after JupyterHub re-adds every route, the next GET would do them all.
    this.makeTemplate();
  }

  parsedTarget(): UpstreamTarget {
    this.upstream ??= parseUpstreamTarget(this.data.target);
    return this.upstream;
  }

  noteActivity(at: number): void {
    const offset = at - this.epoch.start;
    this.epoch.tableChanged = true;
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

  /** `"<prefix>":<JSON of the data>`, the route's entry in the table's JSON. */
  entryJson(): string {
    const data = this.read();
    if (this.json !== undefined) return this.json;
    const date = data.last_activity;
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
      this.json = this.key + JSON.stringify(data);
      return this.json;
    }
    if (this.beforeDate === undefined) this.makeTemplate();
    this.json = `${this.beforeDate}"${date.toISOString()}"${this.afterDate}`;
    return this.json;
  }

  private makeTemplate(): void {
    if (!(this.data.last_activity instanceof Date)) return;
    const template = JSON.stringify({ ...this.data, last_activity: DATE_SLOT });
    const at = template.indexOf(DATE_SLOT_JSON);
    this.beforeDate = this.key + template.slice(0, at);
    this.afterDate = template.slice(at + DATE_SLOT_JSON.length);
  }

  update(partial: Partial<RouteData>): void {
    Object.assign(this.data, partial);
    this.upstream = undefined;
    this.json = undefined;
    this.epoch.tableChanged = true;
    // Only a new `last_activity` leaves the rest of the JSON as it was.
    for (const key in partial) {
      if (key !== "last_activity") {
        this.beforeDate = undefined;
        break;
      }
    }
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
  /** The whole table's JSON, while no route changed or noted activity (`epoch.tableChanged`). */
  private tableJson = "";

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
   * table, and between two polls most routes are idle; a route whose activity alone moved formats its date into
   * the JSON kept around it. A table in which nothing moved since the last poll answers with the same text.
   */
  getAllJson(): string {
    if (!this.epoch.tableChanged) return this.tableJson;
    this.epoch.tableChanged = false;
    const parts: string[] = [];
    for (const route of this.routes.values()) parts.push(route.entryJson());
    this.tableJson = `{${parts.join(",")}}`;
    return this.tableJson;
  }

  add(path: string, data: RouteData): void {
    const key = cleanRoutePath(path);
    const route = new StoredRoute(key, data, this.epoch);
    this.routes.set(key, route);
    this.epoch.tableChanged = true;
    this.trie.add(key, route);
    if (events.routeChanged.active) events.routeChanged.publish({ path: key, target: data.target });
  }

  update(path: string, partial: Partial<RouteData>): void {
    this.routes.get(cleanRoutePath(path))?.update(partial);
  }

  remove(path: string): void {
    const key = cleanRoutePath(path);
    if (!this.routes.delete(key)) return;
    this.epoch.tableChanged = true;
    this.trie.remove(key);
    if (events.routeChanged.active) events.routeChanged.publish({ path: key });
  }
}
