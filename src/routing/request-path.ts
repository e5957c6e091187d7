/**
 * How a request URL is routed, as CHP does it: WHATWG parsing (dot-segments resolved, `\` → `/`,
 * absolute-form reduced to its path), then the pathname percent-decoded once, with `/<host>` in front in
 * host-routing mode.
 */
/** Made by a constructor, not a literal: one per proxied request (see the note in proxy-dispatcher.ts). */
export class RequestPath {
  constructor(
    /** Normalised but still encoded path + query: what goes upstream. */
    readonly outgoing: string,
    /** Decoded path the route table is searched with. */
    readonly routing: string,
  ) {}
}

/** Characters the URL parser leaves alone in a path (letters, digits, `-_~!$&'()*+,;=:@/`). */
const PLAIN_PATH_CHAR: boolean[] = Array.from({ length: 128 }, (_, c) =>
  /[A-Za-z0-9\-_~!$&'()*+,;=:@/]/.test(String.fromCharCode(c)),
);

/** Whether the character at `i` ends a path segment (`/`, `?`, or the end). */
function segmentEndsAt(url: string, i: number): boolean {
  const c = url.charCodeAt(i);
  return i >= url.length || c === 47 || c === 63;
}

/**
 * Fast path for the common case: a path the URL parser would return unchanged. A `.` is plain inside a name
 * (`notebook.ipynb`, `main.js`); a segment that is `.` or `..` is a dot-segment the parser resolves. `%` (encoded
 * dots), `\` and the like need the full WHATWG parse.
 */
function plainPathEnd(url: string): number {
  if (url.charCodeAt(0) !== 47 || url.charCodeAt(1) === 47) return -1;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */) return i;
    if (c === 46 /* . */) {
      if (url.charCodeAt(i - 1) !== 47) continue;
      if (segmentEndsAt(url, i + 1)) return -1;
      if (url.charCodeAt(i + 1) === 46 && segmentEndsAt(url, i + 2)) return -1;
      continue;
    }
    if (!PLAIN_PATH_CHAR[c]) return -1;
  }
  return url.length;
}

/**
 * The path of a request URL as the WHATWG parser leaves it (dot-segments resolved, still encoded); undefined when
 * it can't be parsed.
 */
export function requestPathname(rawUrl: string): string | undefined {
  const end = plainPathEnd(rawUrl);
  return end !== -1 ? plainPathname(rawUrl, end) : whatwgUrl(rawUrl)?.pathname;
}

/** The path of a URL whose path `plainPathEnd` took as it is, up to `end`. */
function plainPathname(rawUrl: string, end: number): string {
  return end === rawUrl.length ? rawUrl : rawUrl.slice(0, end);
}

/** The WHATWG parse of a request URL (its origin any); undefined when it can't be parsed. */
function whatwgUrl(rawUrl: string): URL | undefined {
  try {
    return new URL(rawUrl, "http://example.com");
  } catch {
    return undefined;
  }
}

/** Returns undefined for a URL that can't be parsed or has a malformed `%` escape. */
export function parseRequestPath(
  rawUrl: string,
  hostHeader: string | undefined,
  hostRouting: boolean,
): RequestPath | undefined {
  let pathname: string;
  let outgoing: string;
  const end = plainPathEnd(rawUrl);
  if (end !== -1) {
    pathname = plainPathname(rawUrl, end);
    outgoing = rawUrl;
  } else {
    const url = whatwgUrl(rawUrl);
    if (url === undefined) return undefined;
    pathname = url.pathname;
    outgoing = pathname + url.search;
  }
  let routing: string;
  try {
    routing = pathname.includes("%") ? decodeURIComponent(pathname) : pathname;
  } catch {
    return undefined;
  }
  if (hostRouting) routing = `/${routingHost(hostHeader)}${routing}`;
  return new RequestPath(outgoing, routing);
}

/**
 * Host header without the port, lower-cased (CHP did neither, so `Hub.Example:443` missed its route); IPv6 literals keep their brackets.
 * A request without Host routes under the empty host and so falls through to `/`.
 */
export function routingHost(hostHeader: string | undefined): string {
  if (!hostHeader) return "";
  const host = hostHeader.toLowerCase();
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    return close === -1 ? host : host.slice(0, close + 1);
  }
  const colon = host.indexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}
