/** Options of a PendingMap. */
export interface PendingMapOptions {
  /** Most entries held; adding one more forgets the oldest. */
  max: number;
  /** ms after which an entry is forgotten (taken, it is no longer there). */
  ttlMs: number;
  /** The clock, in ms (tests pass their own). */
  now?: () => number;
}

/** An entry and when it was set: made by a constructor (see the note in http1/response-head.ts). */
class Pending<V> {
  constructor(
    readonly value: V,
    readonly at: number,
  ) {}
}

/**
 * Things waiting for their counterpart (an execute_request for its reply): set once, taken once, bounded, and
 * forgotten after a while. What `lru-cache` does for this use, without its cost here: deleting its last entry
 * clears every slot of its `max`-sized arrays, and a kernel socket that runs one cell at a time takes the only
 * pending request at every reply (measured: a sixth of the proxy's CPU on one kernel socket streaming at 20,000
 * messages/s). Held to lru-cache's behaviour for set/take/size by a differential test.
 */
export class PendingMap<V> {
  /** In the order they were set: the first is the oldest. */
  private readonly entries = new Map<string, Pending<V>>();
  private readonly max: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: PendingMapOptions) {
    this.max = options.max;
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? (() => performance.now());
  }

  /** Sets `key` (as the newest, if it was there already); the oldest entry goes beyond `max`. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, new Pending(value, this.now()));
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  /** The value set for `key`, forgotten now; undefined if it was never set, taken already, dropped or expired. */
  take(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    return this.now() - entry.at > this.ttlMs ? undefined : entry.value;
  }

  /** Entries held, expired ones not yet taken included (they go when taken or pushed out). */
  get size(): number {
    return this.entries.size;
  }
}
