import t, { type Test } from "tap";
import {
  MAX_HEADER_BYTES,
  parseResponseHead,
  UpstreamProtocolError,
  type ResponseHead,
} from "../../../src/http1/response-head.js";

// The rules below are llhttp's (Node's own HTTP client, strict); test/differential checks them against llhttp
// itself on generated responses. These tests name each rule, and each defect the old parser had.

/** Parses `text` (a whole head, blank line included) as the answer to `method`. */
function parse(text: string, method = "GET"): ResponseHead {
  return parseResponseHead(Buffer.from(text, "latin1"), method);
}

/** What `fn` throws, or undefined. */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function head(...lines: string[]): string {
  return `${lines.join("\r\n")}\r\n\r\n`;
}

function refused(t: Test, lines: string[], method = "GET"): void {
  t.type(
    caught(() => parse(head(...lines), method)),
    UpstreamProtocolError,
    JSON.stringify(lines),
  );
}

t.test("status line forms", async (t) => {
  const ok = parse(head("HTTP/1.1 200 OK", "Content-Length: 0"));
  t.equal(ok.status, 200);
  t.equal(ok.statusMessage, "OK");

  const long = parse(head("HTTP/1.1 404 Not Found Here", "Content-Length: 0"));
  t.equal(long.statusMessage, "Not Found Here", "the reason keeps its spaces");
  t.equal(parse(head("HTTP/1.1 200  OK ", "Content-Length: 0")).statusMessage, " OK ", "even at its edges");

  const bare = parse(head("HTTP/1.1 201", "Content-Length: 0"));
  t.equal(bare.status, 201);
  t.equal(bare.statusMessage, "", "no reason phrase");

  const emptyReason = parse(head("HTTP/1.1 202 ", "Content-Length: 0"));
  t.equal(emptyReason.status, 202);
  t.equal(emptyReason.statusMessage, "");

  const http10 = parse(head("HTTP/1.0 200 OK", "Content-Length: 3"));
  t.equal(http10.status, 200);
  t.equal(http10.keepAlive, false, "HTTP/1.0 closes unless asked otherwise");

  const noHeaders = parse(head("HTTP/1.1 204 No Content"));
  t.same(noHeaders.headers, []);
  t.same(noHeaders.framing, { kind: "none" });
});

t.test("what llhttp accepts in a status line is accepted", async (t) => {
  for (const [line, status] of [
    ["HTTP/1.1 099 Low", 99],
    ["HTTP/1.1 000 Zero", 0],
    ["HTTP/1.1 999 High", 999],
    ["HTTP/2.0 200 OK", 200],
    ["HTTP/0.9 200 OK", 200],
    ["RTSP/1.0 200 OK", 200],
    ["ICE/1.0 200 OK", 200],
  ] as const)
    t.equal(parse(head(line, "Content-Length: 0")).status, status, line);
  t.equal(
    parse("HTTP/1.1 200 OK\r\rContent-Length: 0\r\n\r\n").status,
    200,
    "a status line ending in CR CR (llhttp takes either byte after the CR)",
  );
  t.equal(
    parse("HTTP/1.1 200 O\x01K\x7f\r\nContent-Length: 0\r\n\r\n").statusMessage,
    "O\x01K\x7f",
    "control characters in the reason phrase (anything but CR and LF)",
  );
});

t.test("garbage status lines are protocol errors", async (t) => {
  for (const line of [
    "HTTP/2 200 OK",
    "HTTP/1.2 200 OK",
    "HTTP/3.0 200 OK",
    "http/1.1 200 OK",
    "HTTP/1.1 20 OK",
    "HTTP/1.1 2000 OK",
    "HTTP/1.1 abc OK",
    "HTTP/1.1  200 OK",
    "HTTP/1.1\t200 OK",
    "HTTP/1.1 200\tOK",
    "ICY 200 OK",
    "SSH-2.0-OpenSSH_9.6",
    "",
  ])
    refused(t, [line, "Content-Length: 0"]);
  t.type(
    caught(() => parse("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n")),
    UpstreamProtocolError,
    "bare LF",
  );
  t.type(
    caught(() => parse("HTTP/1.1 200 O\nK\r\nContent-Length: 0\r\n\r\n")),
    UpstreamProtocolError,
    "LF in reason",
  );
  t.match(
    caught(() => parse(head("HTTP/1.1 200 OK", "Bad Header"))),
    { code: "UPSTREAM_PROTOCOL" },
    "the error carries a code for the error metric",
  );
});

