import t from "tap";
import { MAX_RAW_HEAD, ResponseHeadReader } from "../../../src/http1/response-head-reader.js";

const HEAD = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-A: b\r\n\r\n";

t.test("a head in one piece, the bytes after it kept apart", async (t) => {
  const read = new ResponseHeadReader("GET").push(Buffer.from(`${HEAD}body`));
  t.equal(read?.head.status, 200);
  t.equal(read?.raw.toString(), HEAD);
  t.equal(read?.rest.toString(), "body");
});

t.test("every split of the head gives the same answer", async (t) => {
  const bytes = Buffer.from(`${HEAD}body`);
  for (let cut = 1; cut < bytes.length; cut++) {
    const reader = new ResponseHeadReader("GET");
    const first = reader.push(bytes.subarray(0, cut));
    const read = first ?? reader.push(bytes.subarray(cut));
    t.equal(read?.raw.toString(), HEAD, `cut at ${cut}`);
    t.equal(
      first ? Buffer.concat([first.rest, bytes.subarray(cut)]).toString() : read?.rest.toString(),
      "body",
      `rest at ${cut}`,
    );
  }
});

t.test("byte by byte: the head is found at its blank line and not before", async (t) => {
  const reader = new ResponseHeadReader("GET");
  const bytes = Buffer.from(HEAD);
  for (let i = 0; i < bytes.length - 1; i++) t.equal(reader.push(bytes.subarray(i, i + 1)), undefined);
  t.equal(reader.partial, true);
  t.equal(reader.push(bytes.subarray(bytes.length - 1))?.head.headers[3], "b");
  t.equal(reader.partial, false, "starts afresh after a head");
});

t.test("CR LF CR followed by something else is not the end", async (t) => {
  const reader = new ResponseHeadReader("GET");
  t.equal(reader.push(Buffer.from("HTTP/1.1 204 No Content\r\nA: 1\r\n\r")), undefined);
  t.throws(
    () => reader.push(Buffer.from("B: 2\r\n\r\n")),
    /malformed|header/i,
    "a bare CR inside the head is refused",
  );
});

t.test("empty lines before the status line are skipped, as llhttp skips them", async (t) => {
  const bytes = Buffer.from(`\r\n\n\r${HEAD}body`);
  for (let cut = 0; cut < bytes.length; cut++) {
    const reader = new ResponseHeadReader("GET");
    const first = reader.push(bytes.subarray(0, cut));
    const read = first ?? reader.push(bytes.subarray(cut));
    t.equal(read?.raw.toString(), HEAD, `cut at ${cut}`);
  }
  const reader = new ResponseHeadReader("GET");
  t.equal(reader.push(Buffer.from("\r\n\r\n")), undefined, "only empty lines: no head yet");
  t.equal(reader.partial, false, "and nothing collected");
});

t.test("a status line ending in CR CR, with no header after it, ends at the next CR LF", async (t) => {
  // llhttp takes CR or LF after the status line's CR; then an empty line ends the head.
  const bytes = Buffer.from("HTTP/1.1 204 No Content\r\r\r\nnext");
  for (let cut = 1; cut < bytes.length; cut++) {
    const reader = new ResponseHeadReader("GET");
    const read = reader.push(bytes.subarray(0, cut)) ?? reader.push(bytes.subarray(cut));
    t.equal(read?.head.status, 204, `cut at ${cut}`);
    t.equal(read?.raw.length, bytes.length - "next".length);
  }
});

t.test("a status line's CR followed by anything but LF or CR is refused at once", async (t) => {
  t.throws(() => new ResponseHeadReader("GET").push(Buffer.from("HTTP/1.1 200 OK\rX")), /status line/);
});

t.test("pieces are copied: memory reused by the connection does not change the head", async (t) => {
  const reader = new ResponseHeadReader("GET");
  const memory = Buffer.from("HTTP/1.1 200 OK\r\n");
  reader.push(memory);
  memory.fill(0x78);
  t.equal(reader.push(Buffer.from("A: b\r\n\r\n"))?.raw.toString(), "HTTP/1.1 200 OK\r\nA: b\r\n\r\n");
});

t.test("a head larger than the limit is refused, split or not", async (t) => {
  const big = Buffer.alloc(MAX_RAW_HEAD + 10, 0x61);
  t.throws(() => new ResponseHeadReader("GET").push(big), /too large/);
  const reader = new ResponseHeadReader("GET");
  t.throws(() => {
    for (let i = 0; i < big.length; i += 1000) reader.push(big.subarray(i, i + 1000));
  }, /too large/);
});

t.test("a long head fed byte by byte costs linear time", async (t) => {
  // 60 KiB of headers one byte at a time: the quadratic search took about 0.3 s on a slow host, this is ~ms.
  const line = "X-Filler: " + "a".repeat(80) + "\r\n";
  const head = Buffer.from("HTTP/1.1 200 OK\r\n" + line.repeat(Math.floor(60_000 / line.length)) + "\r\n");
  const reader = new ResponseHeadReader("GET");
  let read;
  for (let i = 0; i < head.length; i++) read = reader.push(head.subarray(i, i + 1));
  t.equal(read?.head.status, 200);
  t.equal(read?.raw.length, head.length);
});
