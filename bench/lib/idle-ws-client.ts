import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { agentOptions, exitWithParent, numberOption } from "./agent-io.js";

/**
 * Idle-connection load (agent process): opens `count` kernel WebSockets through the proxy, `concurrency`
 * at a time, prints `OPENED <n> FAILED <m>`, then holds them silently until it is stopped.
 */
const options = agentOptions(["url", "count", "concurrency"]);
const baseUrl = options.url ?? "";
const count = numberOption(options, "count", 1000);
const concurrency = numberOption(options, "concurrency", 100);

const held: WebSocket[] = [];
let failed = 0;
let next = 0;

function openOne(): Promise<void> {
  const url = `${baseUrl}/user/bench/api/kernels/${randomUUID()}/channels?session_id=${randomUUID()}`;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve) => {
    ws.once("open", () => {
      held.push(ws);
      resolve();
    });
    ws.once("error", () => {
      failed++;
      resolve();
    });
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
