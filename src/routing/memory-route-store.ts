import { UrlTrie } from "./url-trie.js";
import { cleanRoutePath, type RouteData, type RouteMatch, type RouteStore } from "./route-store.js";

/** One added route: what lookups return, and where requests note activity until the route is read. */
class StoredRoute implements RouteMatch {
  private notedAt = 0;

  constructor(
    readonly prefix: string,
    readonly data: RouteData,
  ) {}

  noteActivity(at: number): void {
    this.notedAt = at;
  }

  /** The data with the newest note folded into `last_activity`; a note never moves it backwards. */
  read(): RouteData {
    if (this.notedAt !== 0) {
      const last = this.data.last_activity;
      if (!(last instanceof Date) || last.getTime() < this.notedAt)
        this.data.last_activity = new Date(this.notedAt);
      this.notedAt = 0;
    }
    return this.data;
  }
}

/**
 * The embedded default: a Map for the API's view (insertion order) and a trie for lookups, both holding one
 * lasting object per route. Lookups allocate nothing, and a request's activity note is a field write on the
 * route it matched, whatever the size of the table (chp-compat-spec §3.9 without a store write per chunk).
 */
export class MemoryRouteStore implements RouteStore {
  private readonly routes = new Map<string, StoredRoute>();
  private readonly trie = new UrlTrie<StoredRoute>();

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

  add(path: string, data: RouteData): void {
    const key = cleanRoutePath(path);
    const route = new StoredRoute(key, data);
    this.routes.set(key, route);
    this.trie.add(key, route);
  }

  update(path: string, partial: Partial<RouteData>): void {
    const route = this.routes.get(cleanRoutePath(path));
    if (route) Object.assign(route.data, partial);
  }

  remove(path: string): void {
    const key = cleanRoutePath(path);
    if (this.routes.delete(key)) this.trie.remove(key);
  }
}
