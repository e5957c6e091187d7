import { randomUUID } from "node:crypto";

/**
 * Kernel messages as they cross the WebSocket between JupyterLab and jupyter_server: the browser's
 * kernel_info_request and execute_request, and the kernel's replies, iopub `status` and `stream` outputs, in
 * either wire format — v1 (`v1.kernel.websocket.jupyter.org`: binary, a little-endian uint64 offset table, then
 * channel and the four JSON parts) or legacy (one JSON text frame with a `channel` key).
 */
export type WireFormat = "v1" | "legacy";
export const V1_PROTOCOL = "v1.kernel.websocket.jupyter.org";

type Json = Record<string, unknown>;

export interface KernelMessage {
  channel: string;
  header: Json;
  parent_header: Json;
  metadata: Json;
  content: Json;
}

/** Python's `json.dumps` default separators (`", "` and `": "`), which jupyter_server and ipykernel emit. */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Json).map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`);
    return `{${entries.join(", ")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** v1 binary message: uint64-LE offset count, offset table, channel, then the four JSON parts. */
export function encodeV1(message: KernelMessage, stringify: (v: unknown) => string = JSON.stringify): Buffer {
  const parts = [
    Buffer.from(message.channel, "utf8"),
    Buffer.from(stringify(message.header), "utf8"),
    Buffer.from(stringify(message.parent_header), "utf8"),
    Buffer.from(stringify(message.metadata), "utf8"),
    Buffer.from(stringify(message.content), "utf8"),
  ];
  const offsetCount = parts.length + 1;
  const table = Buffer.alloc(8 * (offsetCount + 1));
  table.writeBigUInt64LE(BigInt(offsetCount), 0);
  let position = table.length;
  table.writeBigUInt64LE(BigInt(position), 8);
  parts.forEach((part, i) => {
    position += part.length;
    table.writeBigUInt64LE(BigInt(position), 8 * (i + 2));
  });
  return Buffer.concat([table, ...parts]);
}

/** Server→browser legacy text: jupyter_server's key order, with the top-level msg_id/msg_type copies. */
export function encodeLegacyFromServer(message: KernelMessage): string {
  return pythonJson({
    header: message.header,
    msg_id: message.header.msg_id,
    msg_type: message.header.msg_type,
    parent_header: message.parent_header,
    metadata: message.metadata,
    content: message.content,
    buffers: [],
    channel: message.channel,
  });
}

/** Browser→server legacy text: JupyterLab's compact `JSON.stringify` with its key order. */
export function encodeLegacyFromClient(message: KernelMessage): string {
  return JSON.stringify({
    buffers: [],
    channel: message.channel,
    content: message.content,
    header: message.header,
    metadata: message.metadata,
    parent_header: message.parent_header,
  });
}

function asObject(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

function parseObject(text: string): Json | undefined {
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Decodes a v1 binary message; undefined when the bytes are not one. */
export function decodeV1(buf: Buffer): KernelMessage | undefined {
  if (buf.length < 56) return undefined;
  const count = Number(buf.readBigUInt64LE(0));
  if (count < 6 || 8 * (count + 1) > buf.length) return undefined;
  const offsets = Array.from({ length: count }, (_, i) => Number(buf.readBigUInt64LE(8 * (i + 1))));
  if (offsets.some((o, i) => o > buf.length || (i > 0 && o < offsets[i - 1]))) return undefined;
  const part = (i: number) => buf.toString("utf8", offsets[i], offsets[i + 1]);
  const header = parseObject(part(1));
  const parent = parseObject(part(2));
  const metadata = parseObject(part(3));
  const content = parseObject(part(4));
  if (!header || !parent || !metadata || !content) return undefined;
  return { channel: part(0), header, parent_header: parent, metadata, content };
}

/** Decodes a legacy JSON text message; undefined when it is not one. */
export function decodeLegacy(text: string): KernelMessage | undefined {
  const message = parseObject(text);
  const header = asObject(message?.header);
  if (!message || !header) return undefined;
  return {
    channel: typeof message.channel === "string" ? message.channel : "shell",
    header,
    parent_header: asObject(message.parent_header) ?? {},
    metadata: asObject(message.metadata) ?? {},
    content: asObject(message.content) ?? {},
  };
}

function header(msgType: string, session: string, username: string, version: string): Json {
  return {
    msg_id: randomUUID(),
    msg_type: msgType,
    username,
    session,
    date: new Date().toISOString(),
    version,
  };
}

/** A JupyterLab 4 cell run: `cellId` and `tags` in the metadata, as the capture expects. */
export function executeRequest(session: string, cellNumber: number): KernelMessage {
  return {
    channel: "shell",
    header: { ...header("execute_request", session, "", "5.2"), subshell_id: null },
    parent_header: {},
    metadata: {
      tags: ["filename: bench.ipynb", `codenum: ${cellNumber}`],
      deletedCells: [],
      recordTiming: false,
      cellId: randomUUID(),
    },
    content: {
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: true,
      stop_on_error: true,
      code: `for i in range(100): print(i, "x" * 1000)  # cell ${cellNumber}`,
    },
  };
}

/** What JupyterLab sends first on every kernel socket it opens (and again after each reconnect). */
export function kernelInfoRequest(session: string): KernelMessage {
  return {
    channel: "shell",
    header: header("kernel_info_request", session, "", "5.2"),
    parent_header: {},
    metadata: {},
    content: {},
  };
}

/** ipykernel 6's `kernel_info_reply` (Python 3.11), child of `request`. */
export function kernelInfoReply(request: KernelMessage, kernelSession: string): KernelMessage {
  const doc = (topic: string) => `https://docs.python.org/3.11/${topic}`;
  return {
    channel: "shell",
    header: header("kernel_info_reply", kernelSession, "bench", "5.3"),
    parent_header: request.header,
    metadata: {},
    content: {
      status: "ok",
      protocol_version: "5.3",
      implementation: "ipython",
      implementation_version: "8.20.0",
      language_info: {
        name: "python",
        version: "3.11.2",
        mimetype: "text/x-python",
        codemirror_mode: { name: "ipython", version: 3 },
        pygments_lexer: "ipython3",
        nbconvert_exporter: "python",
        file_extension: ".py",
      },
      banner:
        "Python 3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]\nType 'copyright', 'credits' or 'license' for " +
        "more information\nIPython 8.20.0 -- An enhanced Interactive Python. Type '?' for help.\n",
      help_links: [
        { text: "Python Reference", url: doc("") },
        { text: "IPython Reference", url: "https://ipython.org/documentation.html" },
        { text: "NumPy Reference", url: "https://docs.scipy.org/doc/numpy/reference/" },
        { text: "SciPy Reference", url: "https://docs.scipy.org/doc/scipy/reference/" },
        { text: "Matplotlib Reference", url: "https://matplotlib.org/contents.html" },
        { text: "SymPy Reference", url: "http://docs.sympy.org/latest/index.html" },
        { text: "pandas Reference", url: "https://pandas.pydata.org/pandas-docs/stable/" },
      ],
      debugger: true,
    },
  };
}

/** The iopub `status` (busy / idle) ipykernel publishes around every request it handles. */
export function statusMessage(
  request: KernelMessage,
  kernelSession: string,
  state: "busy" | "idle",
): KernelMessage {
  return {
    channel: "iopub",
    header: header("status", kernelSession, "bench", "5.3"),
    parent_header: request.header,
    metadata: {},
    content: { execution_state: state },
  };
}

/** An iopub `stream` output of about `textBytes` of stdout, child of `request`. */
export function streamOutput(
  request: KernelMessage,
  kernelSession: string,
  textBytes: number,
): KernelMessage {
  return {
    channel: "iopub",
    header: header("stream", kernelSession, "bench", "5.3"),
    parent_header: request.header,
    metadata: {},
    content: { name: "stdout", text: `${"x".repeat(Math.max(0, textBytes - 1))}\n` },
  };
}

/** ipykernel's shell `execute_reply` with status ok, child of `request`. */
export function executeReply(
  request: KernelMessage,
  kernelSession: string,
  executionCount: number,
): KernelMessage {
  return {
    channel: "shell",
    header: header("execute_reply", kernelSession, "bench", "5.3"),
    parent_header: request.header,
    metadata: {
      started: new Date().toISOString(),
      dependencies_met: true,
      engine: kernelSession,
      status: "ok",
    },
    content: { status: "ok", execution_count: executionCount, user_expressions: {}, payload: [] },
  };
}

/** Wire bytes as the kernel side sends them (v1 parts are the kernel's own `json.dumps` bytes). */
export function encodeFromServer(format: WireFormat, message: KernelMessage): Buffer {
  return format === "v1"
    ? encodeV1(message, pythonJson)
    : Buffer.from(encodeLegacyFromServer(message), "utf8");
}

/** Wire bytes as JupyterLab sends them. */
export function encodeFromClient(format: WireFormat, message: KernelMessage): Buffer {
  return format === "v1" ? encodeV1(message) : Buffer.from(encodeLegacyFromClient(message), "utf8");
}

/** v1 messages are binary frames, legacy ones (without buffers) text frames. */
export function isBinaryFormat(format: WireFormat): boolean {
  return format === "v1";
}

export function decodeMessage(format: WireFormat, data: Buffer): KernelMessage | undefined {
  return format === "v1" ? decodeV1(data) : decodeLegacy(data.toString("utf8"));
}
