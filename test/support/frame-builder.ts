/** RFC 6455 frame encoding and seeded randomness for the frame-level tests. */

export const OP_CONTINUATION = 0;
export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

export interface FrameSpec {
  opcode: number;
  payload?: Buffer;
  fin?: boolean;
  rsv1?: boolean;
  /** A 4-byte key masks the payload (client → server frames). */
  maskKey?: Buffer;
  /** Raw bits 4–6 of the first byte, to build invalid frames. */
  rsvBits?: number;
}

export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const maskBytes = spec.maskKey ? 4 : 0;
  const frame = Buffer.alloc(2 + extended + maskBytes + length);
  frame[0] = (spec.fin === false ? 0 : 0x80) | (spec.rsv1 ? 0x40 : 0) | (spec.rsvBits ?? 0) | spec.opcode;
  frame[1] = (spec.maskKey ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) frame.writeUInt16BE(length, 2);
  if (extended === 8) frame.writeBigUInt64BE(BigInt(length), 2);
  const start = 2 + extended + maskBytes;
  if (spec.maskKey) {
    spec.maskKey.copy(frame, 2 + extended);
    for (let i = 0; i < length; i++) frame[start + i] = payload[i]! ^ spec.maskKey[i & 3]!;
  } else {
    payload.copy(frame, start);
  }
  return frame;
}

/** mulberry32: a small deterministic PRNG so failures reproduce from the seed in the test name. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(random: () => number, below: number): number {
  return Math.floor(random() * below);
}

export function randomBytesFrom(random: () => number, count: number): Buffer {
  const bytes = Buffer.alloc(count);
  for (let i = 0; i < count; i++) bytes[i] = randomInt(random, 256);
  return bytes;
}

/** Cuts a byte stream at random read boundaries (1 … maxChunk bytes); the chunks are views of `stream`. */
export function splitRandomly(stream: Buffer, random: () => number, maxChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length;) {
    const size = 1 + randomInt(random, maxChunk);
    chunks.push(stream.subarray(at, at + size));
    at += size;
  }
  return chunks;
}
