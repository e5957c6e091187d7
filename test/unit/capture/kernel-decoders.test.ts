import t from "tap";
import { EXECUTE_REPLY, EXECUTE_REQUEST, executeMarkAt } from "../../../src/jupyter/kernel-message.js";
import { LegacyDecoder } from "../../../src/jupyter/legacy-decoder.js";
import { V1Decoder, v1OnShellChannel } from "../../../src/jupyter/v1-decoder.js";
import { V1_SUBPROTOCOL, decoderFor, wireFormatOf } from "../../../src/jupyter/wire-format.js";
import { encodeV1, pythonJson } from "./jupyterlab3-capture.js";
import { seededRandom, randomInt } from "../../support/frame-builder.js";

/** An execute_request as JupyterLab 4 builds it (header, metadata with cellId, content). */
const request = {
  buffers: [],
  channel: "shell",
  content: {
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: true,
    stop_on_error: false,
    code: "1+1",
  },
  header: {
    date: "2024-05-01T10:00:00.000Z",
    msg_id: "8b030c05-7c2e-4d0c-8e35-0d6a5a3b1f10",
    msg_type: "execute_request",
    session: "55503b36-1b70-4f0e-9d44-7d8c62d1c2aa",
    username: "",
    version: "5.2",
  },
  metadata: {
    tags: ["filename: 1-2.ipynb", "問題１"],
    deletedCells: [],
    recordTiming: false,
    cellId: "a0fced0e-1",
  },
  parent_header: {},
};

const reply = {
  header: {
    msg_id: "k_5",
    msg_type: "execute_reply",
    username: "bob",
    session: "k",
    date: "2024-05-01T10:00:01.123456Z",
    version: "5.3",
  },
  msg_id: "k_5",
  msg_type: "execute_reply",
  parent_header: {
    msg_id: request.header.msg_id,
    msg_type: "execute_request",
    session: request.header.session,
  },
  metadata: { status: "ok" },
  content: { status: "ok", execution_count: 1, user_expressions: {}, payload: [] },
  buffers: [],
  channel: "shell",
};

const iopub = {
  header: { msg_id: "k_6", msg_type: "stream", username: "bob", session: "k", date: "2024-05-01T10:00:01Z" },
  parent_header: request.header,
  metadata: {},
  content: { name: "stdout", text: "hello" },
  channel: "iopub",
};

t.test("legacy text frames", async (t) => {
  const decoder = new LegacyDecoder();
  const raw = JSON.stringify(request);
  const message = decoder.decode(1, Buffer.from(raw));
  t.ok(message);
  t.equal(message!.channel, "shell");
  t.equal(message!.header.msg_id, request.header.msg_id);
  t.equal(message!.metadata.cellId, "a0fced0e-1");
  t.equal(message!.content.code, "1+1");
  t.equal(message!.tagsJson, '["filename: 1-2.ipynb","問題１"]', "tags as the compact text the browser sent");
  t.ok(raw.includes(message!.tagsJson!));

  const decodedReply = decoder.decode(1, Buffer.from(pythonJson(reply, true)));
  t.equal(decodedReply!.parentHeader.msg_id, request.header.msg_id, "python-style spacing parses");
  t.equal(decodedReply!.content.status, "ok");

  t.equal(
    decoder.decode(1, Buffer.from(pythonJson(iopub, true))),
    undefined,
    "iopub stream output is not decoded",
  );
  t.equal(
    decoder.decode(1, Buffer.from(pythonJson(reply, true)), "execute_reply")!.content.status,
    "ok",
    "a reply is found when replies are wanted",
  );
  t.equal(
    decoder.decode(1, Buffer.from(pythonJson(reply, true)), "execute_request"),
    undefined,
    "a reply is not a request",
  );
  t.equal(decoder.decode(1, Buffer.from(raw), "execute_reply"), undefined, "a request is not a reply");
  t.equal(
    decoder.decode(1, Buffer.from('{"header": {"msg_type": "execute_reply"')),
    undefined,
    "truncated JSON",
  );
  t.equal(decoder.decode(1, Buffer.from('["execute_reply"]')), undefined, "not an object");
  t.equal(decoder.decode(1, Buffer.from('{"header": "execute_reply"}')), undefined, "header not an object");
  const text = { ...iopub, content: { name: "stdout", text: "we print execute_reply here" } };
  t.equal(
    decoder.decode(1, Buffer.from(JSON.stringify(text))),
    undefined,
    "mentions the word, still not a reply",
  );

  const { channel: _channel, ...withoutChannel } = request;
  t.equal(
    decoder.decode(1, Buffer.from(JSON.stringify(withoutChannel)))!.channel,
    "shell",
    "missing channel = shell",
  );
  const noTags = { ...request, metadata: { cellId: "x", tags: "not an array" } };
  t.equal(
    decoder.decode(1, Buffer.from(JSON.stringify(noTags)))!.tagsJson,
    undefined,
    "tags that are not an array",
  );
});

