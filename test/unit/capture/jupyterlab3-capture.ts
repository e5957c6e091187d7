/**
 * The JupyterLab 3 capture in test/fixtures/jupyterlab3-capture, turned back into wire messages.
 * client.dat / server.dat hold decoded kernel messages as pretty-printed JSON objects;
 * client.rslt / server.rslt hold what the C proxy extracted from them.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CAPTURE_DIR = fileURLToPath(
  new URL("../../../../test/fixtures/jupyterlab3-capture/", import.meta.url),
);

export type JsonObject = Record<string, unknown>;

export interface CaptureObjects {
  messages: JsonObject[];
  /** Blocks that were not valid JSON and had to be repaired, by index into `messages`. */
  repaired: number[];
}

/**
 * The capture's debug printer mangled multi-line arrays into a bare `"traceback"` member and then lost the
 * rest of the object (`buffers` and `channel`). Repair: the member gets an empty array and the lost tail is
 * put back — `shell` for execute_reply, `iopub` for the error output, the channels these messages travel on.
 */
function repairBlock(block: string): JsonObject {
  const fixed = JSON.parse(block.replace(/^(\s*"[^"]*")\s*$/gm, "$1: []")) as JsonObject;
  const header = fixed.header as JsonObject;
  fixed.buffers = [];
  fixed.channel = header.msg_type === "execute_reply" ? "shell" : "iopub";
  return fixed;
}

export function loadCapture(file: "client.dat" | "server.dat"): CaptureObjects {
  const text = readFileSync(`${CAPTURE_DIR}${file}`, "utf8");
  const blocks = text.trimEnd().split(/(?<=^\})\n(?=\{$)/m);
  const repaired: number[] = [];
  const messages = blocks.map((block, index) => {
    try {
      return JSON.parse(block) as JsonObject;
    } catch {
      repaired.push(index);
      return repairBlock(block);
    }
  });
  return { messages, repaired };
}

/** `KEY = "value"` / `TAGS = [raw json]` blocks separated by dashes; values unquoted, TAGS kept raw. */
export function loadResults(file: "client.rslt" | "server.rslt"): Record<string, string>[] {
  const text = readFileSync(`${CAPTURE_DIR}${file}`, "utf8");
  return text
    .split(/^-+$/m)
    .map((block) => {
      const entry: Record<string, string> = {};
      for (const line of block.split("\n")) {
        const match = /^(\w+)\s*=\s*(.*)$/.exec(line.trim());
        if (!match) continue;
        const raw = match[2]!;
        entry[match[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
      }
      return entry;
    })
    .filter((entry) => Object.keys(entry).length > 0);
}

/** Python's `json.dumps` with default separators (", " and ": "); `ensureAscii` as Python's default. */
export function pythonJson(value: unknown, ensureAscii: boolean): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    return ensureAscii && typeof value === "string"
      ? text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
      : text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => pythonJson(v, ensureAscii)).join(", ")}]`;
  const members = Object.entries(value as JsonObject).map(
    ([k, v]) => `${pythonJson(k, ensureAscii)}: ${pythonJson(v, ensureAscii)}`,
  );
  return `{${members.join(", ")}}`;
}

/**
 * A `v1.kernel.websocket.jupyter.org` message as jupyter_server frames it: uint64 LE offset count (6, no buffers),
 * uint64 LE offsets, then channel, header, parent_header, metadata, content.
 */
export function encodeV1(message: JsonObject, serialise: (part: unknown) => string): Buffer {
  const parts = [
    Buffer.from(String(message.channel)),
    Buffer.from(serialise(message.header ?? {})),
    Buffer.from(serialise(message.parent_header ?? {})),
    Buffer.from(serialise(message.metadata ?? {})),
    Buffer.from(serialise(message.content ?? {})),
  ];
  const count = parts.length + 1;
  const table = Buffer.alloc(8 * (count + 1));
  table.writeBigUInt64LE(BigInt(count), 0);
  let offset = table.length;
  table.writeBigUInt64LE(BigInt(offset), 8);
  parts.forEach((part, i) => {
    offset += part.length;
    table.writeBigUInt64LE(BigInt(offset), 8 * (i + 2));
  });
  return Buffer.concat([table, ...parts]);
}