t.test("header names are lower-cased, order and duplicates kept, OWS trimmed", async (t) => {
  const parsed = parse(
    head(
      "HTTP/1.1 200 OK",
      "Content-Type: text/plain",
      "Set-Cookie: a=1",
      "X-Empty:",
      "x-Tabbed:\t \tvalue with  inner  spaces \t",
      "SET-COOKIE:b=2",
      "Content-Length: 2",
    ),
  );
  t.same(parsed.headers, [
    "content-type",
    "text/plain",
    "set-cookie",
    "a=1",
    "x-empty",
    "",
    "x-tabbed",
    "value with  inner  spaces",
    "set-cookie",
    "b=2",
    "content-length",
    "2",
  ]);
});

t.test("a header value keeps the colons after the first", async (t) => {
  const parsed = parse(
    head("HTTP/1.1 302 Found", "Location: http://127.0.0.1:9/x?a=b:c", "Content-Length: 0"),
  );
  t.same(parsed.headers.slice(0, 2), ["location", "http://127.0.0.1:9/x?a=b:c"]);
});

// Regression guard: values were once trimmed with String.prototype.trim, which also strips U+00A0. A latin1 decoded 0xA0 byte
// is obs-text (a byte ≥ 0x80 allowed in values), not optional whitespace (only SP and HTAB), so a value ending in the UTF-8 bytes of "à" (C3 A0) loses its last byte and
// reaches the client as broken UTF-8.
t.test("only SP and HTAB are trimmed: obs-text bytes at the edges stay", async (t) => {
  const raw = Buffer.concat([
    Buffer.from("HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=voil"),
    Buffer.from("à", "utf8"),
    Buffer.from("\r\nX-Nbsp: \xa0x\xa0\r\nContent-Length: 0\r\n\r\n", "latin1"),
  ]);
  const parsed = parseResponseHead(raw, "GET");
  t.equal(
    Buffer.from(parsed.headers[1], "latin1").toString("utf8"),
    "attachment; filename=voilà",
    "UTF-8 value intact after the latin1 round trip",
  );
  t.equal(parsed.headers[3], "\xa0x\xa0");
});

t.test("malformed header lines are protocol errors", async (t) => {
  for (const line of [
    "No colon here",
    "Bad Name: x",
    ": no name",
    " Folded: x",
    "\tFolded: x",
    "Name : x",
    "Name\t: x",
    "Na\u0000me: x",
    "Ná: x",
    "Na(me: x",
  ])
    refused(t, ["HTTP/1.1 200 OK", line, "Content-Length: 0"]);
  refused(t, ["HTTP/1.1 200 OK", "X-Long: a", " continued", "Content-Length: 0"]);
  refused(t, ["HTTP/1.1 200 OK", "X-Long:", "\tcontinued", "Content-Length: 0"]);
  t.type(
    caught(() => parse("HTTP/1.1 200 OK\r\nA: b\nContent-Length: 0\r\n\r\n")),
    UpstreamProtocolError,
  );
  t.type(
    caught(() => parse("HTTP/1.1 200 OK\r\nA: b\rContent-Length: 0\r\n\r\n")),
    UpstreamProtocolError,
  );
});

// The first defect: control characters in header values passed.
t.test("control characters and DEL in header values are refused; HTAB and obs-text are not", async (t) => {
  for (const byte of [0x00, 0x01, 0x08, 0x0b, 0x0c, 0x1b, 0x1f, 0x7f])
    refused(t, ["HTTP/1.1 200 OK", `X-Value: a${String.fromCharCode(byte)}b`, "Content-Length: 0"]);
  const parsed = parse(head("HTTP/1.1 200 OK", "X-Value: a\tb\x80\xff", "Content-Length: 0"));
  t.equal(parsed.headers[1], "a\tb\x80\xff");
});