/** Legacy binary layout (jupyter_server before v1): uint32 BE nbufs, offsets, JSON, buffers. */
function legacyBinary(message: object, buffers: Buffer[]): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const count = 1 + buffers.length;
  const table = Buffer.alloc(4 * (count + 1));
  table.writeUInt32BE(count, 0);
  let offset = table.length;
  [json, ...buffers].forEach((part, i) => {
    table.writeUInt32BE(offset, 4 * (i + 1));
    offset += part.length;
  });
  return Buffer.concat([table, json, ...buffers]);
}

t.test("legacy binary frames (messages with buffers)", async (t) => {
  const decoder = new LegacyDecoder();
  const frame = legacyBinary(request, [Buffer.from([0, 1, 2, 3]), Buffer.from("execute_reply in a buffer")]);
  const message = decoder.decode(2, frame);
  t.equal(message?.header.msg_id, request.header.msg_id);
  t.equal(decoder.decode(2, legacyBinary(iopub, [Buffer.from("x")])), undefined);

  const corrupt = Buffer.from(frame);
  corrupt.writeUInt32BE(1000, 0);
  t.equal(decoder.decode(2, corrupt), undefined, "offset table longer than the frame");
  const badStart = Buffer.from(frame);
  badStart.writeUInt32BE(frame.length + 5, 4);
  t.equal(decoder.decode(2, badStart), undefined, "JSON offset past the end");
  for (let length = 0; length < 40; length++) {
    t.doesNotThrow(() => decoder.decode(2, frame.subarray(0, length)));
  }
});

t.test("v1 binary frames: layout and decoding", async (t) => {
  const frame = encodeV1(request, JSON.stringify);
  // The worked example's shape: six offsets, the channel right after the table, the last offset = the length.
  t.equal(frame.readBigUInt64LE(0), 6n);
  t.equal(frame.readBigUInt64LE(8), 56n);
  t.equal(frame.toString("utf8", 56, 61), "shell");
  t.equal(frame.readBigUInt64LE(8 * 6), BigInt(frame.length));

  const decoder = new V1Decoder();
  const message = decoder.decode(2, frame);
  t.equal(message?.channel, "shell");
  t.equal(message?.header.msg_type, "execute_request");
  t.same(message?.parentHeader, {});
  t.equal(message?.metadata.cellId, "a0fced0e-1");
  t.equal(message?.tagsJson, '["filename: 1-2.ipynb","問題１"]');
  t.equal(message?.content.silent, false);

  const replyFrame = encodeV1(reply, (part) => pythonJson(part, false));
  const decodedReply = decoder.decode(2, replyFrame);
  t.equal(decodedReply?.content.status, "ok");
  t.equal(decodedReply?.parentHeader.msg_id, request.header.msg_id);

  t.equal(decoder.decode(2, encodeV1(iopub, JSON.stringify)), undefined, "iopub not decoded");
  t.equal(decoder.decode(1, Buffer.from(JSON.stringify(request))), undefined, "text frames are not v1");
});

t.test(
  "v1OnShellChannel: read in place from the offset table; unreadable tables count as shell",
  async (t) => {
    const shell = encodeV1(reply, (part) => pythonJson(part, false));
    const output = encodeV1(iopub, JSON.stringify);
    const both = Buffer.concat([Buffer.from("pad"), output, shell]);
    t.equal(v1OnShellChannel(both, 3, output.length), false, "iopub output in place");
    t.equal(v1OnShellChannel(both, 3 + output.length, shell.length), true, "shell reply in place");
    for (let length = 0; length < 64; length++) {
      const cut = output.subarray(0, length);
      t.doesNotThrow(() => v1OnShellChannel(cut, 0, length), `cut to ${length} bytes`);
    }
    // Every byte of the channel's name counts: five letters that are not `shell` are another channel.
    for (let i = 0; i < 5; i++) {
      const other = Buffer.from(shell);
      other[other.readUInt32LE(8) + i] ^= 0x20;
      t.equal(v1OnShellChannel(other, 0, other.length), false, `channel name changed at letter ${i + 1}`);
    }
    t.equal(v1OnShellChannel(output, 0, 20), true, "too short to read: shell");
    const beyond = Buffer.from(output);
    beyond.writeUInt32LE(output.length + 10, 16);
    t.equal(v1OnShellChannel(beyond, 0, beyond.length), true, "channel end past the message: shell");
    const huge = Buffer.from(output);
    huge.writeUInt32LE(1, 12);
    t.equal(v1OnShellChannel(huge, 0, huge.length), true, "offset beyond 32 bits: shell");
  },
);

