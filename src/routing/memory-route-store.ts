import { randomUUID } from "node:crypto";
import { events } from "../events.js";
import { isoTime } from "../iso-time.js";
import { UrlTrie, segmentCount } from "./url-trie.js";
import { parseUpstreamTarget, type UpstreamTarget } from "../http1/upstream-target.js";
import { TableJson, type TableEntryOwner } from "./table-json.js";
import { cleanRoutePath, type RouteData, type RouteMatch, type RouteStore } from "./route-store.js";

/**
 * Stands for `last_activity` in a route's JSON template. JSON.stringify leaves its fast path for an object that
 * holds a Date (it calls `toJSON` through the generic path for the whole object), so a route's JSON is made once
 * around its date, and a moved date is written over the old one in place. The random part, new in every process,
 * makes it a value no route data carries; it is plain ASCII, so JSON.stringify copies it without escaping.
 */
const DATE_SLOT = `ltictr-date-slot-${randomUUID()}`;
const DATE_SLOT_JSON = JSON.stringify(DATE_SLOT);
/** `toISOString()` of a year 0-9999; other years are longer (±YYYYYY) and take the slow path. */
const ISO_DATE_LENGTH = "2026-01-01T00:00:00.000Z".length;
const NO_DATE = -1;
const NO_ENTRY = -1;

/** `last_activity` as the entry's date slot holds it: a valid Date of a year 0-9999, else undefined (no slot). */
function slotDate(date: unknown): string | undefined {
  if (!(date instanceof Date)) return undefined;
  const time = date.getTime();
  if (Number.isNaN(time)) return undefined;
  const iso = isoTime(time);
  return iso.length === ISO_DATE_LENGTH ? iso : undefined;
}

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
class StoredRoute implements RouteMatch, TableEntryOwner {
  readonly depth: number;
  private upstream: UpstreamTarget | undefined = undefined;
  private noted = NOT_NOTED;
  /** Whether the table lists this route's activity as moved since its last answer. */
  private moved = false;
  /**
   * Where `,"<prefix>":<the route's JSON>` starts in the table's memory, or NO_ENTRY when it must be made again: the
   * table's JSON is these bytes, copied, where strings would be encoded again for every answer (≈ 4 ms per MB here).
   */
  private entryAt = NO_ENTRY;
  private entryLength = 0;
  /** Where the `last_activity` date's characters start in the entry, or NO_DATE when it is not a Date there. */
  private dateAt = NO_DATE;
  /** The time the entry shows as `last_activity`. */
  private entryTime = 0;
  private readonly key: string;

  constructor(
    readonly prefix: string,
    readonly data: RouteData,
    private readonly epoch: NoteEpoch,
    private readonly table: TableJson,
  ) {
    this.depth = segmentCount(prefix);
    this.key = `,${JSON.stringify(prefix)}:`;
    // Here rather than at the first read: after JupyterHub re-adds every route, the next GET would do them all.
    this.makeEntry();
  }

  parsedTarget(): UpstreamTarget {
    this.upstream ??= parseUpstreamTarget(this.data.target);
    return this.upstream;
  }

  noteActivity(at: number): void {
    const offset = at - this.epoch.start;
    this.listMoved();
    if (offset >= 0 && offset <= MAX_NOTE_OFFSET) {
      // `| 0`: V8 stores a subtraction's result as a heap number (the field would become a boxed double).
      this.noted = offset | 0;
      return;
    }
    this.epoch.restartAt(at);
    this.noted = 0;
  }

  /** Lists the route's date as moved for the table's next answer (once until then). */
  private listMoved(): void {
    if (this.moved) return;
    this.moved = true;
    this.table.noteMoved(this);
  }

  /** The data with the newest note folded into `last_activity`; a note never moves it backwards. */
  read(): RouteData {
    if (this.noted !== NOT_NOTED) {
      const at = this.epoch.start + this.noted;
      this.noted = NOT_NOTED;
      const last = this.data.last_activity;
      if (!(last instanceof Date) || last.getTime() < at) this.data.last_activity = new Date(at);
    }
    return this.data;
  }

  refreshDate(): void {
    this.moved = false;
    const data = this.read();
    if (this.entryAt === NO_ENTRY) return;
    const date = data.last_activity;
    if (this.dateAt === NO_DATE) {
      // Made without a date slot: a note that folded a Date in needs the entry made again.
      if (date instanceof Date) this.dropEntry();
      return;
    }
    if ((date as Date).getTime() === this.entryTime) return;
    const iso = slotDate(date);
    if (iso === undefined) {
      this.dropEntry();
      return;
    }
    this.table.bytes.write(iso, this.entryAt + this.dateAt, "latin1");
    this.entryTime = (date as Date).getTime();
  }

