import t from "tap";
import type { ResponseHead } from "../../../src/http1/response-head.js";
import { ResponseParser } from "../../../src/http1/response-parser.js";

interface Parsed {
  heads: ResponseHead[];
  pieces: Buffer[];
  /** Offset just past the response in the whole input, or -1. */
  end: number;
  error?: Error;
}

/** Feeds `text` (latin1) to a parser for `method`, cut at `cuts`. */
function parse(text: string | Buffer, method = "GET", cuts: number[] = []): Parsed {
  const input = typeof text === "string" ? Buffer.from(text, "latin1") : text;
  const parsed: Parsed = { heads: [], pieces: [], end: -1 };
  const parser = new ResponseParser(method, {
    onHead: (head) => parsed.heads.push(head),
    onData: (data) => parsed.pieces.push(data),
  });
  let start = 0;
  try {
    for (const cut of [...cuts, input.length]) {
      const at = parser.push(input.subarray(start, cut));
      if (at !== -1) {
        parsed.end = start + at;
        break;
      }
      start = cut;
    }
  } catch (error) {
    parsed.error = error as Error;
  }
  return parsed;
}

const body = (parsed: Parsed) => Buffer.concat(parsed.pieces).toString("latin1");

t.test("a length-delimited response: its end, and what follows it", async (t) => {
  const text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT";
  const whole = parse(text);
  t.equal(whole.heads.length, 1);
  t.equal(body(whole), "hello");
  t.equal(whole.end, text.length - 4, "the offset after the body: the rest belongs to no response");
  for (let cut = 1; cut < text.length; cut++) {
    const split = parse(text, "GET", [cut]);
    t.equal(body(split), "hello", `cut at ${cut}`);
    t.equal(split.end, text.length - 4);
  }
});

t.test("a chunked response ends after its trailers", async (t) => {
  const text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n";
  const parsed = parse(text);
  t.equal(body(parsed), "abc");
  t.equal(parsed.end, text.length);
});

t.test("no body: HEAD, 204, 304 and Content-Length 0 end with the head", async (t) => {
  for (const [text, method] of [
    ["HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD"],
    ["HTTP/1.1 204 No Content\r\n\r\n", "GET"],
    ["HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "GET"],
    ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET"],
  ]) {
    const parsed = parse(text, method);
    t.equal(parsed.end, text.length, text);
    t.equal(parsed.pieces.length, 0);
  }
});

t.test("a body delimited by the close goes on until end() says the close ended it", async (t) => {
  const parser = new ResponseParser("GET", { onHead: () => undefined, onData: () => undefined });
  t.equal(parser.push(Buffer.from("HTTP/1.1 200 OK\r\n\r\nsome")), -1);
  t.equal(parser.push(Buffer.from(" more")), -1);
  t.equal(parser.end(), true);
  const cut = new ResponseParser("GET", { onHead: () => undefined, onData: () => undefined });
  t.equal(cut.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsome")), -1);
  t.equal(cut.end(), false, "a length not reached: cut short");
});

t.test("informational heads are passed over, empty lines between them too", async (t) => {
  const text =
    "HTTP/1.1 100 Continue\r\n\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  for (let cut = 0; cut < text.length; cut += 7) {
    const parsed = parse(text, "GET", cut === 0 ? [] : [cut]);
    t.same(
      parsed.heads.map((head) => head.status),
      [200],
      `cut at ${cut}`,
    );
    t.equal(body(parsed), "ok");
  }
});

t.test("an informational head that does not keep the connection cannot be followed: refused", async (t) => {
  for (const informational of [
    "HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n",
    "HTTP/1.0 100 Continue\r\n\r\n",
  ]) {
    const parsed = parse(`${informational}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n`);
    t.match(parsed.error, { code: "UPSTREAM_PROTOCOL" }, informational);
    t.equal(parsed.heads.length, 0);
  }
});

t.test("a 101 is final: the parser stops after its head", async (t) => {
  const text =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x05hello";
  const parsed = parse(text);
  t.equal(parsed.heads[0]?.status, 101);
  t.equal(parsed.end, text.indexOf("\x81"), "what follows is another protocol");
});

t.test("body pieces are views of the pushed bytes", async (t) => {
  const input = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  const parsed = parse(input);
  t.equal(parsed.pieces.length, 1);
  t.equal(parsed.pieces[0].buffer, input.buffer, "same memory");
});
