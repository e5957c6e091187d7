import { randomUUID } from "node:crypto";
import WebSocket, { type RawData } from "ws";
import { agentOptions, exitWithParent, numberOption } from "./agent-io.js";
import { V1_PROTOCOL, decodeV1, encodeV1, kernelInfoRequest } from "./kernel-messages.js";

/**
 * Idle-connection load (agent process): opens `count` kernel WebSockets through the proxy, `concurrency`
 * at a time, prints `OPENED <n> FAILED <m>`, then holds them silently until it is stopped. With
 * `--kernel-info 1` each socket first does what JupyterLab does on every kernel socket it opens: it offers the
 * v1 protocol, sends a kernel_info_request and waits for the kernel_info_reply (the kernel's iopub status
 * messages around it pass too); only then does it count as opened.
 */
const options = agentOptions(["url", "count", "concurrency", "kernel-info"]);
const baseUrl = options.url ?? "";
const count = numberOption(options, "count", 1000);
const concurrency = numberOption(options, "concurrency", 100);
const kernelInfo = numberOption(options, "kernel-info", 0) === 1;

const held: WebSocket[] = [];
let failed = 0;
let next = 0;

/** Sends a kernel_info_request and resolves when its reply has arrived (false if the socket failed first). */
function exchangeKernelInfo(ws: WebSocket): Promise<boolean> {
  const request = kernelInfoRequest(randomUUID());
  ws.send(encodeV1(request), { binary: true });
  return new Promise((resolve) => {
    const onMessage = (data: RawData) => {
      const reply = decodeV1(data as Buffer);
      if (reply?.header.msg_type !== "kernel_info_reply") return;
      ws.off("message", onMessage);
      resolve(true);
    };
    ws.on("message", onMessage);
    ws.once("close", () => resolve(false));
  });
}

function openOne(): Promise<void> {
  const url = `${baseUrl}/user/bench/api/kernels/${randomUUID()}/channels?session_id=${randomUUID()}`;
  const ws = new WebSocket(url, kernelInfo ? [V1_PROTOCOL] : [], { perMessageDeflate: false });
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      if (ok) held.push(ws);
      else failed++;
      resolve();
    };
    ws.once("open", () => {
      if (kernelInfo) void exchangeKernelInfo(ws).then(settle);
      else settle(true);
    });
    ws.once("error", () => settle(false));
  });
}

async function worker(): Promise<void> {
  while (next < count) {
    next++;
    await openOne();
  }
}

exitWithParent();
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
process.stdout.write(`OPENED ${held.length} FAILED ${failed}\n`);
// Kept alive by the open sockets; the orchestrator stops this process when it has sampled memory.
setInterval(() => undefined, 60_000);
