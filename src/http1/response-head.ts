import { NOT_HEADER_VALUE, TOKEN } from "./http-chars.js";

/**
 * An upstream HTTP/1 response head, read as strictly as Node's own HTTP client reads it (llhttp without lenient
 * flags): what llhttp refuses is refused here, what it accepts is accepted with the same meaning.
 */
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

/*
 * Heads are made by constructors and shared constants, never by object literals: V8 may decide that a literal's
 * allocation site makes long-lived objects (it tenures the site) and then allocates every later object of that site
 * in the old generation. Per-response objects referenced from long-lived connections while the old generation was
 * being marked looked long-lived to it; at 10,000 routes (a large old generation, marked for long stretches) every
 * head then went straight to the old generation, and mark-compacts ran every second or two under load.
 */
const NO_BODY: BodyFraming = Object.freeze({ kind: "none" });
const CHUNKED: BodyFraming = Object.freeze({ kind: "chunked" });
const UNTIL_CLOSE: BodyFraming = Object.freeze({ kind: "close" });

class LengthFraming {
  readonly kind = "length";
  constructor(readonly length: number) {}
}

class ParsedResponseHead implements ResponseHead {
  constructor(
    readonly status: number,
    readonly statusMessage: string,
    readonly headers: string[],
    readonly framing: BodyFraming,
    readonly keepAlive: boolean,
    readonly keepAliveTimeoutMs: number | undefined,
  ) {}
}

/** Raised for anything that is not a well-formed HTTP/1 response. */
export class UpstreamProtocolError extends Error {
  readonly code = "UPSTREAM_PROTOCOL";
}

/**
 * Most bytes of status text, header names and header values one head (or one chunked body's trailers) may hold,
 * counted as Node counts them against its `--max-http-header-size`: blanks before a value, colons and line ends
 * are not counted. A head that reaches it is refused, as Node's client refuses it.
 */
export const MAX_HEADER_BYTES = 64 * 1024;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

const DOT = 46;
const DIGIT_0 = 48;
/** `Content-Length`: digits, then spaces (a tab there is refused); nothing else, not even a list. */
const CONTENT_LENGTH = /^(\d+) *$/;
/** The largest length llhttp can hold (2^64 - 1); beyond it the length overflows and is refused. */
const MAX_LENGTH_DIGITS = "18446744073709551615";
/** The last transfer coding is `chunked`, followed by spaces only (after a tab it is an unknown coding). */
const CHUNKED_LAST = /(?:^|,)[ \t]*chunked *$/i;
/** A `Connection` option that counts: alone between commas, only spaces after it. */
const CONNECTION_OPTION = /^[ \t]*(close|keep-alive|upgrade) *$/i;
const KEEP_ALIVE_TIMEOUT = /timeout=(\d+)/i;
const TIMEOUT_PARAMETER = "timeout=";

/** A status line as `readStatusLine` read it (an instance rather than a literal: one per proxied response). */
class StatusLine {
  constructor(
    readonly status: number,
    readonly statusMessage: string,
    readonly http11: boolean,
    /** Where the header lines start. */
    readonly end: number,
  ) {}
}

/**
 * `HTTP/x.y NNN reason` (llhttp also takes RTSP and ICE as the protocol) in one of the versions llhttp accepts
 * (0.9, 1.0, 1.1, 2.0). The status is any three digits; the reason is anything but CR and LF, control characters
 * included. The line ends in CR LF or, as llhttp accepts, CR CR. Read by hand: a regular expression's match array
 * and strings were a tenth of a small head's cost.
 */