t.test("Content-Length framing", async (t) => {
  t.same(parse(head("HTTP/1.1 200 OK", "Content-Length: 12")).framing, { kind: "length", length: 12 });
  t.same(parse(head("HTTP/1.1 200 OK", "Content-Length: 0")).framing, { kind: "length", length: 0 });
  t.same(
    parse(head("HTTP/1.1 200 OK", "Content-Length: 007")).framing,
    { kind: "length", length: 7 },
    "leading zeros are digits",
  );
  const spaced = parse(head("HTTP/1.1 200 OK", "Content-Length:\t 5  "));
  t.same(spaced.framing, { kind: "length", length: 5 }, "blanks before, spaces after");
  t.same(spaced.headers, ["content-length", "5"], "forwarded without them");
  t.same(
    parse(head("HTTP/1.1 200 OK", "Content-Length: 18446744073709551615"), "HEAD").headers,
    ["content-length", "18446744073709551615"],
    "up to 2^64 - 1",
  );
  // Up to 15 digits are read by a loop, longer values by the general rule: both give the same lengths.
  for (const digits of ["999999999999999", "1000000000000000", "000000000000012", "0000000000000012"])
    t.same(
      parse(head("HTTP/1.1 200 OK", `Content-Length: ${digits}`)).framing,
      { kind: "length", length: Number(digits) },
      `${digits.length} digits`,
    );
});

// The Content-Length defects: it was parsed with JavaScript's trim (NBSP, VT, FF accepted) and forwarded
// raw, and lists or repeated headers of equal values were accepted where llhttp refuses them.
t.test("Content-Length is digits and spaces only, once", async (t) => {
  const bad: string[][] = [
    ["Content-Length: 5", "Content-Length: 6"],
    ["Content-Length: 5", "content-length: 5"],
    ["Content-Length: 5, 5"],
    ["Content-Length: 5,5"],
    ["Content-Length: -1"],
    ["Content-Length: +5"],
    ["Content-Length: 5.0"],
    ["Content-Length: 0x10"],
    ["Content-Length: 1e3"],
    ["Content-Length: five"],
    ["Content-Length:"],
    ["Content-Length:  "],
    ["Content-Length: 5,"],
    ["Content-Length: 5 5"],
    ["Content-Length: 5\t"],
    ["Content-Length: \xa05"],
    ["Content-Length: 5\xa0"],
    ["Content-Length: \x0b5"],
    ["Content-Length: 5\x0c"],
    ["Content-Length: 18446744073709551616"],
    ["Content-Length: 99999999999999999999"],
  ];
  for (const lines of bad) refused(t, ["HTTP/1.1 200 OK", ...lines]);
});

