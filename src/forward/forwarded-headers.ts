import type { IncomingHttpHeaders } from "node:http";

/** Headers that describe one hop and are never forwarded (RFC 9110 §7.6.1), plus `trailer` (CHP drops it too). */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export interface ForwardingOptions {
  xForward: boolean;
  changeOrigin: boolean;
  /** `--custom-header` pairs, applied last (they win over the client's headers). */
  customHeaders: ReadonlyArray<readonly [string, string]>;
}

export interface ClientInfo {
  remoteAddress: string | undefined;
  encrypted: boolean;
}

function append(existing: string | string[] | undefined, value: string): string {
  if (existing === undefined) return value;
  return `${Array.isArray(existing) ? existing.join(",") : existing},${value}`;
}

/** `X-Forwarded-For/Port/Proto[/Host]` as CHP appends them (chp-compat-spec §3.4). */
function addForwardedHeaders(
  headers: Record<string, string | string[] | undefined>,
  client: ClientInfo,
  websocket: boolean,
): void {
  const hostHeader = headers.host;
  const host = Array.isArray(hostHeader) ? hostHeader[0] : hostHeader;
  const portMatch = host ? /:(\d+)$/.exec(host) : null;
  const port = portMatch ? portMatch[1] : client.encrypted ? "443" : "80";
  const proto = websocket ? (client.encrypted ? "wss" : "ws") : client.encrypted ? "https" : "http";
  headers["x-forwarded-for"] = append(headers["x-forwarded-for"], client.remoteAddress ?? "");
  headers["x-forwarded-port"] = append(headers["x-forwarded-port"], port);
  headers["x-forwarded-proto"] = append(headers["x-forwarded-proto"], proto);
  if (!websocket && headers["x-forwarded-host"] === undefined) headers["x-forwarded-host"] = host ?? "";
}

/** Request headers that stay with this hop; `expect` too, as Node's server has already answered `100-continue`. */
const NOT_FORWARDED_REQUEST = new Set([...HOP_BY_HOP, "expect"]);

/**
 * The request headers to send upstream. An upgrade keeps its hop-by-hop headers (`Connection: Upgrade`,
 * `Upgrade: websocket`): the relay passes the handshake on as it came.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  client: ClientInfo,
  originHost: string,
  options: ForwardingOptions,
  websocket = false,
): Record<string, string | string[] | undefined> {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const name in incoming) {
    if (websocket || !NOT_FORWARDED_REQUEST.has(name)) headers[name] = incoming[name];
  }
  if (options.xForward) addForwardedHeaders(headers, client, websocket);
  if (options.changeOrigin) headers.host = originHost;
  for (const [name, value] of options.customHeaders) headers[name] = value;
  return headers;
}