function readStatusLine(text: string): StatusLine {
  const versionAt =
    text.startsWith("HTTP/") || text.startsWith("RTSP/") ? 5 : text.startsWith("ICE/") ? 4 : -1;
  const major = text.charCodeAt(versionAt) - DIGIT_0;
  const minor = text.charCodeAt(versionAt + 2) - DIGIT_0;
  const statusAt = versionAt + 4;
  if (
    versionAt === -1 ||
    !isDigit(major) ||
    text.charCodeAt(versionAt + 1) !== DOT ||
    !isDigit(minor) ||
    text.charCodeAt(versionAt + 3) !== SP ||
    !isDigit(text.charCodeAt(statusAt) - DIGIT_0) ||
    !isDigit(text.charCodeAt(statusAt + 1) - DIGIT_0) ||
    !isDigit(text.charCodeAt(statusAt + 2) - DIGIT_0)
  )
    throw new UpstreamProtocolError("upstream answered without an HTTP status line");
  let lineEnd = statusAt + 3;
  let statusMessage = "";
  if (text.charCodeAt(lineEnd) === SP) {
    const cr = text.indexOf("\r", lineEnd + 1);
    const lf = text.indexOf("\n", lineEnd + 1);
    if (cr !== -1 && (lf === -1 || lf > cr)) {
      statusMessage = text.slice(lineEnd + 1, cr);
      lineEnd = cr;
    }
  }
  const afterCr = text.charCodeAt(lineEnd + 1);
  if (text.charCodeAt(lineEnd) !== CR || (afterCr !== LF && afterCr !== CR))
    throw new UpstreamProtocolError("upstream answered without an HTTP status line");
  const http11 = major === 1 && minor === 1;
  if (!(
    http11 ||
    (major === 0 && minor === 9) ||
    (major === 1 && minor === 0) ||
    (major === 2 && minor === 0)
  ))
    throw new UpstreamProtocolError(`upstream answered in HTTP/${major}.${minor}`);
  const status =
    100 * (text.charCodeAt(statusAt) - DIGIT_0) +
    10 * (text.charCodeAt(statusAt + 1) - DIGIT_0) +
    (text.charCodeAt(statusAt + 2) - DIGIT_0);
  return new StatusLine(status, statusMessage, http11, lineEnd + 2);
}

/**
 * Parses one head (status line to blank line, as ResponseHeadReader delimits it) received in answer to
 * `requestMethod`. Throws UpstreamProtocolError for anything llhttp refuses: malformed lines, forbidden characters,
 * obsolete line folding, Content-Length that is not plain digits or appears twice, Transfer-Encoding together with
 * Content-Length (a request smuggling vector), heads over MAX_HEADER_BYTES.
 */
export function parseResponseHead(raw: Buffer, requestMethod: string): ResponseHead {
  const text = raw.toString("latin1");
  const { status, statusMessage, http11, end: statusLineEnd } = readStatusLine(text);

  const headers: string[] = [];
  let counted = statusMessage.length;
  let contentLength: number | undefined;
  let transferEncoded = false;
  let transferEncodingHeader = false;
  let chunked = false;
  let close = false;
  let keepAliveOption = false;
  let keepAliveTimeoutMs: number | undefined;
  let at = statusLineEnd;
  for (;;) {
    if (text.charCodeAt(at) === CR) {
      if (text.charCodeAt(at + 1) !== LF || at + 2 !== text.length)
        throw new UpstreamProtocolError("malformed end of the upstream response head");
      break;
    }
    // A token, a colon, then visible characters, blanks and obs-text up to CR LF.
    let i = at;
    while (TOKEN[text.charCodeAt(i)] === 1) i++;
    if (i === at || text.charCodeAt(i) !== COLON)
      throw new UpstreamProtocolError("malformed header line in upstream response");
    const name = text.slice(at, i).toLowerCase();
    i++;
    while (text.charCodeAt(i) === SP || text.charCodeAt(i) === HTAB) i++;
    // The value from its first byte that is not a blank to the CR, trailing blanks included.
    const valueEnd = text.indexOf("\r", i);
    const span = text.slice(i, valueEnd);
    if (valueEnd === -1 || text.charCodeAt(valueEnd + 1) !== LF || NOT_HEADER_VALUE.test(span))
      throw new UpstreamProtocolError("forbidden character in upstream header value");
    // A line starting with a blank would continue this one (obsolete line folding): refused.
    const next = valueEnd + 2;
    if (text.charCodeAt(next) === SP || text.charCodeAt(next) === HTAB)
      throw new UpstreamProtocolError("folded header line in upstream response");
    counted += name.length + span.length;
    switch (name) {
      case "content-length":
        if (transferEncoded)
          throw new UpstreamProtocolError("upstream sent Content-Length with Transfer-Encoding");
        if (contentLength !== undefined)
          throw new UpstreamProtocolError("upstream sent Content-Length twice");
        contentLength = parseContentLength(span);
        break;
      case "transfer-encoding":
        if (contentLength !== undefined)
          throw new UpstreamProtocolError("upstream sent Transfer-Encoding with Content-Length");
        transferEncodingHeader = true;
        // llhttp passes an empty Transfer-Encoding over; each non-empty one replaces what the codings before said.
        if (span !== "") {
          transferEncoded = true;
          chunked = CHUNKED_LAST.test(span);
        }
        break;
      case "connection":
      case "proxy-connection":
        // Nearly every answer's is one of the two options alone, as Node's and Tornado's servers write them.
        if (span === "keep-alive") keepAliveOption = true;
        else if (span === "close") close = true;
        else
          for (const option of span.split(",")) {
            const known = CONNECTION_OPTION.exec(option)?.[1].toLowerCase();
            if (known === "close") close = true;
            else if (known === "keep-alive") keepAliveOption = true;
          }
        break;
      case "keep-alive": {
        const seconds = keepAliveSeconds(span);
        if (seconds !== -1) keepAliveTimeoutMs = seconds * 1000;
        break;
      }
    }
    headers.push(name, trimEnd(span));
    at = next;
  }
  if (counted >= MAX_HEADER_BYTES) throw new UpstreamProtocolError("upstream response head too large");

  const informational = status >= 100 && status < 200;
  // Whether the body would run until the connection closes were the request not HEAD: llhttp decides keep-alive
  // before it is told the method.
  const untilClose =
    !informational &&
    status !== 204 &&
    status !== 304 &&
    (transferEncoded ? !chunked : contentLength === undefined);
  let framing: BodyFraming;
  if (requestMethod === "HEAD" || informational || status === 204 || status === 304) framing = NO_BODY;
  else if (chunked) framing = CHUNKED;
  else if (untilClose) framing = UNTIL_CLOSE;
  else framing = new LengthFraming(contentLength ?? 0);

  // HTTP/1.1 keeps the connection unless `close` is listed; other versions only when `keep-alive` is (then llhttp
  // ignores a `close` next to it). A body that ends with the connection ends it.
  let keepAlive = (http11 ? !close : keepAliveOption) && !untilClose;
  // The one place the proxy is stricter than llhttp: an HTTP/1.0 message with Transfer-Encoding may have been
  // framed differently by an HTTP/1.0 hop (HTTP/1.0 has no chunked coding), so the connection is closed after it;
  // llhttp keeps it when asked to. Informational heads carry no body, and for them llhttp's verdict stands.
  if (transferEncodingHeader && !http11 && !informational) keepAlive = false;
  return new ParsedResponseHead(status, statusMessage, headers, framing, keepAlive, keepAliveTimeoutMs);
}

