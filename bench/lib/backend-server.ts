import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import { agentOptions, exitWithParent, numberOption } from "./agent-io.js";
import {
  V1_PROTOCOL,
  decodeMessage,
  encodeFromServer,
  executeReply,
  isBinaryFormat,
  kernelInfoReply,
  statusMessage,
  streamOutput,
  type KernelMessage,
  type WireFormat,
} from "./kernel-messages.js";

/**
 * The upstream every target forwards to (agent process, pinned to the load core):
 *  - HTTP: an 11-byte body, or 1 MiB for paths ending in `/1mb`; keep-alive kept open for the whole run.
 *  - WebSocket: a fake Jupyter kernel. For each execute_request it receives it streams
 *    `msgs-per-request − 1` iopub `stream` outputs and then the shell `execute_reply`, in the wire
 *    format the client negotiated (v1 if offered, as jupyter_server ≥ 2 does; legacy otherwise). A
 *    kernel_info_request is answered as ipykernel does: iopub status busy, the shell kernel_info_reply, idle.
 * Prints `LISTENING <port>` when ready.
 */
const options = agentOptions(["msgs-per-request", "content-bytes"]);
const msgsPerRequest = numberOption(options, "msgs-per-request", 100);
const contentBytes = numberOption(options, "content-bytes", 1024);

const SMALL_BODY = Buffer.from("hello world");
const LARGE_BODY = Buffer.alloc(1024 * 1024, "x");

function serveHttp(req: IncomingMessage, res: ServerResponse): void {
  const body = req.url?.endsWith("/1mb") ? LARGE_BODY : SMALL_BODY;
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
}

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  maxPayload: 64 * 1024 * 1024,
  handleProtocols: (offered) => (offered.has(V1_PROTOCOL) ? V1_PROTOCOL : false),
});

wss.on("connection", (ws: WebSocket) => {
  const format: WireFormat = ws.protocol === V1_PROTOCOL ? "v1" : "legacy";
  const kernelSession = randomUUID();
  const queue: KernelMessage[] = [];
  let streaming = false;
  let executionCount = 0;

  const stream = async () => {
    streaming = true;
    for (let request = queue.shift(); request; request = queue.shift()) {
      const binary = isBinaryFormat(format);
      // One encoded output reused for the whole cell: the proxy cannot tell, and the backend stays cheap.
      const output = encodeFromServer(format, streamOutput(request, kernelSession, contentBytes));
      for (let i = 1; i < msgsPerRequest; i++) ws.send(output, { binary });
      const reply = encodeFromServer(format, executeReply(request, kernelSession, ++executionCount));
      // Waiting for the reply's write to complete bounds what the backend buffers per connection.
      const sent = await new Promise<boolean>((resolve) =>
        ws.send(reply, { binary }, (err) => resolve(!err)),
      );
      if (!sent) break;
    }
    streaming = false;
  };

  ws.on("message", (data: RawData) => {
    const bytes = Buffer.isBuffer(data)
      ? data
      : Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.from(data);
    const message = decodeMessage(format, bytes);
    if (message?.channel !== "shell") return;
    if (message.header.msg_type === "kernel_info_request") {
      const binary = isBinaryFormat(format);
      for (const answer of [
        statusMessage(message, kernelSession, "busy"),
        kernelInfoReply(message, kernelSession),
        statusMessage(message, kernelSession, "idle"),
      ])
        ws.send(encodeFromServer(format, answer), { binary });
      return;
    }
    if (message.header.msg_type !== "execute_request") return;
    queue.push(message);
    if (!streaming) void stream();
  });
  ws.on("error", () => ws.terminate());
});

const server = createServer(serveHttp);
// Longer than any proxy's upstream keep-alive, so idle pooled connections are closed by the proxy side.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  socket.on("error", () => socket.destroy());
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
});
server.on("clientError", (_err, socket) => socket.destroy());

exitWithParent();
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") process.stdout.write(`LISTENING ${address.port}\n`);
});