  relocate(from: Buffer): void {
    if (this.entryAt === NO_ENTRY) this.makeEntry();
    else this.place(this.table.appendCopy(from, this.entryAt, this.entryAt + this.entryLength));
  }

  /** The route left the table, or its data changed. */
  dropEntry(): void {
    if (this.entryAt === NO_ENTRY) return;
    this.entryAt = NO_ENTRY;
    this.table.drop();
  }

  private makeEntry(): void {
    const data = this.data;
    const date = data.last_activity;
    const iso = slotDate(date);
    if (iso === undefined) {
      this.dateAt = NO_DATE;
      this.place(this.table.append(this.key + JSON.stringify(data)));
      return;
    }
    // JSON.stringify leaves its fast path for an object holding a Date: the JSON is made around a stand-in, put in
    // the date's own place for the call (a copy of the object for it cost more than the JSON).
    let template: string;
    try {
      data.last_activity = DATE_SLOT as unknown as Date;
      template = JSON.stringify(data);
    } finally {
      data.last_activity = date;
    }
    // Where the stand-in is: last, as the API adds `last_activity` to a route's data, or else searched for.
    const lastAt = template.length - DATE_SLOT_JSON.length - 1;
    const quoteAt = template.startsWith(DATE_SLOT_JSON, lastAt) ? lastAt : template.indexOf(DATE_SLOT_JSON);
    const before = template.slice(0, quoteAt + 1);
    this.place(
      this.table.append(`${this.key}${before}${iso}${template.slice(quoteAt + DATE_SLOT_JSON.length - 1)}`),
    );
    // Byte offsets: the characters' count is theirs only when every one of them is ASCII.
    const ascii =
      this.entryLength === this.key.length + template.length - DATE_SLOT_JSON.length + 2 + iso.length;
    this.dateAt = ascii
      ? this.key.length + before.length
      : Buffer.byteLength(this.key) + Buffer.byteLength(before);
    this.entryTime = (date as Date).getTime();
  }

  /** The entry's bytes now start at `at` and end where the table's last bytes end. */
  private place(at: number): void {
    this.entryAt = at;
    this.entryLength = this.table.end - at;
  }

  update(partial: Partial<RouteData>): void {
    Object.assign(this.data, partial);
    // A date alone (activity folded in from another replica, or from a store plugin's recorder) is written into the
    // entry in place, as a note's is; anything else makes the entry again.
    if (
      this.dateAt !== NO_DATE &&
      partial.last_activity instanceof Date &&
      Object.keys(partial).length === 1
    ) {
      this.listMoved();
      return;
    }
    this.upstream = undefined;
    this.dropEntry();
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
  private readonly table = new TableJson(this.routes);

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

  /** Each route with its data (notes folded in), without building the table as one object as `getAll` does. */
  forEachRoute(visit: (path: string, data: RouteData) => void): void {
    for (const [path, route] of this.routes) visit(path, route.read());
  }

  /**
   * `JSON.stringify(getAll())`, UTF-8, from each route's JSON kept since it last changed: JupyterHub polls the
   * whole table, and between two polls most routes are idle; a route whose activity alone moved has its date
   * written into the JSON kept for it. A table in which nothing moved since the last poll answers with the same
   * bytes.
   */
  getAllJson(): Buffer {
    return this.table.json();
  }

  add(path: string, data: RouteData): void {
    const key = cleanRoutePath(path);
    const route = new StoredRoute(key, data, this.epoch, this.table);
    this.routes.get(key)?.dropEntry();
    this.routes.set(key, route);
    this.table.compactIfSparse();
    this.trie.add(key, route);
    if (events.routeChanged.active) events.routeChanged.publish({ path: key, target: data.target });
  }

  update(path: string, partial: Partial<RouteData>): void {
    this.routes.get(cleanRoutePath(path))?.update(partial);
    this.table.compactIfSparse();
  }

  remove(path: string): void {
    const key = cleanRoutePath(path);
    const route = this.routes.get(key);
    if (route === undefined) return;
    this.routes.delete(key);
    route.dropEntry();
    this.table.compactIfSparse();
    this.trie.remove(key);
    if (events.routeChanged.active) events.routeChanged.publish({ path: key });
  }
}
