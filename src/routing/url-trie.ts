/**
 * Segment-wise prefix tree of route paths (CHP's URLTrie semantics): `/b/c` matches
 * `/b/c`, `/b/c/` and `/b/c/d` but not `/b/cd`; a lookup returns the value of the deepest node that holds one. Values
 * are numbers (the route store's route numbers), each with a second number, its target (the route's target's
 * number), kept in the tables' own slots: a lookup learns both, and the route's depth, without reading anything else.
 * Branches live in a hash table of our own (see SegmentTable), so segments named `constructor` or `__proto__` are
 * ordinary names (CHP's plain-object branches made them route to the wrong place or crash).
 */
import { NO_VALUE, SegmentTable } from "./segment-table.js";

export { NO_VALUE };

/** Leading and trailing slashes stripped, then split; `/` and `` give no segments. */
export function pathSegments(path: string): string[] {
  let start = 0;
  let end = path.length;
  while (start < end && path.charCodeAt(start) === 47) start++;
  while (end > start && path.charCodeAt(end - 1) === 47) end--;
  return start === end ? [] : path.slice(start, end).split("/");
}

/** A node's children: per segment, the child's value and the child's own children. */
type Branches = SegmentTable<Branches>;

export class UrlTrie {
  private rootValue = NO_VALUE;
  private rootTarget = 0;
  /** Made with the first child: most nodes are leaves (one per user's server), and stay without a table. */
  private rootBranches: Branches | undefined = undefined;
  private nodes = 0;

  /** Nodes below the root: lets route churn be checked for leftovers (removed routes must not hold memory). */
  get nodeCount(): number {
    return this.nodes;
  }

  /** The target of the value the last `match` returned. */
  matchedTarget = 0;
  /** The depth (segments from the root) of the node whose value the last `match` returned. */
  matchedDepth = 0;

  /** Sets the value and its target (non-negative Int32s) at `path`. */
  add(path: string, value: number, target: number): void {
    const segments = pathSegments(path);
    if (segments.length === 0) {
      this.rootValue = value;
      this.rootTarget = target;
      return;
    }
    let branches = (this.rootBranches ??= new SegmentTable<Branches>());
    for (let i = 0; ; i++) {
      const segment = segments[i];
      let slot = branches.find(segment, 0, segment.length);
      if (slot === -1) {
        slot = branches.insert(segment);
        this.nodes++;
      }
      if (i === segments.length - 1) {
        branches.setValue(slot, value, target);
        return;
      }
      let below = branches.childrenAt(slot);
      if (below === undefined) {
        below = new SegmentTable<Branches>();
        branches.setChildren(slot, below);
      }
      branches = below;
    }
  }

  /** Removes the value at `path` and prunes branches left empty. */
  remove(path: string): void {
    const segments = pathSegments(path);
    if (segments.length === 0) {
      this.rootValue = NO_VALUE;
      return;
    }
    // The table and slot of each segment's node, root side first.
    const tables: Branches[] = [];
    const slots: number[] = [];
    let branches = this.rootBranches;
    for (const segment of segments) {
      if (branches === undefined) return;
      const slot = branches.find(segment, 0, segment.length);
      if (slot === -1) return;
      tables.push(branches);
      slots.push(slot);
      branches = branches.childrenAt(slot);
    }
    const last = tables.length - 1;
    tables[last].setValue(slots[last], NO_VALUE, 0);
    for (let i = last; i >= 0; i--) {
      const table = tables[i];
      if (table.valueAt(slots[i]) !== NO_VALUE || table.childrenAt(slots[i]) !== undefined) break;
      // Deleting may move other slots of this table, never those of the tables above it.
      table.delete(slots[i]);
      this.nodes--;
      if (table.size > 0) break;
      if (i === 0) this.rootBranches = undefined;
      else tables[i - 1].setChildren(slots[i - 1], undefined);
    }
  }

  /**
   * The value of the longest segment-wise prefix of `path` that holds one, or NO_VALUE; its target and depth are
   * left in `matchedTarget` and `matchedDepth`. Walks the path in place, one segment at a time, and stops where the
   * tree does: this runs for every proxied request.
   */
  match(path: string): number {
    let best = this.rootValue;
    let bestTarget = this.rootTarget;
    let bestDepth = 0;
    let depth = 0;
    let branches = this.rootBranches;
    let start = 0;
    let end = path.length;
    while (start < end && path.charCodeAt(start) === 47) start++;
    while (end > start && path.charCodeAt(end - 1) === 47) end--;
    while (start < end && branches !== undefined) {
      let stop = path.indexOf("/", start);
      if (stop === -1 || stop > end) stop = end;
      const slot = branches.find(path, start, stop);
      if (slot === -1) break;
      depth++;
      const value = branches.valueAt(slot);
      if (value !== NO_VALUE) {
        best = value;
        bestTarget = branches.targetAt(slot);
        bestDepth = depth;
      }
      branches = branches.childrenAt(slot);
      start = stop + 1;
    }
    this.matchedTarget = bestTarget;
    this.matchedDepth = bestDepth;
    return best;
  }
}

/** `pathSegments(path).length`, without building the array. */
export function segmentCount(path: string): number {
  let start = 0;
  let end = path.length;
  while (start < end && path.charCodeAt(start) === 47) start++;
  while (end > start && path.charCodeAt(end - 1) === 47) end--;
  if (start === end) return 0;
  let count = 1;
  for (let i = start; i < end; i++) if (path.charCodeAt(i) === 47) count++;
  return count;
}