// The TE + CL defect: the length was dropped and the connection kept; llhttp refuses the response.
t.test("Transfer-Encoding with Content-Length is refused, in either order", async (t) => {
  refused(t, ["HTTP/1.1 200 OK", "Content-Length: 10", "Transfer-Encoding: chunked"]);
  refused(t, ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Content-Length: 10"]);
  refused(t, ["HTTP/1.1 200 OK", "Transfer-Encoding: gzip", "Content-Length: 4"]);
  refused(t, ["HTTP/1.1 200 OK", "Content-Length: 4", "Transfer-Encoding:"]);
  refused(t, ["HTTP/1.1 204 No Content", "Content-Length: 0", "Transfer-Encoding: chunked"], "HEAD");
  // llhttp passes an empty Transfer-Encoding over when it comes first.
  t.same(parse(head("HTTP/1.1 200 OK", "Transfer-Encoding:", "Content-Length: 4")).framing, {
    kind: "length",
    length: 4,
  });
});

t.test("chunked is the last transfer coding", async (t) => {
  const chunked = [
    ["Transfer-Encoding: chunked"],
    ["Transfer-Encoding: CHUNKED"],
    ["Transfer-Encoding: chunked  "],
    ["Transfer-Encoding: \tchunked"],
    ["Transfer-Encoding: gzip, chunked"],
    ["Transfer-Encoding: gzip,\tchunked"],
    ["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"],
  ];
  for (const lines of chunked)
    t.same(parse(head("HTTP/1.1 200 OK", ...lines)).framing, { kind: "chunked" }, JSON.stringify(lines));
});

t.test("a Transfer-Encoding that does not end in chunked reads until close", async (t) => {
  for (const lines of [
    ["Transfer-Encoding: gzip"],
    ["Transfer-Encoding: identity"],
    ["Transfer-Encoding: chunked, gzip"],
    ["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"],
    ["Transfer-Encoding: chunked\t"],
    ["Transfer-Encoding: chunked,"],
    ["Transfer-Encoding: chunkedx"],
  ]) {
    const parsed = parse(head("HTTP/1.1 200 OK", ...lines));
    t.same(parsed.framing, { kind: "close" }, JSON.stringify(lines));
    t.equal(parsed.keepAlive, false, "a close-delimited body ends the connection");
  }
});

// The HTTP/1.0 + TE defect: the connection was kept. llhttp keeps it too when asked by keep-alive, which
// HTTP/1.1 forbids (an HTTP/1.0 hop may have framed the body differently): the one place the proxy is
// stricter than llhttp, and only about reuse.
t.test("an HTTP/1.0 response with Transfer-Encoding is read, then its connection closed", async (t) => {
  const parsed = parse(head("HTTP/1.0 200 OK", "Transfer-Encoding: chunked", "Connection: keep-alive"));
  t.same(parsed.framing, { kind: "chunked" });
  t.equal(parsed.keepAlive, false);
  t.equal(
    parse(head("HTTP/1.0 200 OK", "Content-Length: 0", "Connection: keep-alive")).keepAlive,
    true,
    "with a length it stays open",
  );
});

t.test("HEAD, 1xx, 204 and 304 have no body whatever the headers say", async (t) => {
  const headAnswer = parse(head("HTTP/1.1 200 OK", "Content-Length: 100"), "HEAD");
  t.same(headAnswer.framing, { kind: "none" });
  t.equal(headAnswer.keepAlive, true);
  t.same(headAnswer.headers, ["content-length", "100"], "the length a GET would get is still reported");

  t.same(parse(head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "HEAD").framing, { kind: "none" });
  t.same(parse(head("HTTP/1.1 100 Continue")).framing, { kind: "none" });
  t.same(parse(head("HTTP/1.1 103 Early Hints", "Link: </a.css>; rel=preload")).framing, { kind: "none" });
  t.same(parse(head("HTTP/1.1 204 No Content", "Content-Length: 5")).framing, { kind: "none" });
  const notModified = parse(head("HTTP/1.1 304 Not Modified", "Transfer-Encoding: chunked"));
  t.same(notModified.framing, { kind: "none" });
  t.equal(notModified.keepAlive, true, "no body means nothing to read until close");
});

t.test(
  "a HEAD answer without a length is not kept alive (llhttp decides before it knows the method)",
  async (t) => {
    const parsed = parse(head("HTTP/1.1 200 OK", "Content-Type: text/plain"), "HEAD");
    t.same(parsed.framing, { kind: "none" });
    t.equal(parsed.keepAlive, false);
  },
);

t.test("without a length, the body runs until the upstream closes", async (t) => {
  const parsed = parse(head("HTTP/1.1 200 OK", "Content-Type: text/plain"));
  t.same(parsed.framing, { kind: "close" });
  t.equal(parsed.keepAlive, false);
});

t.test("Connection and HTTP version decide keep-alive", async (t) => {
  const cases: [string[], boolean][] = [
    [["HTTP/1.1 200 OK", "Content-Length: 0"], true],
    [["HTTP/1.1 200 OK", "Connection: close", "Content-Length: 0"], false],
    [["HTTP/1.1 200 OK", "Connection: Close", "Content-Length: 0"], false],
    [["HTTP/1.1 200 OK", "Connection: keep-alive, close", "Content-Length: 0"], false],
    [["HTTP/1.1 200 OK", "Connection: x,\tclose ", "Content-Length: 0"], false],
    [["HTTP/1.1 200 OK", "Proxy-Connection: close", "Content-Length: 0"], false],
    [["HTTP/1.1 200 OK", "Connection: keep-alive", "Content-Length: 0"], true],
    [["HTTP/1.1 200 OK", "Connection: closed", "Content-Length: 0"], true],
    [["HTTP/1.1 200 OK", "Connection: close x", "Content-Length: 0"], true],
    [["HTTP/1.1 200 OK", "Connection: close\t", "Content-Length: 0"], true],
    [["HTTP/1.0 200 OK", "Content-Length: 0"], false],
    [["HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 0"], true],
    [["HTTP/1.0 200 OK", "Connection: Keep-Alive", "Content-Length: 0"], true],
    [["HTTP/1.0 200 OK", "Connection: keep-alive"], false],
    [["HTTP/1.0 204 No Content", "Connection: keep-alive"], true],
    [["HTTP/2.0 200 OK", "Content-Length: 0"], false],
    [["HTTP/1.1 200 OK", "Connection: close", "Connection: keep-alive", "Content-Length: 0"], false],
    [["HTTP/1.1 200 OK", "Connection: upgrade", "Content-Length: 0"], true],
  ];
  for (const [lines, keepAlive] of cases)
    t.equal(parse(head(...lines)).keepAlive, keepAlive, lines.join(" | "));
});

// llhttp reads `close` only in HTTP/1.1: for other versions the connection persists exactly when keep-alive is
// listed, whatever else is (the proxy once let `close` win there; it now follows llhttp, as Node's client does).
t.test("HTTP/1.0: keep-alive keeps the connection even next to close", async (t) => {
  for (const lines of [["Connection: close", "Connection: keep-alive"], ["Connection: keep-alive, close"]])
    t.equal(parse(head("HTTP/1.0 200 OK", ...lines, "Content-Length: 0")).keepAlive, true, lines.join(" | "));
});

t.test("Keep-Alive: timeout=N is a hint in ms", async (t) => {
  t.equal(
    parse(head("HTTP/1.1 200 OK", "Keep-Alive: timeout=5, max=100", "Content-Length: 0")).keepAliveTimeoutMs,
    5000,
  );
  t.equal(
    parse(head("HTTP/1.1 200 OK", "Keep-Alive: max=5, TIMEOUT=2", "Content-Length: 0")).keepAliveTimeoutMs,
    2000,
  );
  t.equal(
    parse(head("HTTP/1.1 200 OK", "Keep-Alive: max=5", "Content-Length: 0")).keepAliveTimeoutMs,
    undefined,
  );
  t.equal(parse(head("HTTP/1.1 200 OK", "Content-Length: 0")).keepAliveTimeoutMs, undefined);
  t.equal(
    parse(head("HTTP/1.1 200 OK", "Keep-Alive: timeout=x", "Content-Length: 0")).keepAliveTimeoutMs,
    undefined,
  );
  // The value as Node's servers write it is read without a regular expression; the same rule either way.
  const timeoutOf = (value: string) =>
    parse(head("HTTP/1.1 200 OK", `Keep-Alive: ${value}`, "Content-Length: 0")).keepAliveTimeoutMs;
  t.equal(timeoutOf("timeout=5"), 5000, "as Node writes it");
  t.equal(timeoutOf("timeout=007"), 7000, "leading zeros");
  t.equal(timeoutOf("timeout=, timeout=3"), 3000, "the first timeout=N with digits counts");
  t.equal(timeoutOf("timeout=4x"), 4000, "the digits before anything else");
  t.equal(
    timeoutOf("timeout=1234567890123456"),
    1234567890123456000,
    "more digits than the quick read takes",
  );
});

t.test("Connection: a lone option as servers write it, and lists", async (t) => {
  const keepAliveOf = (version: string, value: string) =>
    parse(head(`HTTP/${version} 200 OK`, `Connection: ${value}`, "Content-Length: 0")).keepAlive;
  t.equal(keepAliveOf("1.1", "close"), false);
  t.equal(keepAliveOf("1.1", "keep-alive"), true);
  t.equal(keepAliveOf("1.0", "keep-alive"), true);
  t.equal(keepAliveOf("1.0", "close"), false);
  t.equal(keepAliveOf("1.1", "CLOSE"), false, "any case");
  t.equal(keepAliveOf("1.0", "Keep-Alive"), true, "any case");
  t.equal(keepAliveOf("1.1", "close "), false, "spaces after the option");
  t.equal(keepAliveOf("1.1", "closed"), true, "another word is not the option");
  t.equal(keepAliveOf("1.0", "upgrade, keep-alive"), true, "in a list");
});

t.test(
  "a head is refused at MAX_HEADER_BYTES of status, name and value bytes, as Node counts them",
  async (t) => {
    // "OK" (2) + "Content-Length" (14) + "0" (1) + "X" (1): the filler value brings the count to the limit.
    const filled = (length: number, blanks = "") =>
      `HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX:${blanks}${"v".repeat(length)}\r\n\r\n`;
    const room = MAX_HEADER_BYTES - 18;
    t.equal(parse(filled(room - 1)).status, 200, "one byte under the limit");
    t.type(
      caught(() => parse(filled(room))),
      UpstreamProtocolError,
      "at the limit",
    );
    t.equal(parse(filled(room - 1, " \t ".repeat(100))).status, 200, "blanks before a value are not counted");
  },
);
