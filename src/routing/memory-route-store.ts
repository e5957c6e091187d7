import { randomUUID } from "node:crypto";
import { events } from "../events.js";
import { isoTime } from "../iso-time.js";
import type { UpstreamTarget } from "../http1/upstream-target.js";
import { FOLDED, NOT_NOTED, RouteCells } from "./route-cells.js";
import { TargetTable, type TableTarget } from "./target-table.js";
import { NO_VALUE, UrlTrie, pathSegments } from "./url-trie.js";
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
/** A new route's entry, not made yet (see TableJson.makeLater). */
const ENTRY_PENDING = -2;
/** A StoredRoute's number once it has left the table (removed, or replaced at its path). */
const NO_ROUTE = -1;

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

/**
 * The routes' activity notes: each a number of ms since an epoch shared by the store's routes, kept in the routes'
 * cells (see RouteCells), so that a request's note is one write, which the request does not wait for. A note that
 * does not fit (after ≈ 12 days, or when the clock steps back) folds every route's note into its data and starts a
 * new epoch.
 */
class NoteBook {
  start = Date.now();
  readonly cells = new RouteCells();
  /** The routes by number, for what a request does not need: their data, their prefix, their table entry. */
  readonly routes: (StoredRoute | undefined)[] = [];
  /** Whether a note was made since the table's JSON last listed the noted routes. */
  private noted = false;

  /**
   * A request's note on the route it matched (`stamp`: the cells' stamp at the lookup); nothing when the route has
   * left the table since. No read of the route's cells: which routes moved is found when the table's JSON is next
   * asked for (`listNoted`).
   */
  note(route: number, stamp: number, at: number): void {
    const { cells } = this;
    if (cells.closedSince(route, stamp)) return;
    let offset = at - this.start;
    if (offset < 0 || offset > MAX_NOTE_OFFSET) {
      this.restartAt(at);
      offset = 0;
    }
    // `| 0`: a small integer, where a subtraction's result would be stored as a heap number.
    cells.setNote(route, offset | 0);
    this.noted = true;
  }

  /** Lists every route noted since the last call as moved for the table's next answer (one pass over the cells). */
  listNoted(): void {
    if (!this.noted) return;
    this.noted = false;
    const { cells, routes } = this;
    for (let route = 0; route < routes.length; route++)
      if (cells.note(route) !== NOT_NOTED) routes[route]?.listMoved();
  }

  /** The route's newest note as a time, taken (it is then folded into the route's data); undefined when none. */
  take(route: number): number | undefined {
    const note = this.cells.note(route);
    if (note < 0) return undefined;
    this.cells.setNote(route, FOLDED);
    return this.start + note;
  }

  /** The table's JSON took the route's date: until the route's next note, it is not listed as moved again. */
  settle(route: number): void {
    if (this.cells.note(route) === FOLDED) this.cells.setNote(route, NOT_NOTED);
  }

  private restartAt(at: number): void {
    for (const route of this.routes) route?.read();
    this.start = at;
  }
}

/**
 * One added route: its data as JupyterHub posted it (notes folded in when read) and its entry of the table's JSON.
 * Requests reach it through a RouteHandle, which reads the trie's slot and writes the route's note, not this object.
 */
class StoredRoute implements TableEntryOwner {
  /** Whether the table lists this route's activity as moved since its last answer. */
  private moved = false;
  /**
   * Where `,"<prefix>":<the route's JSON>` starts in the table's memory, ENTRY_PENDING until it is first made, or
   * NO_ENTRY when it must be made again: the table's JSON is these bytes, copied, where strings would be encoded again
   * for every answer (≈ 4 ms per MB here).
   */
  private entryAt = ENTRY_PENDING;
  private entryLength = 0;
  /** Where the `last_activity` date's characters start in the entry, or NO_DATE when it is not a Date there. */
  private dateAt = NO_DATE;
  /** The time the entry shows as `last_activity`. */
  private entryTime = 0;
  private readonly key: string;
  /** Its number in the notes' cells while it is in the table; NO_ROUTE once removed or replaced. */
  number: number;

  constructor(
    readonly prefix: string,
    readonly data: RouteData,
    number: number,
    /** Its target's number in the store's targets (the trie's slot holds it too, for lookups). */
    public target: number,
    private readonly notes: NoteBook,
    private readonly table: TableJson,
  ) {
    this.number = number;
    this.key = `,${JSON.stringify(prefix)}:`;
    // Soon rather than at the first read: after JupyterHub re-adds every route, the next GET would do them all.
    table.makeLater(this);
  }

  /** Lists the route's date as moved for the table's next answer (once until then). */
  listMoved(): void {
    if (this.moved) return;
    this.moved = true;
    this.table.noteMoved(this);
  }

  /** The data with the newest note folded into `last_activity`; a note never moves it backwards. */
  read(): RouteData {
    const at = this.number === NO_ROUTE ? undefined : this.notes.take(this.number);
    if (at !== undefined) {
      const last = this.data.last_activity;
      if (!(last instanceof Date) || last.getTime() < at) this.data.last_activity = new Date(at);
    }
    return this.data;
  }

  refreshDate(): void {
    this.moved = false;
    const data = this.read();
    if (this.number !== NO_ROUTE) this.notes.settle(this.number);
    if (this.entryAt < 0) return;
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

  /** A route that left the table before its entry was made has dropped it (NO_ENTRY): only a pending one is made. */
  makeIfMissing(): void {
    if (this.entryAt === ENTRY_PENDING) this.makeEntry();
  }

  relocate(from: Buffer): void {
    if (this.entryAt < 0) this.makeEntry();
    else this.place(this.table.appendCopy(from, this.entryAt, this.entryAt + this.entryLength));
  }

  /**
   * The route left the table, or its data changed. A pending entry counts as a hole too: its replacement's entry
   * comes after those of routes added after it, and the next answer lays the entries out in the table's order.
   */
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
    this.dropEntry();
  }
}

