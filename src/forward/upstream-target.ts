/**
 * A route's `target` URL resolved to what a connection needs (chp-compat-spec §3.1 step 7, §3.12):
 * `http:`, `https:`, or `http+unix:` / `unix+http:` with a percent-encoded socket path as host.
 */
export interface UpstreamTarget {
  /** Pool key: one keep-alive pool per distinct origin or socket. */
  key: string;
  secure: boolean;
  hostname: string;
  port: number;
  /** Set for UNIX-socket targets. */
  socketPath?: string;
  /** Value for `Host` when `--change-origin` is on: host[:port], port only when not the scheme's default. */
  originHost: string;
  /** pathname + search of the target (prepended to the request path). */
  basePath: string;
  baseQuery: string;
}

const cache = new Map<string, UpstreamTarget>();
const CACHE_LIMIT = 10_000;

/** Throws an Error with a clear message for an unsupported or malformed target. */
export function parseUpstreamTarget(target: string): UpstreamTarget {
  const cached = cache.get(target);
  if (cached) return cached;
  const url = new URL(target);
  let parsed: UpstreamTarget;
  const pathname = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  const baseQuery = url.search.slice(1);
  if (url.protocol === "http+unix:" || url.protocol === "unix+http:") {
    const socketPath = decodeURIComponent(url.host);
    parsed = {
      key: `unix:${socketPath}`,
      secure: false,
      hostname: "localhost",
      port: 80,
      socketPath,
      originHost: "localhost",
      basePath: pathname,
      baseQuery,
    };
  } else if (url.protocol === "http:" || url.protocol === "https:") {
    const secure = url.protocol === "https:";
    const port = url.port ? Number(url.port) : secure ? 443 : 80;
    const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    parsed = {
      key: `${url.protocol}//${url.host}`,
      secure,
      hostname,
      port,
      originHost: url.host,
      basePath: pathname,
      baseQuery,
    };
  } else {
    throw new Error(`Unexpected protocol ${url.protocol}`);
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(target, parsed);
  return parsed;
}

export interface PathOptions {
  prependPath: boolean;
  includePrefix: boolean;
}

/**
 * The path+query sent upstream (http-proxy's urlJoin, §3.3): target path, then the request's path (minus the
 * matched prefix with `--no-include-prefix`, cut on a decoded segment boundary — CHP cut raw bytes, §6.3 #12),
 * queries joined with `&`, target's first.
 */
export function upstreamPath(
  target: UpstreamTarget,
  requestUrl: string,
  strippedSegments: number,
  options: PathOptions,
): string {
  const queryStart = requestUrl.indexOf("?");
  let path = queryStart === -1 ? requestUrl : requestUrl.slice(0, queryStart);
  const query = queryStart === -1 ? "" : requestUrl.slice(queryStart + 1);
  if (!options.includePrefix && strippedSegments > 0) path = dropLeadingSegments(path, strippedSegments);
  const base = options.prependPath ? target.basePath : "";
  let joined = base + (path.startsWith("/") || path === "" ? path : `/${path}`);
  if (joined === "") joined = "/";
  const fullQuery =
    options.prependPath && target.baseQuery
      ? query
        ? `${target.baseQuery}&${query}`
        : target.baseQuery
      : query;
  return fullQuery ? `${joined}?${fullQuery}` : joined;
}

/**
 * Drops `count` segments of the routing (decoded) path from the raw path. Routing decoded `%2F` into a separator,
 * so it ends a segment here too; a cut at one continues with a real `/`.
 */
function dropLeadingSegments(path: string, count: number): string {
  let index = 0;
  for (let seen = 0; seen < count; seen++) {
    for (let width = separatorAt(path, index); width > 0; width = separatorAt(path, index)) index += width;
    while (index < path.length && separatorAt(path, index) === 0) index++;
    if (index === path.length) return "";
  }
  return path.charCodeAt(index) === 47 ? path.slice(index) : `/${path.slice(index + 3)}`;
}

/** Length of the separator at `index`: 1 for `/`, 3 for `%2F` (either case), 0 for none. */
function separatorAt(path: string, index: number): number {
  const c = path.charCodeAt(index);
  if (c === 47) return 1;
  if (c === 37 && path.charCodeAt(index + 1) === 50 && (path.charCodeAt(index + 2) | 32) === 102) return 3;
  return 0;
}
