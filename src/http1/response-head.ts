/** An upstream HTTP/1 response head, parsed (RFC 9112 §4–6). */
export interface ResponseHead {
  status: number;
  statusMessage: string;
  /** Flat name/value pairs in arrival order, names lower-cased (as `res.writeHead` takes an array). */
  headers: string[];
  /** How the body is delimited: a length, chunked, until the connection closes, or no body at all. */
  framing: BodyFraming;
  /** The connection may carry another request after this response. */
  keepAlive: boolean;
  /** `Keep-Alive: timeout=N` from the upstream, in ms. */
  keepAliveTimeoutMs?: number;
}

export type BodyFraming =
  { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" } | { kind: "none" };

/** Raised for anything that is not a well-formed HTTP/1 response head. */
export class UpstreamProtocolError extends Error {
  readonly code = "UPSTREAM_PROTOCOL";
}

const HEAD_END = Buffer.from("\r\n\r\n");
/** A response head larger than this is not an HTTP answer worth waiting for. */
export const MAX_RESPONSE_HEAD = 64 * 1024;

/** Index just past the blank line that ends the head, or -1 while it is incomplete. */
export function headEnd(buffer: Buffer): number {
  const at = buffer.indexOf(HEAD_END);
  return at === -1 ? -1 : at + HEAD_END.length;
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DIGITS = /^\d+$/;

/**
 * Parses `buffer[0, end)` (status line to blank line). `requestMethod` decides whether a body can follow (HEAD).
 * Throws UpstreamProtocolError for malformed heads, conflicting lengths and the like (request smuggling vectors).
 */
export function parseResponseHead(buffer: Buffer, end: number, requestMethod: string): ResponseHead {
  const lines = buffer.toString("latin1", 0, end - 4).split("\r\n");
  const statusLine = STATUS_LINE.exec(lines[0]);
  if (!statusLine) throw new UpstreamProtocolError("upstream answered without an HTTP status line");
  const http10 = statusLine[1] === "0";
  const status = Number(statusLine[2]);
  if (status < 100) throw new UpstreamProtocolError(`upstream answered with status ${status}`);

  const headers: string[] = [];
  let contentLength: number | undefined;
  let chunked = false;
  let transferEncoded = false;
  let sawClose = false;
  let sawKeepAlive = false;
  let keepAliveTimeoutMs: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    const rawName = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(rawName)) throw new UpstreamProtocolError("malformed header line in upstream response");
    const name = rawName.toLowerCase();
    const value = trimWhitespace(line.slice(colon + 1));
    switch (name) {
      case "content-length": {
        const length = parseContentLength(value);
        if (contentLength !== undefined && contentLength !== length)
          throw new UpstreamProtocolError("conflicting Content-Length in upstream response");
        contentLength = length;
        break;
      }
      case "transfer-encoding":
        transferEncoded = true;
        chunked = value.toLowerCase().split(",").pop()?.trim() === "chunked";
        break;
      case "connection": {
        const options = value.toLowerCase();
        if (options.includes("close")) sawClose = true;
        else if (options.includes("keep-alive")) sawKeepAlive = true;
        break;
      }
      case "keep-alive": {
        const timeout = /timeout=(\d+)/i.exec(value);
        if (timeout) keepAliveTimeoutMs = Number(timeout[1]) * 1000;
        break;
      }
    }
    headers.push(name, value);
  }

  let framing: BodyFraming;
  if (requestMethod === "HEAD" || status < 200 || status === 204 || status === 304)
    framing = { kind: "none" };
  else if (transferEncoded) framing = chunked ? { kind: "chunked" } : { kind: "close" };
  else if (contentLength !== undefined) framing = { kind: "length", length: contentLength };
  else framing = { kind: "close" };
  return {
    status,
    statusMessage: statusLine[3] ?? "",
    headers: transferEncoded ? withoutContentLength(headers) : headers,
    framing,
    // `close` in any Connection header wins; HTTP/1.0 keeps the connection only when asked to.
    keepAlive: !sawClose && (!http10 || sawKeepAlive) && framing.kind !== "close",
    keepAliveTimeoutMs,
  };
}

/** Optional whitespace is SP and HTAB only: after latin1 decoding, 0xA0 is a data byte, not a space. */
function trimWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** `5` or `5, 5` (a repeated identical value); anything else is a smuggling vector. */
function parseContentLength(value: string): number {
  if (DIGITS.test(value) && value.length < 16) return Number(value);
  const parts = value.split(",").map((part) => part.trim());
  if (!parts.every((part) => DIGITS.test(part) && part === parts[0]))
    throw new UpstreamProtocolError("invalid Content-Length in upstream response");
  const length = Number(parts[0]);
  if (!Number.isSafeInteger(length)) throw new UpstreamProtocolError("Content-Length too large");
  return length;
}

/** With Transfer-Encoding present the length header is meaningless and must not reach the client. */
function withoutContentLength(headers: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i] !== "content-length") kept.push(headers[i], headers[i + 1]);
  return kept;
}