/** The match a lookup returns: the route's number and what a request needs of it, as the trie's slot held them. */
class RouteHandle implements RouteMatch {
  /**
   * The path looked up (the route's prefix is its first `depth` segments) until the route object is first read, then
   * that object: a WebSocket relay names the prefix at the socket's opening and keeps the handle for the socket's
   * life, which then holds no string of the request's.
   */
  private known: StoredRoute | string;

  constructor(
    private readonly notes: NoteBook,
    private readonly number: number,
    /** The cells' stamp at the lookup: a note or a read after the route has left the table finds nothing. */
    private readonly stamp: number,
    readonly depth: number,
    private readonly target: TableTarget,
    path: string,
  ) {
    this.known = path;
  }

  /** The route at this handle's path while the route this handle matched is in the table, else the one it read. */
  private route(): StoredRoute | undefined {
    const live = this.notes.cells.closedSince(this.number, this.stamp)
      ? undefined
      : this.notes.routes[this.number];
    if (live !== undefined) this.known = live;
    return live ?? (typeof this.known === "string" ? undefined : this.known);
  }

  get prefix(): string {
    const route = this.route();
    return route === undefined ? prefixOf(this.known as string, this.depth) : route.prefix;
  }

  /** The route's data; for a route that left the table before it was read, what remains known of it: its target. */
  get data(): RouteData {
    return this.route()?.data ?? { target: this.target.url };
  }

  parsedTarget(): UpstreamTarget {
    return this.target.parsed();
  }

  noteActivity(at: number): void {
    this.notes.note(this.number, this.stamp, at);
  }
}

/** The first `depth` segments of `path` as a route path (`/a/b`; `/` for none), as the trie matched them. */
function prefixOf(path: string, depth: number): string {
  const segments = pathSegments(path);
  return `/${segments.slice(0, depth).join("/")}`;
}

/**
 * The embedded default: a Map for the API's view (insertion order) and a trie for lookups. The trie holds each
 * route's number and its target's number; a lookup reads those (and the route's depth, from the walk) and hands out
 * a small handle, so that a request reads one line of memory of its route whatever the size of the table, and its
 * activity note is one write into the route's cells (CHP's `last_activity` rules without a store write per chunk).
 *
 * A route replaced at the same path keeps its number: requests that matched it before note their activity on the
 * route now at that path, as CHP records activity by path.
 */
export class MemoryRouteStore implements RouteStore {
  readonly announcesChanges = true;
  private readonly routes = new Map<string, StoredRoute>();
  private readonly trie = new UrlTrie();
  private readonly notes = new NoteBook();
  private readonly targets = new TargetTable();
  private readonly table = new TableJson(this.routes, () => this.notes.listNoted());

  get size(): number {
    return this.routes.size;
  }

  /** Distinct targets of the routes: shared ones are parsed and held once. */
  get targetCount(): number {
    return this.targets.size;
  }

  get(path: string): RouteData | undefined {
    return this.routes.get(cleanRoutePath(path))?.read();
  }

  getTarget(path: string): RouteMatch | undefined {
    const { trie } = this;
    const number = trie.match(path);
    if (number === NO_VALUE) return undefined;
    return new RouteHandle(
      this.notes,
      number,
      this.notes.cells.stamp(),
      trie.matchedDepth,
      this.targets.at(trie.matchedTarget),
      path,
    );
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
    const { cells } = this.notes;
    const replaced = this.routes.get(key);
    let number: number;
    let target: number;
    if (replaced === undefined) {
      number = cells.open();
      target = this.targets.use(data.target).number;
    } else {
      number = replaced.number;
      replaced.number = NO_ROUTE;
      replaced.dropEntry();
      target = this.exchangeTarget(data.target, replaced.target);
      // The new route starts from its own `last_activity`: notes made before it are not folded into it.
      cells.setNote(number, NOT_NOTED);
    }
    this.trie.add(key, number, target);
    const route = new StoredRoute(key, data, number, target, this.notes, this.table);
    this.notes.routes[number] = route;
    this.routes.set(key, route);
    this.table.compactIfSparse();
    if (events.routeChanged.active) events.routeChanged.publish({ path: key, target: data.target });
  }

  update(path: string, partial: Partial<RouteData>): void {
    const route = this.routes.get(cleanRoutePath(path));
    if (route === undefined) return;
    if (partial.target !== undefined && partial.target !== route.data.target) {
      route.target = this.exchangeTarget(partial.target, route.target);
      this.trie.add(route.prefix, route.number, route.target);
    }
    route.update(partial);
    this.table.compactIfSparse();
  }

  /** The number of `url`'s target, taken before the old target is let go: they may be the same. */
  private exchangeTarget(url: string, old: number): number {
    const target = this.targets.use(url).number;
    this.targets.release(old);
    return target;
  }

  remove(path: string): void {
    const key = cleanRoutePath(path);
    const route = this.routes.get(key);
    if (route === undefined) return;
    this.routes.delete(key);
    const { number } = route;
    route.number = NO_ROUTE;
    this.targets.release(route.target);
    this.notes.cells.close(number);
    this.notes.routes[number] = undefined;
    route.dropEntry();
    this.table.compactIfSparse();
    this.trie.remove(key);
    if (events.routeChanged.active) events.routeChanged.publish({ path: key });
  }
}
