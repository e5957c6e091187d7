import t from "tap";
import { FrameParser, type DataOpcode } from "../../../src/websocket/frame-parser.js";
import { MemoryBudget } from "../../../src/websocket/memory-budget.js";
import {
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  encodeFrame,
  randomBytesFrom,
  seededRandom,
  splitRandomly,
} from "../../support/frame-builder.js";

interface Received {
  opcode: DataOpcode;
  payload: Buffer;
}

function collector(options: ConstructorParameters<typeof FrameParser>[1] = {}) {
  const received: Received[] = [];
  // Copies, because the parser may hand out views of the pushed chunk.
  const parser = new FrameParser(
    (opcode, payload) => received.push({ opcode, payload: Buffer.from(payload) }),
    options,
  );
  return { parser, received };
}

const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

t.test("every length form, masked and unmasked", async (t) => {
  for (const size of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    for (const maskKey of [undefined, KEY]) {
      const payload = randomBytesFrom(seededRandom(size), size);
      const frame = encodeFrame({ opcode: OP_BINARY, payload, maskKey });
      const expectedCode = size < 126 ? size : size < 65536 ? 126 : 127;
      t.equal(frame[1]! & 0x7f, expectedCode, `length code for ${size}`);
      const { parser, received } = collector();
      const copy = Buffer.from(frame);
      parser.push(frame);
      t.equal(received.length, 1, `one message of ${size} bytes (masked: ${Boolean(maskKey)})`);
      t.equal(received[0]!.opcode, 2);
      t.ok(received[0]!.payload.equals(payload), "payload restored");
      t.ok(frame.equals(copy), "input not modified");
      t.equal(parser.gaveUp, undefined);
    }
  }
});

t.test("text and binary opcodes are reported as sent", async (t) => {
  const { parser, received } = collector();
  parser.push(
    Buffer.concat([
      encodeFrame({ opcode: OP_TEXT, payload: Buffer.from("{}"), maskKey: KEY }),
      encodeFrame({ opcode: OP_BINARY, payload: Buffer.from([1, 2, 3]) }),
    ]),
  );
  t.same(
    received.map((r) => r.opcode),
    [1, 2],
  );
  t.equal(received[0]!.payload.toString(), "{}");
});

t.test("fragmented message with control frames between the fragments", async (t) => {
  const text = "問題１ fragmented ".repeat(50);
  const bytes = Buffer.from(text);
  const a = bytes.subarray(0, 100);
  const b = bytes.subarray(100, 400);
  const c = bytes.subarray(400);
  const stream = Buffer.concat([
    encodeFrame({ opcode: OP_TEXT, fin: false, payload: a, maskKey: KEY }),
    encodeFrame({ opcode: OP_PING, payload: Buffer.from("hi"), maskKey: KEY }),
    encodeFrame({ opcode: OP_CONTINUATION, fin: false, payload: b, maskKey: Buffer.from([1, 2, 3, 4]) }),
    encodeFrame({ opcode: OP_PONG, payload: Buffer.alloc(0), maskKey: KEY }),
    encodeFrame({ opcode: OP_PING, payload: Buffer.from("again"), maskKey: KEY }),
    encodeFrame({ opcode: OP_CONTINUATION, fin: true, payload: c, maskKey: KEY }),
    encodeFrame({ opcode: OP_BINARY, payload: Buffer.from("next"), maskKey: KEY }),
  ]);
  const { parser, received } = collector();
  parser.push(stream);
  t.equal(received.length, 2);
  t.equal(received[0]!.opcode, 1);
  t.equal(received[0]!.payload.toString(), text);
  t.equal(received[1]!.payload.toString(), "next");
  t.equal(parser.stats.controlFrames, 3);
  t.equal(parser.stats.messages, 2);
});

