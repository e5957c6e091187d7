/** A route as the table's JSON keeps it: its entry's bytes live in the table's memory. */
export interface TableEntryOwner {
  /** Writes a moved `last_activity` into the entry in place, or drops the entry when it must be made again. */
  refreshDate(): void;
  /** Appends the route's entry again during a rebuild: its kept bytes copied from `from`, or made anew. */
  relocate(from: Buffer): void;
  /** Appends the route's entry if it has none yet and is still in the table (see `makeLater`). */
  makeIfMissing(): void;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const EMPTY_TABLE = Buffer.from("{}");
const FIRST_CAPACITY = 16 * 1024;
/** Holes allowed beyond the number of routes before a table is laid out again without being asked for its JSON. */
const SPARSE_SLACK = 256;

/**
 * The route table's JSON as JupyterHub reads it (`GET /api/routes`), kept ready between polls. Every route's entry,
 * `,"<prefix>":<the route's JSON>` in UTF-8, lies end to end in one memory in the table's order, so that an answer
 * is one copy of it (the first comma becoming the opening brace) however many routes there are: building it from
 * ten thousand separate pieces cost 5-7 ms on the first poll after JupyterHub added them, a loop not yet compiled.
 *
 * Routes only ever appended keep the table's order (a Map's insertion order). An entry that must be made again (its
 * route was updated, replaced or removed) leaves a hole; the next answer first lays the entries out again in the
 * table's order. Routes whose activity moved are listed before an answer, and only those get their date written in
 * place.
 */
export class TableJson {
  /** The entries' memory; replaced when it grows, so owners keep offsets, never views. */
  bytes = Buffer.allocUnsafeSlow(FIRST_CAPACITY);
  private used = 0;
  private holes = 0;
  private changed = true;
  private readonly moved: TableEntryOwner[] = [];
  /** New routes whose entries are made once the turn that added them is over (see `makeLater`). */
  private unmade: TableEntryOwner[] = [];
  private answer = EMPTY_TABLE;

  /**
   * `listNoted` lists the routes whose activity was noted since its last call (`noteMoved` for each): the store's
   * notes are writes alone, so the table asks for them before an answer.
   */
  constructor(
    private readonly routes: Map<string, TableEntryOwner>,
    private readonly listNoted: () => void = () => undefined,
  ) {}

  /** Where the next entry's bytes will start (the end of the last one). */
  get end(): number {
    return this.used;
  }

  /** Appends an entry's text; returns where its bytes start. */
  append(entry: string): number {
    const length = Buffer.byteLength(entry);
    const at = this.reserve(length);
    this.bytes.write(entry, at, length, "utf8");
    return at;
  }

  /** Appends bytes copied from an earlier memory (a rebuild); returns where they start. */
  appendCopy(from: Buffer, start: number, end: number): number {
    const at = this.reserve(end - start);
    from.copy(this.bytes, at, start, end);
    return at;
  }

  /** An entry is no longer valid: its bytes are a hole until the next answer lays the table out again. */
  drop(): void {
    this.holes++;
    this.changed = true;
  }

  /**
   * A new route's entry is made after the event loop's current turn (in the order the routes came), or before the
   * next answer if that comes first: a route added through the API gets its 201 without waiting for its JSON (a
   * tenth of the call's CPU at 10,000 routes, on the answer's path), and its entry is ready for the next poll.
   */
  makeLater(route: TableEntryOwner): void {
    if (this.unmade.length === 0) setImmediate(this.makeUnmade);
    this.unmade.push(route);
  }

  private readonly makeUnmade = (): void => {
    const routes = this.unmade;
    this.unmade = [];
    for (const route of routes) route.makeIfMissing();
  };

  /** A route's activity moved: its date is written before the next answer (each route listed once until then). */
  noteMoved(route: TableEntryOwner): void {
    this.moved.push(route);
    this.changed = true;
  }

  /**
   * Lays the table out again when its holes outnumber its routes: a table nobody reads as JSON (a Redis replica's
   * copy, which reloads change by change) would otherwise keep every replaced or removed entry's bytes, and every
   * route listed as moved, for ever. Called by the store once the route map agrees with the entries.
   */
  compactIfSparse(): void {
    if (this.holes > this.routes.size + SPARSE_SLACK) this.catchUp();
  }

  /** The table's JSON; the same bytes while nothing changed, and never changed once handed out. */
  json(): Buffer {
    this.listNoted();
    if (this.unmade.length > 0) this.makeUnmade();
    if (!this.changed) return this.answer;
    this.catchUp();
    // After the catch-up, whose own appends and drops are in this answer.
    this.changed = false;
    if (this.used === 0) {
      this.answer = EMPTY_TABLE;
      return EMPTY_TABLE;
    }
    // A copy: dates are written in place later, while this answer may still be on its way to a client.
    const answer = Buffer.allocUnsafeSlow(this.used + 1);
    this.bytes.copy(answer, 0, 0, this.used);
    answer[0] = OPEN_BRACE;
    answer[this.used] = CLOSE_BRACE;
    this.answer = answer;
    return answer;
  }

  private reserve(length: number): number {
    const at = this.used;
    if (at + length > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, at + length));
      this.bytes.copy(grown, 0, 0, at);
      this.bytes = grown;
    }
    this.used = at + length;
    this.changed = true;
    return at;
  }

  /** Moved dates written, holes closed: the entries are then the table's JSON as it stands. */
  private catchUp(): void {
    for (const route of this.moved) route.refreshDate();
    this.moved.length = 0;
    if (this.holes > 0) this.rebuild();
  }

  private rebuild(): void {
    const from = this.bytes;
    this.bytes = Buffer.allocUnsafeSlow(Math.max(FIRST_CAPACITY, this.used));
    this.used = 0;
    this.holes = 0;
    for (const route of this.routes.values()) route.relocate(from);
  }
}
