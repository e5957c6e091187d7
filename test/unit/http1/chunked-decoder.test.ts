import t from "tap";
import { ChunkedDecoder, MAX_CHUNK_EXTENSION_BYTES } from "../../../src/http1/chunked-decoder.js";
import { MAX_HEADER_BYTES, UpstreamProtocolError } from "../../../src/http1/response-head.js";
import { Random } from "../../differential/random.js";

interface Decoded {
  payload: Buffer;
  /** Offset in the whole input just past the body's end, or -1. */
  end: number;
  pieces: Buffer[];
  done: boolean;
}

/** Feeds `input` cut at `cuts` (ascending offsets) and collects what comes out. */
function decode(input: Buffer, cuts: number[] = []): Decoded {
  const decoder = new ChunkedDecoder();
  const pieces: Buffer[] = [];
  let end = -1;
  let start = 0;
  for (const cut of [...cuts, input.length]) {
    if (cut <= start) continue;
    const at = decoder.push(input.subarray(start, cut), (piece) => pieces.push(piece));
    if (at !== -1) {
      end = start + at;
      break;
    }
    start = cut;
  }
  return { payload: Buffer.concat(pieces), end, pieces, done: decoder.done };
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

function chunked(pieces: string[], tail = "0\r\n\r\n"): string {
  return pieces.map((piece) => `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`).join("") + tail;
}

const payload = "Hello, chunked world! ".repeat(20);
const body = chunked(["Hello", ", chunked", payload, "!"]);
const expected = `Hello, chunked${payload}!`;

t.test("a body fed whole", async (t) => {
  const input = Buffer.from(body);
  const result = decode(input);
  t.equal(result.payload.toString(), expected);
  t.equal(result.end, input.length);
  t.equal(result.done, true);
});

t.test("a body fed byte by byte", async (t) => {
  const input = Buffer.from(body);
  const cuts = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
  const result = decode(input, cuts);
  t.equal(result.payload.toString(), expected);
  t.equal(result.end, input.length);
  t.ok(
    result.pieces.every((piece) => piece.length === 1),
    "each data byte comes out as soon as it arrives",
  );
});

t.test("a body cut at random points (seeded) decodes the same", async (t) => {
  const random = new Random(0x5eed);
  const trailing = "HTTP/1.1 200 OK\r\n";
  const input = Buffer.from(body + trailing);
  for (let round = 0; round < 300; round++) {
    const cuts = random.cuts(input.length, 12);
    const result = decode(input, cuts);
    if (result.payload.toString() !== expected || result.end !== body.length) {
      t.fail(
        `cuts ${JSON.stringify(cuts)}: end ${result.end}, payload ${JSON.stringify(result.payload.toString())}`,
      );
      return;
    }
  }
  t.pass("300 random splits gave the payload and the end offset");
});

t.test("bytes after the end are not consumed and the end offset points at them", async (t) => {
  const input = Buffer.from(`${chunked(["abc"])}HTTP/1.1 200 OK\r\n`);
  const decoder = new ChunkedDecoder();
  const pieces: Buffer[] = [];
  const end = decoder.push(input, (piece) => pieces.push(piece));
  t.equal(end, chunked(["abc"]).length);
  t.equal(input.subarray(end).toString(), "HTTP/1.1 200 OK\r\n");
  t.equal(Buffer.concat(pieces).toString(), "abc");

  // The end offset is relative to the last chunk pushed.
  const split = new ChunkedDecoder();
  t.equal(
    split.push(Buffer.from("3\r\nabc\r\n0\r"), () => undefined),
    -1,
  );
  t.equal(
    split.push(Buffer.from("\n\r\nXYZ"), () => undefined),
    3,
  );
});

t.test("an empty body is just the last chunk", async (t) => {
  const result = decode(Buffer.from("0\r\n\r\n"));
  t.equal(result.payload.length, 0);
  t.equal(result.end, 5);
  t.equal(result.pieces.length, 0, "nothing emitted");
});

t.test("incomplete input ends nothing", async (t) => {
  for (const partial of ["5\r\nab", "5\r\nabcde\r\n", "0\r\n", "0\r\nTrailer: x\r\n", "0\r\n\r"]) {
    const result = decode(Buffer.from(partial));
    t.equal(result.end, -1, JSON.stringify(partial));
    t.equal(result.done, false);
  }
});

t.test("upper and lower case hex sizes, and leading zeros", async (t) => {
  const data = "x".repeat(0xab);
  for (const size of ["ab", "AB", "aB", "00ab"]) {
    const result = decode(Buffer.from(`${size}\r\n${data}\r\n0\r\n\r\n`));
    t.equal(result.payload.length, 0xab, size);
  }
  const long = "y".repeat(0x1f0);
  t.equal(decode(Buffer.from(`1F0\r\n${long}\r\n0\r\n\r\n`)).payload.toString(), long);
});

t.test("chunk extensions are checked and ignored", async (t) => {
  const input = Buffer.from(
    '3;name=value\r\nabc\r\n2;quoted="a;b \\"c\\""\r\nde\r\n1;x;y=z\r\nf\r\n1;=\r\ng\r\n1;a=\r\nh\r\n1;;a\r\ni\r\n0;last\r\n\r\n',
  );
  const result = decode(input);
  t.equal(result.payload.toString(), "abcdefghi");
  t.equal(result.end, input.length);
});

// The chunk-extension defect: bare LF and control bytes were accepted, as was anything after `;`.
t.test("malformed chunk extensions are refused", async (t) => {
  for (const extension of [
    "; a",
    ";a ",
    ";a = b",
    ";a=b c",
    ";",
    ";a;",
    ';a="b',
    ';a="b"c',
    ";a=b=c",
    ";a\x01",
    ";a=\x7f",
    ';a="\x00"',
    ';a="\\\x01"',
    ";a\x80",
    ";a,b",
  ]) {
    const input = Buffer.from(`3${extension}\r\nabc\r\n0\r\n\r\n`, "latin1");
    t.type(
      caught(() => decode(input)),
      UpstreamProtocolError,
      JSON.stringify(extension),
    );
  }
  for (const line of ["3;a\nabc\r\n0\r\n\r\n", '3;a="b"\nabc\r\n0\r\n\r\n', "3;a=b\nabc\r\n0\r\n\r\n"])
    t.type(
      caught(() => decode(Buffer.from(line))),
      UpstreamProtocolError,
      `bare LF: ${JSON.stringify(line)}`,
    );
});

t.test("extensions are refused beyond MAX_CHUNK_EXTENSION_BYTES of names and values", async (t) => {
  const line = (bytes: number) =>
    Buffer.from(`1;${"n".repeat(100)}="${"v".repeat(bytes - 102)}"\r\nx\r\n0\r\n\r\n`);
  t.equal(decode(line(MAX_CHUNK_EXTENSION_BYTES)).payload.toString(), "x", "at the limit (quotes count)");
  t.type(
    caught(() => decode(line(MAX_CHUNK_EXTENSION_BYTES + 1))),
    UpstreamProtocolError,
    "one byte over",
  );
});

t.test("trailers are read and dropped", async (t) => {
  const input = Buffer.from("3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-Other: yes\r\n\r\nNEXT");
  const random = new Random(7);
  for (let round = 0; round < 50; round++) {
    const result = decode(input, random.cuts(input.length, 12));
    t.equal(result.payload.toString(), "abc");
    t.equal(result.end, input.length - 4);
  }
});

// The trailer defect: trailer lines took bare LF and control bytes.
t.test("trailers follow the header rules", async (t) => {
  const body = (trailers: string) => Buffer.from(`3\r\nabc\r\n0\r\n${trailers}\r\n`, "latin1");
  for (const ok of ["X: y\r\n", "X:\r\n", "X:  y \t\r\n", "Transfer-Encoding:\r\n", "X: \x80\xff\r\n"])
    t.equal(decode(body(ok)).payload.toString(), "abc", JSON.stringify(ok));
  for (const bad of [
    "X: y\n",
    "X: y\r",
    "X: a\x01b\r\n",
    "X: a\x7fb\r\n",
    "X : y\r\n",
    "X y: z\r\n",
    ": y\r\n",
    " X: y\r\n",
    "X\r\n",
    "X: y\r\n folded\r\n",
    "Content-Length: 3\r\n",
    "content-LENGTH: 3\r\n",
  ])
    t.type(
      caught(() => decode(body(bad))),
      UpstreamProtocolError,
      JSON.stringify(bad),
    );
  t.type(
    caught(() => decode(Buffer.from("0\r\n\r\r"))),
    UpstreamProtocolError,
    "CR CR at the end",
  );
});

t.test("trailers are refused at MAX_HEADER_BYTES of name and value bytes", async (t) => {
  const trailer = (bytes: number) => Buffer.from(`0\r\nT: ${"t".repeat(bytes - 1)}\r\n\r\n`);
  t.equal(decode(trailer(MAX_HEADER_BYTES - 1)).done, true, "one under the limit");
  t.type(
    caught(() => decode(trailer(MAX_HEADER_BYTES))),
    UpstreamProtocolError,
    "at the limit",
  );
});

t.test("payload pieces are views of the input, not copies", async (t) => {
  const input = Buffer.from(chunked(["first", "second"]));
  const result = decode(input);
  t.equal(result.pieces.length, 2);
  for (const piece of result.pieces) t.equal(piece.buffer, input.buffer, "same ArrayBuffer");
  t.equal(result.pieces[0].byteOffset, input.byteOffset + 3, "pointing at the data in place");
});

t.test("malformed framing throws UpstreamProtocolError", async (t) => {
  const cases: Record<string, string> = {
    "no size": "\r\nabc\r\n0\r\n\r\n",
    "non-hex size": "g\r\nabc\r\n0\r\n\r\n",
    "negative size": "-3\r\nabc\r\n0\r\n\r\n",
    "prefixed size": "0x3\r\nabc\r\n0\r\n\r\n",
    "extension without size": ";ext\r\nabc\r\n0\r\n\r\n",
    "size line without LF": "3\rabc\r\n0\r\n\r\n",
    "size line CR then another byte": "3\rXabc\r\n0\r\n\r\n",
    "bare LF after size": "3\nabc\r\n0\r\n\r\n",
    "data longer than size": "3\r\nabcd\r\n0\r\n\r\n",
    "data without CR": "3\r\nabc\n0\r\n\r\n",
    "data CR without LF": "3\r\nabc\rX0\r\n\r\n",
    "oversized size": "fffffffffffffffff\r\n",
    "blank after size": "3 \r\nabc\r\n0\r\n\r\n",
    "tab after size": "3\t\r\nabc\r\n0\r\n\r\n",
    "blank before size": " 3\r\nabc\r\n0\r\n\r\n",
    "size overflowing 64 bits": "10000000000000000\r\n",
  };
  for (const [name, text] of Object.entries(cases)) {
    const input = Buffer.from(text);
    t.type(
      caught(() => decode(input)),
      UpstreamProtocolError,
      `${name}, whole`,
    );
    const cuts = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
    t.type(
      caught(() => decode(input, cuts)),
      UpstreamProtocolError,
      `${name}, byte by byte`,
    );
  }
});

t.test("sizes up to 2^64 - 1 are read (such a chunk never ends); beyond, they are refused", async (t) => {
  const decoder = new ChunkedDecoder();
  let emitted = 0;
  t.equal(
    decoder.push(Buffer.from("ffffffffffffffff\r\nabc"), (piece) => (emitted += piece.length)),
    -1,
  );
  t.equal(emitted, 3);
  t.equal(
    decode(Buffer.from(`${"0".repeat(40)}3\r\nabc\r\n0\r\n\r\n`)).payload.toString(),
    "abc",
    "leading zeros",
  );
  t.type(
    caught(() => new ChunkedDecoder().push(Buffer.from("10000000000000000\r\n"), () => undefined)),
    UpstreamProtocolError,
  );
});