t.test("one byte at a time and random splits give the same messages", async (t) => {
  const random = seededRandom(42);
  const payloads: Buffer[] = [];
  const frames: Buffer[] = [];
  for (let i = 0; i < 60; i++) {
    const payload = randomBytesFrom(random, [0, 5, 125, 126, 300, 70000][i % 6]!);
    payloads.push(payload);
    frames.push(encodeFrame({ opcode: OP_BINARY, payload, maskKey: i % 2 ? KEY : undefined }));
    if (i % 7 === 0) frames.push(encodeFrame({ opcode: OP_PING, payload: Buffer.from("p") }));
  }
  const stream = Buffer.concat(frames);

  const bytewise = collector();
  for (let i = 0; i < stream.length; i++) bytewise.parser.push(stream.subarray(i, i + 1));
  t.equal(bytewise.received.length, payloads.length);
  t.ok(
    bytewise.received.every((r, i) => r.payload.equals(payloads[i]!)),
    "1-byte reads",
  );

  for (const seed of [1, 2, 3]) {
    const split = collector();
    for (const chunk of splitRandomly(stream, seededRandom(seed), 9000)) split.parser.push(chunk);
    t.equal(split.received.length, payloads.length, `seed ${seed}`);
    t.ok(
      split.received.every((r, i) => r.payload.equals(payloads[i]!)),
      `random reads, seed ${seed}`,
    );
  }
});

t.test("headers read whole and headers read byte by byte agree on everything", async (t) => {
  // Whole headers are read at once, split ones byte by byte: streams of valid frames of every length form, masked
  // or not, with violations and garbage among them, must give the same messages, counts, verdict and state either
  // way (the first is how the parser reads whole chunks, the second how it reads 1-byte ones).
  const random = seededRandom(99);
  const violations = [
    Buffer.from([0x82, 0x7f, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]), // 64-bit length beyond 2^53
    Buffer.from([0x82, 0x7f, 0x00, 0x1f, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]), // at 2^53
    encodeFrame({ opcode: 3, payload: Buffer.from("x") }),
    encodeFrame({ opcode: OP_TEXT, rsvBits: 0x20, payload: Buffer.from("x") }),
  ];
  const state = (parser: FrameParser) => ({
    stats: parser.stats,
    gaveUp: parser.gaveUp,
    atFrameBoundary: parser.atFrameBoundary,
    atRest: parser.atRest,
  });
  let compared = 0;
  for (let stream = 0; stream < 300; stream++) {
    const parts: Buffer[] = [];
    for (let i = 0; i < 8; i++) {
      const roll = random();
      if (roll < 0.05) parts.push(violations[Math.floor(random() * violations.length)]!);
      else if (roll < 0.1) parts.push(randomBytesFrom(random, 1 + Math.floor(random() * 20)));
      else {
        const size = [0, 3, 125, 126, 127, 65535, 65536, 70000][Math.floor(random() * 8)]!;
        parts.push(
          encodeFrame({
            opcode: random() < 0.5 ? OP_BINARY : OP_TEXT,
            fin: random() < 0.9,
            payload: randomBytesFrom(random, size),
            maskKey: random() < 0.5 ? randomBytesFrom(random, 4) : undefined,
          }),
        );
      }
    }
    const bytes = Buffer.concat(parts);
    const whole = collector({ maxMessageBytes: 100_000 });
    whole.parser.push(bytes);
    const bytewise = collector({ maxMessageBytes: 100_000 });
    for (let i = 0; i < bytes.length; i++) bytewise.parser.push(bytes.subarray(i, i + 1));
    const same =
      JSON.stringify(state(whole.parser)) === JSON.stringify(state(bytewise.parser)) &&
      whole.received.length === bytewise.received.length &&
      whole.received.every(
        (r, i) =>
          r.opcode === bytewise.received[i]!.opcode && r.payload.equals(bytewise.received[i]!.payload),
      );
    if (!same) {
      t.same(state(whole.parser), state(bytewise.parser), `stream ${stream}: whole and byte by byte differ`);
      return;
    }
    compared++;
  }
  t.equal(compared, 300, "300 streams read alike");
});

t.test("a 5 MB single frame (64-bit length), whole and in 64 KiB reads", async (t) => {
  const payload = randomBytesFrom(seededRandom(5), 5 * 1024 * 1024);
  for (const maskKey of [undefined, KEY]) {
    const frame = encodeFrame({ opcode: OP_BINARY, payload, maskKey });
    const whole = collector();
    whole.parser.push(frame);
    t.ok(whole.received.length === 1 && whole.received[0]!.payload.equals(payload), "in one read");
    const pieces = collector();
    for (let at = 0; at < frame.length; at += 65536) pieces.parser.push(frame.subarray(at, at + 65536));
    t.ok(pieces.received.length === 1 && pieces.received[0]!.payload.equals(payload), "in 64 KiB reads");
  }
});

