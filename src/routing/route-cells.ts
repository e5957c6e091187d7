/**
 * What a proxied request reads and writes of its route, for every route in one Int32Array, four numbers a route:
 * its generation, its activity note, its target's number and its depth (segments in its path). A request reads the
 * route's number in the trie's slot, then these 16 bytes, and touches nothing else of the route: under a load spread
 * over 10,000 routes, each route object (its fields spread over one or two lines of memory, anywhere in the heap)
 * was a cold read of its own, ≈ 1.5 % of a request's cost measured at 10,000 routes against one.
 *
 * Route numbers are reused once a route is removed; its generation then moves on, so that a request still holding
 * the old number (a long-lived WebSocket) notes its activity nowhere rather than on the number's next route.
 */

const INTS = 4;
const GENERATION = 0;
const NOTE = 1;
const TARGET = 2;
const DEPTH = 3;
const FIRST_CAPACITY = 64;

/** A route's note when no request has noted activity since the route's date was last brought up to date. */
export const NOT_NOTED = -1;
/** A route's note after its newest note was folded into its data, until the table's JSON took the new date. */
export const FOLDED = -2;

export class RouteCells {
  private cells = new Int32Array(FIRST_CAPACITY * INTS);
  private next = 0;
  private readonly free: number[] = [];

  /** A number for a new route (a reused one has moved on a generation since its last route). */
  open(target: number, depth: number): number {
    const route = this.free.pop() ?? this.grow();
    const at = route * INTS;
    this.cells[at + NOTE] = NOT_NOTED;
    this.cells[at + TARGET] = target;
    this.cells[at + DEPTH] = depth;
    return route;
  }

  /** The route left the table: requests that still hold its number note nothing from now on. */
  close(route: number): void {
    const at = route * INTS;
    this.cells[at + GENERATION] = (this.cells[at + GENERATION] + 1) | 0;
    this.cells[at + NOTE] = NOT_NOTED;
    this.free.push(route);
  }

  generation(route: number): number {
    return this.cells[route * INTS + GENERATION];
  }

  note(route: number): number {
    return this.cells[route * INTS + NOTE];
  }

  setNote(route: number, note: number): void {
    this.cells[route * INTS + NOTE] = note;
  }

  target(route: number): number {
    return this.cells[route * INTS + TARGET];
  }

  setTarget(route: number, target: number): void {
    this.cells[route * INTS + TARGET] = target;
  }

  depth(route: number): number {
    return this.cells[route * INTS + DEPTH];
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
