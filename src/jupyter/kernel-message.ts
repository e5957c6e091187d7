import { isJsonObject, type JsonObject } from "../json-object.js";

/**
 * The decoded view of one Jupyter kernel message, the same for both wire formats. Decoders only build it
 * for the two message types the capture needs, so every other message costs at most a substring search.
 */

export const EXECUTE_REQUEST = "execute_request";
export const EXECUTE_REPLY = "execute_reply";

export interface KernelMessage {
  /** `shell`, `iopub`, `control`, `stdin`. */
  channel: string;
  header: JsonObject;
  parentHeader: JsonObject;
  metadata: JsonObject;
  content: JsonObject;
  /**
   * `metadata.tags` as compact JSON text, e.g. `["問題１","raises-exception"]` — what the browser sent and
   * what the C proxy forwards. Undefined when the message has no tags array.
   */
  tagsJson: string | undefined;
}

/** Turns one reassembled WebSocket data message into a kernel message, or undefined if it is not one we use. */
export interface KernelMessageDecoder {
  /** `wanted` narrows the result to one message type (the one the direction carries). */
  decode(opcode: 1 | 2, payload: Buffer, wanted?: ExecuteType): KernelMessage | undefined;
}

/** The value of `key` when it is a string; anything else (missing, number, object) is undefined. */
export function stringField(object: JsonObject, key: string): string | undefined {
  const value = object[key];
  return typeof value === "string" ? value : undefined;
}

export type ExecuteType = typeof EXECUTE_REQUEST | typeof EXECUTE_REPLY;

/** With `wanted`, only that type counts: each direction of a socket carries just one of the two. */
export function isExecuteMessageType(msgType: unknown, wanted?: ExecuteType): boolean {
  if (wanted !== undefined) return msgType === wanted;
  return msgType === EXECUTE_REQUEST || msgType === EXECUTE_REPLY;
}

const EXECUTE_PREFIX = Buffer.from("execute_re");
const REQUEST_TAIL = Buffer.from("quest");
const REPLY_TAIL = Buffer.from("ply");

const EXECUTE = Buffer.from("execute");
/**
 * A mark is the type's name as it ends in JSON text, `<type>"`; these are what follows `execute` in it, searched
 * for instead of the whole mark (see executeMarkAt).
 */
const QUOTED_TAIL: Record<ExecuteType, Buffer> = {
  [EXECUTE_REQUEST]: Buffer.from('_request"'),
  [EXECUTE_REPLY]: Buffer.from('_reply"'),
};

/**
 * Where `<type>"` next appears in `bytes` at or after `from`, or -1. The search looks for the mark's tail and checks
 * the `execute` before each find: Node's search for the whole mark crawls through kernel JSON (≈ 1.6 GB/s on iopub
 * outputs, whose parent headers all name `execute_request`, and whose keys are full of `e`), for the tail it runs at
 * ≈ 11 GB/s (`bench/micro/kernel-stream`: the tap on a legacy kernel→browser stream, 814 → 290 ns per message).
 */
export function executeMarkAt(bytes: Buffer, type: ExecuteType, from: number): number {
  const tail = QUOTED_TAIL[type];
  for (let at = bytes.indexOf(tail, from + EXECUTE.length); at !== -1; at = bytes.indexOf(tail, at + 1)) {
    const start = at - EXECUTE.length;
    if (startsWithAt(bytes, start, EXECUTE)) return start;
  }
  return -1;
}

/**
 * True if the bytes contain `execute_request` or `execute_reply` (one scan for the common prefix), or only
 * `wanted` when given — server→client traffic is searched for replies alone, so the parent headers of the
 * iopub outputs (which name the request) don't cost a JSON parse each.
 */
export function mentionsExecute(bytes: Buffer, wanted?: ExecuteType): boolean {
  if (wanted !== undefined) return executeMarkAt(bytes, wanted, 0) !== -1;
  let at = bytes.indexOf(EXECUTE_PREFIX);
  while (at >= 0) {
    const tail = at + EXECUTE_PREFIX.length;
    if (startsWithAt(bytes, tail, REQUEST_TAIL) || startsWithAt(bytes, tail, REPLY_TAIL)) return true;
    at = bytes.indexOf(EXECUTE_PREFIX, tail);
  }
  return false;
}

function startsWithAt(bytes: Buffer, at: number, expected: Buffer): boolean {
  return (
    at + expected.length <= bytes.length &&
    bytes.compare(expected, 0, expected.length, at, at + expected.length) === 0
  );
}

/** Parses JSON text; malformed input yields undefined instead of an exception. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function kernelMessage(
  channel: string,
  header: JsonObject,
  parentHeader: unknown,
  metadata: unknown,
  content: unknown,
): KernelMessage {
  const meta = isJsonObject(metadata) ? metadata : {};
  // nbformat defines cell tags as an array of strings; anything else is not tags.
  const tags = meta.tags;
  return {
    channel,
    header,
    parentHeader: isJsonObject(parentHeader) ? parentHeader : {},
    metadata: meta,
    content: isJsonObject(content) ? content : {},
    tagsJson: Array.isArray(tags) ? JSON.stringify(tags) : undefined,
  };
}
