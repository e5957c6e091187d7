/**
 * What a request writes of its route, for every route in one Int32Array, two numbers a route: its activity note and
 * when its number was last closed. A request reads its route's number, target and depth in the trie's slot and
 * touches nothing else of the route but this note, a write it does not wait for: under a load spread over 10,000
 * routes, each further read of per-route memory is a cold line of its own (the route object ≈ 1.5 % of a request's
 * cost at 10,000 routes against one; these cells, read at each lookup, ≈ 1 %).
 *
 * Route numbers are reused once a route is removed. A request that still holds the old number (a long-lived
 * WebSocket) must then note its activity nowhere rather than on the number's next route: it keeps the count of
 * closes at its lookup (`stamp`), and a number closed after that stamp is no longer its route. Only when some route
 * was closed since the stamp is the number's own close read.
 */

const INTS = 2;
const NOTE = 0;
const CLOSED_AT = 1;
const FIRST_CAPACITY = 64;

/** A route's note when no request has noted activity since the route's date was last brought up to date. */
export const NOT_NOTED = -1;
/** A route's note after its newest note was folded into its data, until the table's JSON took the new date. */
export const FOLDED = -2;

export class RouteCells {
  private cells = new Int32Array(FIRST_CAPACITY * INTS);
  private next = 0;
  private readonly free: number[] = [];
  /**
   * Closes so far, wrapping as an Int32: stamps are compared by difference, right while fewer than 2^31 closes lie
   * between them.
   */
  private closes = 0;

  /** A number for a new route. */
  open(): number {
    const reused = this.free.pop();
    const route = reused ?? this.grow();
    // A fresh number counts as closed just now: no stamp taken from here on sees it closed since.
    if (reused === undefined) this.cells[route * INTS + CLOSED_AT] = this.closes;
    this.cells[route * INTS + NOTE] = NOT_NOTED;
    return route;
  }

  /** The route left the table: requests that hold its number from before note nothing from now on. */
  close(route: number): void {
    this.closes = (this.closes + 1) | 0;
    this.cells[route * INTS + CLOSED_AT] = this.closes;
    this.cells[route * INTS + NOTE] = NOT_NOTED;
    this.free.push(route);
  }

  /** What a lookup keeps beside a route's number, for `closedSince`. */
  stamp(): number {
    return this.closes;
  }

  /** Whether `route`, open when `stamp` was taken, has been closed since. */
  closedSince(route: number, stamp: number): boolean {
    return stamp !== this.closes && ((this.cells[route * INTS + CLOSED_AT] - stamp) | 0) > 0;
  }

  note(route: number): number {
    return this.cells[route * INTS + NOTE];
  }

  setNote(route: number, note: number): void {
    this.cells[route * INTS + NOTE] = note;
  }

  private grow(): number {
    const route = this.next++;
    if (route * INTS >= this.cells.length) {
      const grown = new Int32Array(this.cells.length * 2);
      grown.set(this.cells);
      this.cells = grown;
    }
    return route;
  }
}
