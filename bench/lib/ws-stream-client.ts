import { randomUUID } from "node:crypto";
import WebSocket, { type RawData } from "ws";
import { agentOptions, exitWithParent, numberOption, printResult } from "./agent-io.js";
import {
  V1_PROTOCOL,
  encodeFromClient,
  executeRequest,
  isBinaryFormat,
  type WireFormat,
} from "./kernel-messages.js";

/**
 * Kernel-channel load (agent process): opens `connections` kernel WebSockets at
 * `/user/bench/api/kernels/<uuid>/channels?session_id=<uuid>` (the path the proxy taps), sends
 * `requests` execute_requests on each, and counts every message the fake kernel streams back until
 * all `requests × msgs-per-request` have arrived. Timing starts when the first request is sent.
 */
const options = agentOptions([
  "url",
  "connections",
  "requests",
  "msgs-per-request",
  "format",
  "timeout-ms",
  "rate",
]);
const baseUrl = options.url ?? "";
const connections = numberOption(options, "connections", 1);
const requests = numberOption(options, "requests", 100);
const msgsPerRequest = numberOption(options, "msgs-per-request", 100);
const timeoutMs = numberOption(options, "timeout-ms", 120_000);
const format: WireFormat = options.format === "legacy" ? "legacy" : "v1";
/**
 * Messages per second over all sockets the requests are paced for (each request's answer still streams as fast as
 * it comes); 0: every request is sent at once, and the kernel streams as fast as the path allows.
 */
const rate = numberOption(options, "rate", 0);

const expectedPerConnection = requests * msgsPerRequest;
/** The kernel's `json.dumps` spelling; the first `msg_type` in either wire format is the header's. */
const MSG_TYPE_KEY = Buffer.from('"msg_type": "');
const REPLY_TYPE = Buffer.from('execute_reply"');
let messages = 0;
let replies = 0;
let bytes = 0;
let firstSendAt = 0;
let lastMessageAt = 0;
let unfinished = connections;
let finished = false;

function finish(incomplete: boolean): void {
  if (finished) return;
  finished = true;
  const seconds = (lastMessageAt - firstSendAt) / 1000;
  void printResult({
    format,
    connections,
    expected: expectedPerConnection * connections,
    expectedReplies: requests * connections,
    messages,
    replies,
    bytes,
    seconds,
    messagesPerSecond: seconds > 0 ? messages / seconds : 0,
    megabytesPerSecond: seconds > 0 ? bytes / 1e6 / seconds : 0,
    incomplete,
  }).then(() => process.exit(0));
}

interface KernelSocket {
  ws: WebSocket;
  session: string;
}

function open(): Promise<KernelSocket> {
  const session = randomUUID();
  const url = `${baseUrl}/user/bench/api/kernels/${randomUUID()}/channels?session_id=${session}`;
  const ws = new WebSocket(url, format === "v1" ? [V1_PROTOCOL] : [], { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, session }));
    ws.once("error", reject);
  });
}

/**
 * Looks at the header's `msg_type` only. A search of the whole 1.4 KB message (`includes`) cost the load core ≈ 1.2 µs
 * per message (this client's CPU for 200,000 messages: 0.64 s with it, 0.39 s without), time the fake kernel on the
 * same core then lacked, so the load itself capped every target's rate, the direct path's too.
 */
function isExecuteReply(message: Buffer): boolean {
  const key = message.indexOf(MSG_TYPE_KEY);
  if (key < 0) return false;
  const type = key + MSG_TYPE_KEY.length;
  if (type + REPLY_TYPE.length > message.length) return false;
  return message.compare(REPLY_TYPE, 0, REPLY_TYPE.length, type, type + REPLY_TYPE.length) === 0;
}

function drive(ws: WebSocket, session: string): void {
  let received = 0;
  ws.on("message", (data: RawData) => {
    const buf = data as Buffer;
    messages++;
    bytes += buf.length;
    if (isExecuteReply(buf)) replies++;
    lastMessageAt = performance.now();
    if (++received === expectedPerConnection) {
      ws.close();
      if (--unfinished === 0) finish(false);
    }
  });
  const binary = isBinaryFormat(format);
  const send = (i: number) => ws.send(encodeFromClient(format, executeRequest(session, i + 1)), { binary });
  if (rate <= 0) {
    for (let i = 0; i < requests; i++) send(i);
    return;
  }
  const intervalMs = (1000 * msgsPerRequest * connections) / rate;
  let sent = 0;
  const pace = () => {
    // Requests due by now go out, so that timer lateness does not lower the rate.
    const due = Math.min(requests, Math.floor((performance.now() - firstSendAt) / intervalMs) + 1);
    while (sent < due) send(sent++);
    if (sent < requests) setTimeout(pace, Math.max(1, firstSendAt + sent * intervalMs - performance.now()));
  };
  pace();
}

exitWithParent();
const sockets = await Promise.all(Array.from({ length: connections }, open));
if (format === "v1" && sockets.some(({ ws }) => ws.protocol !== V1_PROTOCOL)) {
  process.stderr.write(`the server did not select ${V1_PROTOCOL}\n`);
  process.exit(1);
}
setTimeout(() => finish(true), timeoutMs).unref();
firstSendAt = performance.now();
for (const { ws, session } of sockets) drive(ws, session);
