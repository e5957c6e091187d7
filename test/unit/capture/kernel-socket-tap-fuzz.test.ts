/**
 * Property test: thousands of random, corrupt, truncated and oversized frame streams, in both wire formats and
 * both directions. The tap must never throw, never need its last-resort exception guard (no error logs),
 * never modify the bytes it is shown, and every record it does emit must fit Moodle's columns.
 */
import t from "tap";
import { pino } from "pino";
import { MOODLE_COLUMN_LIMITS } from "../../../src/capture/execution-tracker.js";
import { KernelSocketTap } from "../../../src/capture/kernel-socket-tap.js";
import { NB_LOG_FIELDS, type CapturedRecord } from "../../../src/capture/nb-log-record.js";
import { V1_SUBPROTOCOL } from "../../../src/jupyter/wire-format.js";
import {
  OP_BINARY,
  OP_CONTINUATION,
  OP_PING,
  OP_TEXT,
  encodeFrame,
  randomBytesFrom,
  randomInt,
  seededRandom,
  splitRandomly,
} from "../../support/frame-builder.js";
import { encodeV1, type JsonObject } from "./jupyterlab3-capture.js";

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[randomInt(random, items.length)]!;
}

/** Values of every JSON type, including over-long and non-ASCII strings, to exercise type narrowing. */
function randomValue(random: Random, depth = 0): unknown {
  switch (randomInt(random, depth > 2 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return randomInt(random, 1000);
    case 2:
      return random() < 0.5;
    case 3:
      return "問".repeat(randomInt(random, 60));
    case 4:
      return `id-${randomInt(random, 1e6)}`.repeat(1 + randomInt(random, 8));
    case 5:
      return [randomValue(random, depth + 1), randomValue(random, depth + 1)];
    case 6:
      return { cellId: randomValue(random, depth + 1), status: randomValue(random, depth + 1) };
    default:
      return undefined;
  }
}

function randomKernelMessage(random: Random): JsonObject {
  const maybe = (value: unknown) => (random() < 0.8 ? value : randomValue(random));
  return {
    channel: maybe(pick(random, ["shell", "iopub", "control", "stdin"])),
    header: maybe({
      msg_type: maybe(pick(random, ["execute_request", "execute_reply", "status", "stream"])),
      msg_id: maybe(`m${randomInt(random, 20)}`),
      session: maybe(`s${randomInt(random, 3)}`),
      username: randomValue(random),
      date: randomValue(random),
    }),
    parent_header: maybe({
      msg_id: maybe(`m${randomInt(random, 20)}`),
      session: maybe(`s${randomInt(random, 3)}`),
    }),
    metadata: maybe({ cellId: randomValue(random), tags: randomValue(random), status: randomValue(random) }),
    content: maybe({ status: randomValue(random), silent: randomValue(random), code: randomValue(random) }),
  };
}

function randomPayload(random: Random, v1: boolean): Buffer {
  const message = randomKernelMessage(random);
  const encoded = v1
    ? encodeV1(message, (p) => JSON.stringify(p) ?? "")
    : Buffer.from(JSON.stringify(message));
  switch (randomInt(random, 5)) {
    case 0: // truncated
      return encoded.subarray(0, randomInt(random, encoded.length));
    case 1: {
      // corrupted bytes (offset tables included)
      const copy = Buffer.from(encoded);
      for (let n = 1 + randomInt(random, 6); n > 0; n--)
        copy[randomInt(random, copy.length)] = randomInt(random, 256);
      return copy;
    }
    case 2:
      return randomBytesFrom(random, randomInt(random, 200));
    default:
      return encoded;
  }
}

function randomStream(random: Random, v1: boolean, masked: boolean): Buffer {
  const parts: Buffer[] = [];
  const key = () => (masked ? randomBytesFrom(random, 4) : undefined);
  for (let n = 1 + randomInt(random, 12); n > 0; n--) {
    const kind = randomInt(random, 10);
    if (kind < 5) {
      parts.push(
        encodeFrame({
          opcode: pick(random, [OP_TEXT, OP_BINARY]),
          payload: randomPayload(random, v1),
          maskKey: key(),
        }),
      );
    } else if (kind === 5) {
      const payload = randomPayload(random, v1);
      const cut = randomInt(random, payload.length + 1);
      parts.push(
        encodeFrame({
          opcode: v1 ? OP_BINARY : OP_TEXT,
          fin: false,
          payload: payload.subarray(0, cut),
          maskKey: key(),
        }),
      );
      parts.push(encodeFrame({ opcode: OP_PING, maskKey: key() }));
      parts.push(encodeFrame({ opcode: OP_CONTINUATION, payload: payload.subarray(cut), maskKey: key() }));
    } else if (kind === 6) {
      // A header announcing far more than will ever come (up to 2^40 bytes).
      const header = Buffer.from([0x82, masked ? 0xff : 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
      header.writeUIntBE(1 + randomInt(random, 2 ** 40), 4, 6);
      parts.push(header.subarray(0, masked ? 14 : 10), randomBytesFrom(random, randomInt(random, 100)));
    } else if (kind === 7) {
      parts.push(
        encodeFrame({
          opcode: OP_BINARY,
          payload: randomBytesFrom(random, 5000 + randomInt(random, 5000)),
          maskKey: key(),
        }),
      );
    } else if (kind === 8) {
      parts.push(randomBytesFrom(random, randomInt(random, 64)));
    } else {
      const frame = encodeFrame({ opcode: OP_TEXT, payload: randomPayload(random, v1), maskKey: key() });
      parts.push(frame.subarray(0, randomInt(random, frame.length)));
    }
  }
  return Buffer.concat(parts);
}

t.test("random and corrupt streams never break the tap", async (t) => {
  const random = seededRandom(20240501);
  const records: CapturedRecord[] = [];
  const logLines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => logLines.push(line) });
  const factory = new KernelSocketTap({
    sink: { accept: (r) => records.push(r) },
    logger,
    maxMessageBytes: 4096,
  });
  let thrown = 0;
  let modified = 0;
  const iterations = 3000;
  for (let i = 0; i < iterations; i++) {
    const v1 = random() < 0.5;
    const tap = factory.tapFor({
      url: `/user/u/api/kernels/00000000-0000-4000-8000-000000000001/channels?session_id=s${i % 3}`,
      headers: {},
      routePrefix: "/user/u",
      routeUser: "u".repeat(randomInt(random, 40)),
    })!;
    const up = randomStream(random, v1, true);
    const down = randomStream(random, v1, false);
    const upCopy = Buffer.from(up);
    const downCopy = Buffer.from(down);
    try {
      tap.prepareRequest({});
      tap.opened(v1 ? { "sec-websocket-protocol": V1_SUBPROTOCOL } : {});
      const upChunks = splitRandomly(up, random, 300);
      const downChunks = splitRandomly(down, random, 300);
      while (upChunks.length > 0 || downChunks.length > 0) {
        if (downChunks.length === 0 || (upChunks.length > 0 && random() < 0.5))
          tap.clientBytes(upChunks.shift()!);
        else tap.serverBytes(downChunks.shift()!);
      }
      tap.closed();
      tap.clientBytes(up);
    } catch {
      thrown++;
    }
    if (!up.equals(upCopy) || !down.equals(downCopy)) modified++;
  }
  t.equal(thrown, 0, `${iterations} streams, no exception reached the relay`);
  t.equal(modified, 0, "no stream was modified");
  t.notMatch(logLines.join(""), /"level":50/, "the exception guard was never needed");
  t.ok(records.length > 0, `well-formed messages among the noise still produce records (${records.length})`);

  const misfits = records.filter(
    (r) =>
      !["client", "server"].includes(r.log.host) ||
      NB_LOG_FIELDS.some((f) => typeof r.log[f] !== "string") ||
      Object.entries(MOODLE_COLUMN_LIMITS).some(
        ([f, limit]) => [...r.log[f as keyof typeof r.log]].length > limit!,
      ),
  );
  t.same(misfits, [], "every record has ten string fields within Moodle's column sizes");
});