t.test("v1 frames: every truncation and corrupted offsets yield undefined, never throw", async (t) => {
  const decoder = new V1Decoder();
  const frame = encodeV1(request, JSON.stringify);
  let decoded = 0;
  for (let length = 0; length < frame.length; length++) {
    const result = decoder.decode(2, frame.subarray(0, length));
    if (result !== undefined) decoded++;
  }
  t.equal(decoded, 0, "no truncated frame decodes");

  const hugeCount = Buffer.from(frame);
  hugeCount.writeBigUInt64LE(1n << 40n, 0);
  t.equal(decoder.decode(2, hugeCount), undefined, "offset count beyond 32 bits");
  const fewOffsets = Buffer.from(frame);
  fewOffsets.writeBigUInt64LE(5n, 0);
  t.equal(decoder.decode(2, fewOffsets), undefined, "fewer than six offsets");
  const backwards = Buffer.from(frame);
  backwards.writeBigUInt64LE(backwards.readBigUInt64LE(24) + 1n, 16);
  t.equal(decoder.decode(2, backwards), undefined, "offsets out of order");

  const random = seededRandom(11);
  let thrown = 0;
  for (let i = 0; i < 3000; i++) {
    const corrupt = Buffer.from(frame);
    for (let flips = 1 + randomInt(random, 4); flips > 0; flips--)
      corrupt[randomInt(random, 56)] = randomInt(random, 256);
    try {
      decoder.decode(2, corrupt.subarray(0, randomInt(random, corrupt.length + 1)));
    } catch {
      thrown++;
    }
  }
  t.equal(thrown, 0, "3000 frames with corrupted offset tables");
});

t.test("the 101 response's subprotocol picks the format", async (t) => {
  t.equal(wireFormatOf({ "sec-websocket-protocol": V1_SUBPROTOCOL }), "v1");
  t.equal(wireFormatOf({ "sec-websocket-protocol": ` ${V1_SUBPROTOCOL} ` }), "v1");
  t.equal(wireFormatOf({}), "legacy");
  t.equal(wireFormatOf({ "sec-websocket-protocol": "something.else" }), "legacy");
  t.type(decoderFor("v1"), V1Decoder);
  t.type(decoderFor("legacy"), LegacyDecoder);
});

// executeMarkAt searches for the mark's tail and checks the `execute` before it: it must find exactly what a search
// for the whole mark finds, at the same offset, from any starting point.
t.test("executeMarkAt finds what a search for the whole mark finds", async (t) => {
  const types = [EXECUTE_REQUEST, EXECUTE_REPLY] as const;
  const tricky = [
    'xx"execute_reply"',
    'kernel_info_reply" complete_reply" "execute_reply"',
    'execute_reply" at the start',
    'secute_reply" xexecute_reply"',
    '_reply"execute_reply"execute_reply"',
    'execute_request" parent, then "execute_reply"',
    'execute_request_reply" execute__request" execute_request"',
    "execute_reply without a quote",
    'execut_reply" xecute_reply"',
    "",
  ];
  // Random text over the marks' own letters, so that partial marks and overlaps are frequent.
  const random = seededRandom(7);
  const pieces = ["execute", "_reply", "_request", '"', "e", "x", "_", "reply", "request", "ex"];
  for (let i = 0; i < 400; i++) {
    let text = "";
    while (text.length < 60) text += pieces[randomInt(random, pieces.length)];
    tricky.push(text);
  }
  let compared = 0;
  for (const text of tricky) {
    const bytes = Buffer.from(text, "latin1");
    for (const type of types) {
      const whole = Buffer.from(`${type}"`);
      for (let from = 0; from <= bytes.length; from++) {
        const expected = bytes.indexOf(whole, from);
        const found = executeMarkAt(bytes, type, from);
        if (found !== expected)
          t.fail(`${type} in ${JSON.stringify(text)} from ${from}: ${found}, not ${expected}`);
        compared++;
      }
    }
  }
  t.ok(compared > 40_000, `${compared} searches compared`);
});
