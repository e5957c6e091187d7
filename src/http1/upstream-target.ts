/**
 * A route's `target` URL resolved to what a connection needs, with CHP's target forms:
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
