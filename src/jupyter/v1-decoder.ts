import {
  isExecuteMessageType,
  kernelMessage,
  mentionsExecute,
  parseJson,
  type ExecuteType,
  type KernelMessage,
  type KernelMessageDecoder,
} from "./kernel-message.js";
import { isJsonObject } from "../json-object.js";

/** The offsets every v1 message has: channel, header, parent_header, metadata, content, end of content. */
const REQUIRED_OFFSETS = 6;

/**
 * The `v1.kernel.websocket.jupyter.org` format (JupyterLab 4 / Notebook 7 on jupyter_server ≥ 2): one binary
 * message = `uint64 LE n, uint64 LE offsets[n]`, then channel, header, parent_header, metadata, content
 * (each UTF-8 JSON) and buffers, delimited by the offsets. Only the header is parsed unless it names an
 * execute_request/execute_reply.
 */
export class V1Decoder implements KernelMessageDecoder {
  decode(opcode: 1 | 2, payload: Buffer, wanted?: ExecuteType): KernelMessage | undefined {
    if (opcode !== 2) return undefined;
    const offsets = readOffsets(payload);
    if (offsets === undefined) return undefined;
    const [channelStart, headerStart, parentStart, metadataStart, contentStart, contentEnd] = offsets;
    const headerBytes = payload.subarray(headerStart, parentStart);
    if (!mentionsExecute(headerBytes, wanted)) return undefined;
    const header = parseJson(headerBytes.toString("utf8"));
    if (!isJsonObject(header) || !isExecuteMessageType(header.msg_type, wanted)) return undefined;
    return kernelMessage(
      payload.toString("utf8", channelStart, headerStart),
      header,
      parseJson(payload.toString("utf8", parentStart, metadataStart)),
      parseJson(payload.toString("utf8", metadataStart, contentStart)),
      parseJson(payload.toString("utf8", contentStart, contentEnd)),
    );
  }
}

const SHELL = Buffer.from("shell");

/**
 * Whether a v1 message lying at `bytes[start, start + length)` travels on the shell channel, read from its offset
 * table without decoding anything: the kernel's replies (execute_reply among them) do, its outputs (iopub) do not.
 * A message whose table cannot be read counts as shell, so the decoder decides.
 */
export function v1OnShellChannel(bytes: Buffer, start: number, length: number): boolean {
  if (length < 24) return true;
  const count = readUint64(bytes, start);
  const channelStart = readUint64(bytes, start + 8);
  const channelEnd = readUint64(bytes, start + 16);
  if (
    count === undefined ||
    channelStart === undefined ||
    channelEnd === undefined ||
    count < REQUIRED_OFFSETS
  )
    return true;
  if (channelStart < 8 * (count + 1) || channelEnd < channelStart || channelEnd > length) return true;
  if (channelEnd - channelStart !== SHELL.length) return false;
  // Byte by byte, not `Buffer.compare`: its checks and native call cost more than the five bytes (`iopub`, as
  // long as `shell`, differs at the first).
  for (let i = 0; i < SHELL.length; i++) if (bytes[start + channelStart + i] !== SHELL[i]) return false;
  return true;
}

/**
 * `bytes.readUInt32LE(at)` for an `at` the caller has checked: the offset table is read for every kernel message, and
 * Node's method (argument checks, then the same four loads) was not inlined there (a tenth of the tap's time per
 * message).
 */
function uint32At(bytes: Buffer, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 0x1000000;
}

/** The first six offsets, checked to be inside the message and in order; undefined for anything malformed. */
function readOffsets(payload: Buffer): number[] | undefined {
  const count = readUint64(payload, 0);
  if (count === undefined || count < REQUIRED_OFFSETS) return undefined;
  const tableEnd = 8 * (count + 1);
  if (tableEnd > payload.length) return undefined;
  const offsets: number[] = [];
  let previous = tableEnd;
  for (let i = 0; i < REQUIRED_OFFSETS; i++) {
    const offset = readUint64(payload, 8 * (i + 1));
    if (offset === undefined || offset < previous || offset > payload.length) return undefined;
    offsets.push(offset);
    previous = offset;
  }
  return offsets;
}

/** A little-endian uint64 that fits in 32 bits (no message is 4 GiB), else undefined (also past the end). */
function readUint64(bytes: Buffer, at: number): number | undefined {
  if (at + 8 > bytes.length || uint32At(bytes, at + 4) !== 0) return undefined;
  return uint32At(bytes, at);
}