t.test("messages over maxMessageBytes are skipped without losing sync", async (t) => {
  const { parser, received } = collector({ maxMessageBytes: 1000 });
  parser.push(
    Buffer.concat([
      encodeFrame({ opcode: OP_TEXT, payload: Buffer.alloc(2000, 0x61), maskKey: KEY }),
      encodeFrame({ opcode: OP_TEXT, payload: Buffer.from("small 1") }),
      // Fragments under the limit each, over it together.
      encodeFrame({ opcode: OP_BINARY, fin: false, payload: Buffer.alloc(600) }),
      encodeFrame({ opcode: OP_PING }),
      encodeFrame({ opcode: OP_CONTINUATION, fin: false, payload: Buffer.alloc(600) }),
      encodeFrame({ opcode: OP_CONTINUATION, fin: true, payload: Buffer.alloc(600) }),
      encodeFrame({ opcode: OP_TEXT, payload: Buffer.alloc(1000, 0x62) }),
    ]),
  );
  t.same(
    received.map((r) => r.payload.length),
    [7, 1000],
  );
  t.equal(received[0]!.payload.toString(), "small 1");
  t.equal(parser.stats.skippedOversize, 2);
  t.equal(parser.gaveUp, undefined);
});

t.test("compressed (RSV1) messages are skipped and counted", async (t) => {
  const { parser, received } = collector();
  parser.push(
    Buffer.concat([
      encodeFrame({ opcode: OP_TEXT, rsv1: true, payload: Buffer.from([0xf2, 0x48, 0xcd]), maskKey: KEY }),
      encodeFrame({ opcode: OP_BINARY, rsv1: true, fin: false, payload: Buffer.alloc(10) }),
      encodeFrame({ opcode: OP_CONTINUATION, fin: true, payload: Buffer.alloc(10) }),
      encodeFrame({ opcode: OP_TEXT, payload: Buffer.from("plain"), maskKey: KEY }),
    ]),
  );
  t.same(
    received.map((r) => r.payload.toString()),
    ["plain"],
  );
  t.equal(parser.stats.skippedCompressed, 2);
  t.equal(parser.gaveUp, undefined);
});

