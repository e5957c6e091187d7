import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

/**
 * Headers that describe one connection, not the message, so a proxy must not pass them on (HTTP's hop-by-hop
 * fields), plus `trailer` (CHP drops it too).
 */
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

/** The client's side of a request, as the forwarding headers tell it upstream. */
export class ClientInfo {
  constructor(
    readonly remoteAddress: string | undefined,
    readonly encrypted: boolean,
  ) {}

  /** The client of a request that came in on `socket` (TLS or not). */
  static of(socket: Socket): ClientInfo {
    return new ClientInfo(socket.remoteAddress, (socket as TLSSocket).encrypted === true);
  }
}

/**
 * A request's headers on their way upstream. A class, not a `{}` literal: one is made per proxied request, and V8
 * may move a literal's allocations to the old generation for good after a full collection under load (see the
 * note in listener/proxy-dispatcher.ts).
 */
export class OutgoingHeaders {
  [name: string]: string | string[] | undefined;
}

function append(existing: string | string[] | undefined, value: string): string {
  if (existing === undefined) return value;
  return `${Array.isArray(existing) ? existing.join(",") : existing},${value}`;
}

/** `X-Forwarded-For/Port/Proto[/Host]` appended as CHP's proxy library does it. */
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
 * What an upgrade request may not carry upstream: it has no body (so no framing headers), the proxy has
 * answered `Expect` itself, and proxy credentials are for this hop. `Connection` and `Upgrade` stay: the
 * handshake is passed on as it came.
 */
const NOT_FORWARDED_UPGRADE = new Set([
  "expect",
  "te",
  "trailer",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "content-length",
  "transfer-encoding",
]);

/**
 * Names a `Connection` header lists: the sender declares those headers hop-by-hop, so they go no further
 * (a proxy removes them with the Connection header itself). `close`, `keep-alive` and, for upgrades, `upgrade` are
 * options, not header names to drop.
 */
export function connectionListed(
  connection: string | string[] | undefined,
  keep?: string,
): Set<string> | undefined {
  if (connection === undefined || connection === "keep-alive" || connection === "close") return undefined;
  let listed: Set<string> | undefined;
  for (const part of (Array.isArray(connection) ? connection.join(",") : connection).split(",")) {
    const name = part.trim().toLowerCase();
    if (name === "" || name === "close" || name === "keep-alive" || name === keep) continue;
    (listed ??= new Set()).add(name);
  }
  return listed;
}

/** Client headers (real-IP and forwarding claims) that `--drop-client-forwarded` removes before adding ours. */
const CLIENT_FORWARDING_CLAIMS = ["x-real-ip", "x-scheme", "forwarded", "x-forwarded-host"];

export interface UpstreamHeaderOptions extends ForwardingOptions {
  /** Drop what clients claim about the original request (`X-Real-IP`, `X-Scheme`, `Forwarded`, `X-Forwarded-Host`). */
  dropClientForwarded?: boolean;
}

/**
 * The request headers to send upstream. An upgrade keeps its `Connection: Upgrade` and `Upgrade: websocket`;
 * everything a `Connection` header names, and every hop-by-hop header, stays here.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  client: ClientInfo,
  originHost: string,
  options: UpstreamHeaderOptions,
  websocket = false,
): OutgoingHeaders {
  const headers = new OutgoingHeaders();
  const excluded = websocket ? NOT_FORWARDED_UPGRADE : NOT_FORWARDED_REQUEST;
  const listed = connectionListed(incoming.connection, websocket ? "upgrade" : undefined);
  for (const name in incoming) {
    if (excluded.has(name) || listed?.has(name)) continue;
    headers[name] = incoming[name];
  }
  if (options.dropClientForwarded) for (const name of CLIENT_FORWARDING_CLAIMS) delete headers[name];
  if (options.xForward) addForwardedHeaders(headers, client, websocket);
  if (options.changeOrigin) headers.host = originHost;
  for (const [name, value] of options.customHeaders) headers[name] = value;
  return headers;
}
