import t from "tap";
import {
  headEnd,
  parseResponseHead,
  UpstreamProtocolError,
  type ResponseHead,
} from "../../../src/http1/response-head.js";

/** Parses `text` (CRLF line ends, blank line included) as the answer to `method`. */
function parse(text: string, method = "GET"): ResponseHead {
  const buffer = Buffer.from(text, "latin1");
  const end = headEnd(buffer);
  if (end === -1) throw new Error("test head has no blank line");
  return parseResponseHead(buffer, end, method);
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

t.test("headEnd finds the blank line, or -1 while the head is incomplete", async (t) => {
  t.equal(headEnd(Buffer.from("HTTP/1.1 200 OK\r\nA: b\r\n")), -1);
  t.equal(headEnd(Buffer.from("HTTP/1.1 200 OK\r\nA: b\r\n\r")), -1);
  const text = "HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";
  t.equal(headEnd(Buffer.from(text)), text.length - "body".length, "index just past CRLFCRLF");
});

t.test("status line forms", async (t) => {
  const ok = parse(head("HTTP/1.1 200 OK", "Content-Length: 0"));
  t.equal(ok.status, 200);
  t.equal(ok.statusMessage, "OK");

  const long = parse(head("HTTP/1.1 404 Not Found Here", "Content-Length: 0"));
  t.equal(long.statusMessage, "Not Found Here", "the reason keeps its spaces");

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

t.test("garbage status lines are protocol errors", async (t) => {
  for (const line of [
    "HTTP/2 200 OK",
    "HTTP/1.2 200 OK",
    "http/1.1 200 OK",
    "HTTP/1.1 20 OK",
    "HTTP/1.1 2000 OK",
    "HTTP/1.1 abc OK",
    "HTTP/1.1  200 OK",
    "HTTP/1.1 099 Low",
    "ICY 200 OK",
    "SSH-2.0-OpenSSH_9.6",
    "",
  ]) {
    t.type(
      caught(() => parse(head(line, "Content-Length: 0"))),
      UpstreamProtocolError,
      JSON.stringify(line),
    );
  }
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
// is obs-text, not OWS (RFC 9110 §5.5), so a value ending in the UTF-8 bytes of "à" (C3 A0) loses its last byte and
// reaches the client as broken UTF-8.
t.test("only SP and HTAB are trimmed: obs-text bytes at the edges stay", async (t) => {
  const raw = Buffer.concat([
    Buffer.from("HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=voil"),
    Buffer.from("à", "utf8"),
    Buffer.from("\r\nX-Nbsp: \xa0x\xa0\r\nContent-Length: 0\r\n\r\n", "latin1"),
  ]);
  const parsed = parseResponseHead(raw, headEnd(raw), "GET");
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
    "Na\u0000me: x",
    "Ná: x",
  ]) {
    t.type(
      caught(() => parse(head("HTTP/1.1 200 OK", line, "Content-Length: 0"))),
      UpstreamProtocolError,
      JSON.stringify(line),
    );
  }
});

t.test("Content-Length framing", async (t) => {
  t.same(parse(head("HTTP/1.1 200 OK", "Content-Length: 12")).framing, { kind: "length", length: 12 });
  t.same(parse(head("HTTP/1.1 200 OK", "Content-Length: 0")).framing, { kind: "length", length: 0 });
  t.same(
    parse(head("HTTP/1.1 200 OK", "Content-Length: 007")).framing,
    { kind: "length", length: 7 },
    "leading zeros are digits",
  );
  t.same(
    parse(head("HTTP/1.1 200 OK", "Content-Length: 5", "content-length: 5")).framing,
    { kind: "length", length: 5 },
    "repeated equal headers are fine",
  );
  t.same(
    parse(head("HTTP/1.1 200 OK", "Content-Length: 5, 5,5")).framing,
    { kind: "length", length: 5 },
    "a list of equal values is fine",
  );
  const ok = parse(head("HTTP/1.1 200 OK", "Content-Length: 5", "content-length: 5"));
  t.equal(ok.keepAlive, true);
  t.same(ok.headers, ["content-length", "5", "content-length", "5"], "both headers are passed on");
});

t.test("conflicting or non-digit Content-Length is a protocol error", async (t) => {
  const bad: string[][] = [
    ["Content-Length: 5", "Content-Length: 6"],
    ["Content-Length: 5, 6"],
    ["Content-Length: -1"],
    ["Content-Length: +5"],
    ["Content-Length: 5.0"],
    ["Content-Length: 0x10"],
    ["Content-Length: 1e3"],
    ["Content-Length: five"],
    ["Content-Length:"],
    ["Content-Length: 5,"],
    ["Content-Length: 5 5"],
    ["Content-Length: 99999999999999999999"],
  ];
  for (const lines of bad) {
    t.type(
      caught(() => parse(head("HTTP/1.1 200 OK", ...lines))),
      UpstreamProtocolError,
      JSON.stringify(lines),
    );
  }
});

t.test("Transfer-Encoding: chunked wins over Content-Length, which is dropped", async (t) => {
  const parsed = parse(
    head(
      "HTTP/1.1 200 OK",
      "Content-Length: 10",
      "Transfer-Encoding: chunked",
      "X-After: 1",
      "Content-Length: 10",
    ),
  );
  t.same(parsed.framing, { kind: "chunked" });
  t.equal(parsed.keepAlive, true);
  t.same(parsed.headers, ["transfer-encoding", "chunked", "x-after", "1"]);

  t.same(parse(head("HTTP/1.1 200 OK", "Transfer-Encoding: CHUNKED")).framing, { kind: "chunked" });
  t.same(
    parse(head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked")).framing,
    { kind: "chunked" },
    "chunked as the last coding",
  );
  t.same(
    parse(head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked")).framing,
    { kind: "chunked" },
    "codings listed over two headers",
  );
});

t.test("a Transfer-Encoding that does not end in chunked reads until close", async (t) => {
  for (const lines of [
    ["Transfer-Encoding: gzip"],
    ["Transfer-Encoding: chunked, gzip"],
    ["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"],
    ["Transfer-Encoding: gzip", "Content-Length: 4"],
  ]) {
    const parsed = parse(head("HTTP/1.1 200 OK", ...lines));
    t.same(parsed.framing, { kind: "close" }, JSON.stringify(lines));
    t.equal(parsed.keepAlive, false, "a close-delimited body ends the connection");
    t.notOk(parsed.headers.includes("content-length"), "the meaningless length is not passed on");
  }
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
    [["HTTP/1.1 200 OK", "Connection: keep-alive", "Content-Length: 0"], true],
    [["HTTP/1.0 200 OK", "Content-Length: 0"], false],
    [["HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 0"], true],
    [["HTTP/1.0 200 OK", "Connection: Keep-Alive", "Content-Length: 0"], true],
    [["HTTP/1.0 200 OK", "Connection: keep-alive"], false],
    [["HTTP/1.0 204 No Content", "Connection: keep-alive"], true],
    [["HTTP/1.1 200 OK", "Connection: close", "Connection: keep-alive", "Content-Length: 0"], false],
    [["HTTP/1.1 200 OK", "Connection: upgrade", "Content-Length: 0"], true],
  ];
  for (const [lines, keepAlive] of cases)
    t.equal(parse(head(...lines)).keepAlive, keepAlive, lines.join(" | "));
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
});

// Regression guard: on HTTP/1.0 a later `Connection: keep-alive` header once undid an earlier `Connection: close` (the
// keep-alive branch resets the flag). "close" in any Connection header means the upstream will close (RFC 9112
// §9.6), so the connection must not be reused.
t.test("HTTP/1.0: close in one Connection header wins over keep-alive in another", async (t) => {
  const parsed = parse(
    head("HTTP/1.0 200 OK", "Connection: close", "Connection: keep-alive", "Content-Length: 0"),
  );
  t.equal(parsed.keepAlive, false);
});
