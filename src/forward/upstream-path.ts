import type { UpstreamTarget } from "../http1/upstream-target.js";

export interface PathOptions {
  prependPath: boolean;
  includePrefix: boolean;
}

/**
 * The path+query sent upstream (CHP's proxy library's urlJoin): target path, then the request's path (minus the
 * matched prefix with `--no-include-prefix`, cut on a decoded segment boundary — CHP cut raw bytes,
 * so `/user/a%2Fb` lost part of a segment),
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
