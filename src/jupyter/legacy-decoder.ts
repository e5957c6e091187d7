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

/**
 * The legacy ("default") kernel WebSocket format (JupyterLab 3, Notebook 6, any server without the v1
 * subprotocol): text frames carry the whole message as JSON; binary frames carry messages with buffers
 * as `uint32 BE nbufs, uint32 BE offsets[nbufs], JSON, buffers…` (offset[0] = start of the JSON).
 */
export class LegacyDecoder implements KernelMessageDecoder {
  decode(opcode: 1 | 2, payload: Buffer, wanted?: ExecuteType): KernelMessage | undefined {
    const json = opcode === 1 ? payload : binaryJsonPart(payload);
    // Nearly all traffic is iopub output; a byte search is far cheaper than parsing it.
    if (json === undefined || !mentionsExecute(json, wanted)) return undefined;
    const message = parseJson(json.toString("utf8"));
    if (!isJsonObject(message) || !isJsonObject(message.header)) return undefined;
    if (!isExecuteMessageType(message.header.msg_type, wanted)) return undefined;
    // jupyter_server treats a message without a channel as a shell message.
    const channel = typeof message.channel === "string" ? message.channel : "shell";
    return kernelMessage(channel, message.header, message.parent_header, message.metadata, message.content);
  }
}

/** The JSON part of a legacy binary message, or undefined when the offset table does not fit the frame. */
function binaryJsonPart(payload: Buffer): Buffer | undefined {
  if (payload.length < 8) return undefined;
  const parts = payload.readUInt32BE(0);
  if (parts < 1 || 4 * (parts + 1) > payload.length) return undefined;
  const start = payload.readUInt32BE(4);
  const end = parts > 1 ? payload.readUInt32BE(8) : payload.length;
  if (start < 4 * (parts + 1) || end < start || end > payload.length) return undefined;
  return payload.subarray(start, end);
}