function isDigit(value: number): boolean {
  return value >= 0 && value <= 9;
}

/** Optional whitespace at the end of a value is SP and HTAB only: after latin1 decoding, 0xA0 is a data byte. */
function trimEnd(value: string): string {
  let end = value.length;
  while (end > 0 && (value.charCodeAt(end - 1) === SP || value.charCodeAt(end - 1) === HTAB)) end--;
  return end === value.length ? value : value.slice(0, end);
}

/**
 * Digits, at most 2^64 - 1 (a length beyond 2^53 cannot be reached anyway: its body never ends). Empty values,
 * signs, lists (even `5, 5`), tabs and any other character are refused.
 */
function parseContentLength(value: string): number {
  // Nearly every answer's: a few plain digits, exact as a double, read without a match array and its strings.
  const plain = shortDigits(value);
  if (plain !== -1) return plain;
  const match = CONTENT_LENGTH.exec(value);
  if (!match) throw new UpstreamProtocolError("invalid Content-Length in upstream response");
  const digits = match[1].replace(/^0+(?=\d)/, "");
  if (
    digits.length > MAX_LENGTH_DIGITS.length ||
    (digits.length === MAX_LENGTH_DIGITS.length && digits > MAX_LENGTH_DIGITS)
  )
    throw new UpstreamProtocolError("Content-Length too large");
  return Number(digits);
}

/** The first `timeout=N` in a Keep-Alive value (any case, anywhere), in seconds; -1 when there is none. */
function keepAliveSeconds(value: string): number {
  // As Node's servers write it: `timeout=5`, read without a match array and its strings.
  if (value.startsWith(TIMEOUT_PARAMETER)) {
    const seconds = shortDigits(value.slice(TIMEOUT_PARAMETER.length));
    if (seconds !== -1) return seconds;
  }
  const timeout = KEEP_ALIVE_TIMEOUT.exec(value);
  return timeout ? Number(timeout[1]) : -1;
}

/** The value of 1 to 15 decimal digits (below 2^53, so exact), or -1 for anything else. */
function shortDigits(value: string): number {
  if (value.length === 0 || value.length > 15) return -1;
  let number = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - DIGIT_0;
    if (!isDigit(digit)) return -1;
    number = number * 10 + digit;
  }
  return number;
}