t.test("protocol violations make the parser give up, never throw", async (t) => {
  const cases: [string, Buffer][] = [
    ["reserved data opcode", encodeFrame({ opcode: 3, payload: Buffer.from("x") })],
    ["reserved control opcode", encodeFrame({ opcode: 0xb })],
    ["continuation without a message", encodeFrame({ opcode: OP_CONTINUATION, payload: Buffer.from("x") })],
    ["control frame over 125 bytes", encodeFrame({ opcode: OP_PING, payload: Buffer.alloc(126) })],
    ["fragmented control frame", encodeFrame({ opcode: OP_CLOSE, fin: false })],
    ["RSV2", encodeFrame({ opcode: OP_TEXT, rsvBits: 0x20, payload: Buffer.from("x") })],
    ["RSV1 on a control frame", encodeFrame({ opcode: OP_PING, rsv1: true })],
    [
      "data frame inside a fragmented message",
      Buffer.concat([
        encodeFrame({ opcode: OP_TEXT, fin: false, payload: Buffer.from("a") }),
        encodeFrame({ opcode: OP_TEXT, payload: Buffer.from("b") }),
      ]),
    ],
    ["64-bit length beyond 2^53", Buffer.from([0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
  ];
  for (const [name, bytes] of cases) {
    const { parser, received } = collector();
    const after = encodeFrame({ opcode: OP_TEXT, payload: Buffer.from("after") });
    t.doesNotThrow(() => {
      parser.push(bytes);
      parser.push(after);
    }, name);
    t.type(parser.gaveUp, "string", `${name}: gave up`);
    t.equal(received.length, 0, `${name}: nothing parsed after the violation`);
  }
});

t.test("random garbage never throws", async (t) => {
  const random = seededRandom(7);
  let gaveUp = 0;
  for (let i = 0; i < 2000; i++) {
    const { parser } = collector({ maxMessageBytes: 4096 });
    const garbage = randomBytesFrom(random, 1 + Math.floor(random() * 300));
    const copy = Buffer.from(garbage);
    for (const chunk of splitRandomly(garbage, random, 40)) parser.push(chunk);
    if (parser.gaveUp !== undefined) gaveUp++;
    if (!garbage.equals(copy)) t.fail("input modified");
  }
  t.ok(gaveUp > 0, `some garbage streams were recognised as violations (${gaveUp})`);
});

t.test("nextMark: whole unmasked messages without a mark in their bytes are skipped unread", async (t) => {
  const mark = Buffer.from("WANTED");
  const text = (body: string, maskKey?: Buffer) =>
    encodeFrame({ opcode: OP_TEXT, payload: Buffer.from(body), maskKey });
  const { parser, received } = collector({ nextMark: (chunk, from) => chunk.indexOf(mark, from) });
  parser.push(Buffer.concat([text("one"), text("two")]));
  t.equal(received.length, 0, "a chunk without the mark hands out nothing");
  t.ok(parser.atFrameBoundary, "the frames were still followed");

  parser.push(
    Buffer.concat([text("three"), text("a WANTED one"), text("four"), text("WANTED again"), text("5")]),
  );
  t.same(
    received.map((r) => r.payload.toString()),
    ["a WANTED one", "WANTED again"],
    "in a chunk with marks, exactly the messages that hold one are handed out",
  );

  // A message cut across chunks is collected even where its first chunk holds no mark.
  const spanning = text("head ... tail WANTED");
  parser.push(spanning.subarray(0, 6));
  parser.push(spanning.subarray(6));
  t.equal(received.at(-1)?.payload.toString(), "head ... tail WANTED", "spanning message delivered");

  // Masked frames can't be searched raw: they are never skipped on the mark test.
  parser.push(text("masked WANTED", KEY));
  t.equal(received.at(-1)?.payload.toString(), "masked WANTED", "masked message delivered");
  t.equal(parser.stats.skippedOversize, 0, "skipping for lack of a mark is not an oversize skip");
});

t.test("maskedMark: whole masked messages are unmasked only when the mark is in them", async (t) => {
  const mark = Buffer.from('execute_request"');
  const { parser, received } = collector({ maskedMark: mark });
  const random = seededRandom(5);
  let expected = 0;
  // The mark at every offset modulo 4 (each one meets another byte of the key), and decoys that hold the mark's
  // masked bytes at the wrong offset.
  for (let offset = 0; offset < 12; offset++) {
    const key = randomBytesFrom(random, 4);
    const body = Buffer.concat([Buffer.alloc(offset, "x"), mark, Buffer.from(" tail")]);
    parser.push(encodeFrame({ opcode: OP_TEXT, payload: body, maskKey: key }));
    expected++;
    t.same(received.at(-1)?.payload, body, `mark at offset ${offset}: delivered unmasked`);
    const without = Buffer.concat([
      Buffer.alloc(offset, "x"),
      Buffer.from('execute_reply"'),
      Buffer.from(" tail"),
    ]);
    parser.push(encodeFrame({ opcode: OP_TEXT, payload: without, maskKey: key }));
    t.equal(received.length, expected, `no mark at offset ${offset}: skipped`);
  }
  const key = Buffer.from([1, 2, 3, 4]);
  const maskedMarkBytes = Buffer.from(mark.map((byte, i) => byte ^ key[i & 3]!));
  // The payload holds the mark's masked form at offset 1: masked again on the wire, it is not the mark.
  const decoy = Buffer.concat([Buffer.from("y"), maskedMarkBytes, Buffer.from("zzz")]);
  parser.push(encodeFrame({ opcode: OP_TEXT, payload: decoy, maskKey: key }));
  t.equal(received.length, expected, "bytes that look like the masked mark are not the mark");
  // A masked message cut across chunks is collected and handed out whatever it holds.
  const spanning = encodeFrame({ opcode: OP_TEXT, payload: Buffer.from("no mark here"), maskKey: key });
  parser.push(spanning.subarray(0, 8));
  parser.push(spanning.subarray(8));
  t.equal(received.at(-1)?.payload.toString(), "no mark here", "spanning message delivered");
  t.ok(parser.atRest, "at rest between messages");
});

t.test("the memory of a pushed chunk may be read into again once push returns", async (t) => {
  const random = seededRandom(23);
  const messages = Array.from({ length: 40 }, (_, i) => randomBytesFrom(random, 1 + ((i * 977) % 5000)));
  const stream = Buffer.concat(
    messages.map((payload, i) =>
      encodeFrame({ opcode: OP_BINARY, payload, maskKey: i % 3 ? undefined : KEY }),
    ),
  );
  const { parser, received } = collector();
  // One memory for every read, overwritten with garbage after each push, as a caller that reuses its read memory may.
  const memory = Buffer.alloc(700);
  for (let at = 0; at < stream.length; at += memory.length) {
    const read = stream.subarray(at, at + memory.length);
    read.copy(memory);
    parser.push(memory.subarray(0, read.length));
    memory.fill(0xee);
  }
  t.equal(received.length, messages.length, "every message handed out");
  t.ok(
    received.every((r, i) => r.payload.equals(messages[i]!)),
    "each one intact, also those cut across reads",
  );
});

t.test("isRelevant decides for whole unmasked messages and sees them in place", async (t) => {
  const seen: string[] = [];
  const { parser, received } = collector({
    isRelevant: (chunk, start, length) => {
      const text = chunk.toString("utf8", start, start + length);
      seen.push(text);
      return text.startsWith("keep");
    },
  });
  const text = (body: string) => encodeFrame({ opcode: OP_TEXT, payload: Buffer.from(body) });
  parser.push(Buffer.concat([text("keep 1"), text("drop 2"), text("keep 3")]));
  t.same(seen, ["keep 1", "drop 2", "keep 3"], "asked about each whole message, with its exact bytes");
  t.same(
    received.map((r) => r.payload.toString()),
    ["keep 1", "keep 3"],
    "only the relevant ones handed out",
  );
  const spanning = text("drop, but cut in two");
  parser.push(spanning.subarray(0, 5));
  t.notOk(parser.atRest, "not at rest inside a message");
  parser.push(spanning.subarray(5));
  t.equal(
    received.at(-1)?.payload.toString(),
    "drop, but cut in two",
    "a spanning message is not asked about",
  );
});

t.test(
  "memory budget: a message held across pushes is charged; one that does not fit is skipped",
  async (t) => {
    const socket = new MemoryBudget(1000, new MemoryBudget(1500));
    const skips: Array<[string, number]> = [];
    const { parser, received } = collector({
      budget: socket,
      skips: { skipped: (reason, bytes) => skips.push([reason, bytes]) },
    });
    const mask = Buffer.from([1, 2, 3, 4]);
    // A whole message in one push is never charged, even over the budget.
    parser.push(encodeFrame({ opcode: OP_TEXT, payload: Buffer.alloc(4000, 0x61), maskKey: mask }));
    t.equal(received.length, 1, "a large message that arrives whole is delivered");
    t.equal(socket.used, 0);

    const first = encodeFrame({
      opcode: OP_TEXT,
      fin: false,
      payload: Buffer.alloc(600, 0x62),
      maskKey: mask,
    });
    parser.push(first);
    t.equal(socket.used, 600, "the unfinished part is charged");
    parser.push(
      encodeFrame({ opcode: OP_CONTINUATION, fin: false, payload: Buffer.alloc(600, 0x63), maskKey: mask }),
    );
    t.equal(socket.used, 0, "over the socket's budget: the message is dropped and its memory released");
    t.same(skips, [["memory-budget", 1200]]);
    parser.push(encodeFrame({ opcode: OP_CONTINUATION, payload: Buffer.from("end"), maskKey: mask }));
    t.equal(received.length, 1, "the skipped message is not delivered");
    parser.push(encodeFrame({ opcode: OP_TEXT, payload: Buffer.from("next"), maskKey: mask }));
    t.equal(received[1]?.payload.toString(), "next", "the next message parses");
  },
);

t.test("memory budget: the shared budget bounds several parsers; dispose releases", async (t) => {
  const shared = new MemoryBudget(1000);
  const a = collector({ budget: new MemoryBudget(800, shared) });
  const b = collector({ budget: new MemoryBudget(800, shared) });
  const frame = encodeFrame({ opcode: OP_BINARY, fin: false, payload: Buffer.alloc(600) });
  a.parser.push(frame);
  b.parser.push(frame);
  t.equal(shared.used, 600, "the second does not fit the shared budget");
  t.equal(b.parser.stats.skippedBudget, 1);
  a.parser.dispose();
  t.equal(shared.used, 0, "dispose gives the memory back");
});
