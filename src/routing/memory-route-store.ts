import { UrlTrie } from "./url-trie.js";
import { cleanRoutePath, type RouteData, type RouteMatch, type RouteStore } from "./route-store.js";

/** The embedded default: a Map for the API's view (insertion order) and a trie for lookups, sharing data objects. */
export class MemoryRouteStore implements RouteStore {
  private readonly routes = new Map<string, RouteData>();
  private readonly trie = new UrlTrie<RouteData>();

  get size(): number {
    return this.routes.size;
  }

  get(path: string): RouteData | undefined {
    return this.routes.get(cleanRoutePath(path));
  }

  getTarget(path: string): RouteMatch | undefined {
    return this.trie.match(path);
  }

  getAll(): Record<string, RouteData> {
    return Object.fromEntries(this.routes);
  }

  add(path: string, data: RouteData): void {
    const key = cleanRoutePath(path);
    this.routes.set(key, data);
    this.trie.add(key, data);
  }

  update(path: string, partial: Partial<RouteData>): void {
    const data = this.routes.get(cleanRoutePath(path));
    if (data) Object.assign(data, partial);
  }

  remove(path: string): void {
    const key = cleanRoutePath(path);
    if (this.routes.delete(key)) this.trie.remove(key);
  }
}
