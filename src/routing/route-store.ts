/** The routing table as JupyterHub sees it through the REST API (chp-compat-spec §2.4, §3.14). */

/** The JSON body JupyterHub posted, stored verbatim, plus `last_activity`. */
export interface RouteData {
  target: string;
  last_activity?: Date;
  [field: string]: unknown;
}

export interface RouteMatch {
  prefix: string;
  data: RouteData;
}

/**
 * A route store. The in-memory store answers synchronously; plugin stores (CHP's `--storage-backend` contract)
 * may return promises, so callers await every result.
 */
export interface RouteStore {
  get(path: string): RouteData | undefined | Promise<RouteData | undefined>;
  getTarget(path: string): RouteMatch | undefined | Promise<RouteMatch | undefined>;
  getAll(): Record<string, RouteData> | Promise<Record<string, RouteData>>;
  add(path: string, data: RouteData): void | Promise<void>;
  update(path: string, partial: Partial<RouteData>): void | Promise<void>;
  remove(path: string): void | Promise<void>;
}

/** CHP's `trimPrefix`: a leading `/`, and one trailing `/` stripped unless the path is `/`. */
export function cleanRoutePath(path: string): string {
  let clean = path.startsWith("/") ? path : `/${path}`;
  if (clean.length > 1 && clean.endsWith("/")) clean = clean.slice(0, -1);
  return clean;
}
