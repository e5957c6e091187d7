/**
 * Segment-wise prefix tree of route paths (CHP's URLTrie semantics): `/b/c` matches
 * `/b/c`, `/b/c/` and `/b/c/d` but not `/b/cd`; a lookup returns the data of the deepest node that holds any.
 * Branches live in a Map, so segments named `constructor` or `__proto__` are ordinary names (CHP's plain-object
 * branches made them route to the wrong place or crash).
 */

/** Leading and trailing slashes stripped, then split; `/` and `` give no segments. */
export function pathSegments(path: string): string[] {
  let start = 0;
  let end = path.length;
  while (start < end && path.charCodeAt(start) === 47) start++;
  while (end > start && path.charCodeAt(end - 1) === 47) end--;
  return start === end ? [] : path.slice(start, end).split("/");
}

interface TrieNode<T> {
  /** Made with the first child: most nodes are leaves (one per user's server), and lookups skip them faster. */
  branches: Map<string, TrieNode<T>> | undefined;
  data: T | undefined;
}

export class UrlTrie<T> {
  private readonly root: TrieNode<T> = { branches: undefined, data: undefined };
  private nodes = 0;

  /** Nodes below the root: lets route churn be checked for leftovers (removed routes must not hold memory). */
  get nodeCount(): number {
    return this.nodes;
  }

  add(path: string, data: T): void {
    let node = this.root;
    for (const segment of pathSegments(path)) {
      node.branches ??= new Map();
      let child = node.branches.get(segment);
      if (!child) {
        child = { branches: undefined, data: undefined };
        node.branches.set(segment, child);
        this.nodes++;
      }
      node = child;
    }
    node.data = data;
  }

  /** Removes the data at `path` and prunes branches left empty. */
  remove(path: string): void {
    const trail: TrieNode<T>[] = [this.root];
    const segments = pathSegments(path);
    for (const segment of segments) {
      const child = trail[trail.length - 1].branches?.get(segment);
      if (!child) return;
      trail.push(child);
    }
    trail[trail.length - 1].data = undefined;
    for (let i = trail.length - 1; i > 0; i--) {
      const node = trail[i];
      if (node.data !== undefined || node.branches !== undefined) break;
      const parent = trail[i - 1];
      parent.branches?.delete(segments[i - 1]);
      if (parent.branches?.size === 0) parent.branches = undefined;
      this.nodes--;
    }
  }

  /**
   * The data of the longest segment-wise prefix of `path` that holds any. Walks the path in place, one segment at
   * a time, and stops where the tree does: this runs for every proxied request.
   */
  match(path: string): T | undefined {
    let node = this.root;
    let best = node.data;
    let start = 0;
    let end = path.length;
    while (start < end && path.charCodeAt(start) === 47) start++;
    while (end > start && path.charCodeAt(end - 1) === 47) end--;
    while (start < end && node.branches !== undefined) {
      let stop = path.indexOf("/", start);
      if (stop === -1 || stop > end) stop = end;
      const child = node.branches.get(path.slice(start, stop));
      if (!child) break;
      node = child;
      if (node.data !== undefined) best = node.data;
      start = stop + 1;
    }
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
