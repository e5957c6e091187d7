import type { IncomingMessage } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import t, { type Test } from "tap";
import WebSocket, { WebSocketServer } from "ws";
import { resolveConfig } from "../../../src/config/resolve-config.js";
import { Runtime } from "../../../src/runtime/runtime.js";
import type { WebSocketRelay } from "../../../src/websocket/ws-relay.js";
import { startEchoBackend } from "../../support/echo-backend.js";
import { captureLogger } from "../../support/log-capture.js";
import { tempDir } from "../../support/temp-dir.js";
import { waitUntil } from "../../support/wait.js";

/**
 * The proxy built in-process by its runtime, as the binary builds it (dispatcher → relay → kernel tap), so that
 * what an open pair keeps reachable can be checked with the garbage collector.
 */

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface RelayStand {
  url: string;
  relay: WebSocketRelay;
  /** Every upgrade request the listener received, held weakly. */
  upgrades: WeakRef<IncomingMessage>[];
  messages: () => string[];
}

async function startRelay(t: Test, target: string, proxyTimeoutMs?: number): Promise<RelayStand> {
  const { logger, messages } = captureLogger();
  const config = resolveConfig(
    {
      ip: "127.0.0.1",
      port: 0,
      apiIp: "127.0.0.1",
      apiPort: 0,
      defaultTarget: target,
      dataDir: tempDir(t, "ltictr-relay-"),
      ...(proxyTimeoutMs === undefined ? {} : { proxyTimeout: proxyTimeoutMs }),
    },
    {},
  );
  const runtime = await Runtime.start(config, logger);
  const upgrades: WeakRef<IncomingMessage>[] = [];
  runtime.publicServer.prependListener(
    "upgrade",
    (req: IncomingMessage) => void upgrades.push(new WeakRef(req)),
  );
  t.teardown(() => runtime.stop());
  const bound = runtime.status().listeners.public;
  const port = bound.kind === "tcp" ? bound.port : 0;
  return { url: `ws://127.0.0.1:${port}`, relay: runtime.parts.relay, upgrades, messages };
}

function kernelUrl(base: string): string {
  return `${base}/user/bob/api/kernels/${randomUUID()}/channels?session_id=${randomUUID()}&token=secret`;
}

interface Opened {
  ws: WebSocket;
  /** The first message; listened for from the start, as it may arrive with the 101. */
  first: Promise<string>;
}

function open(url: string): Promise<Opened> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const first = nextMessage(ws);
  return new Promise((resolve, reject) =>
    ws.once("open", () => resolve({ ws, first })).once("error", reject),
  );
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once("message", (data) => resolve(String(data))));
}

t.test("an open relayed kernel socket keeps nothing of its upgrade request", async (t) => {
  const backend = await startEchoBackend();
  t.teardown(() => backend.close());
  const stand = await startRelay(t, backend.target);
  const sockets: WebSocket[] = [];
  for (let i = 0; i < 3; i++) {
    const { ws, first } = await open(kernelUrl(stand.url));
    t.teardown(() => ws.terminate());
    t.equal(await first, "connected", "the backend's first message comes through");
    sockets.push(ws);
  }
  t.equal(stand.upgrades.length, 3);
  t.equal(stand.relay.openCount, 3);

  // Collected requests are what an idle socket no longer pays for; a listener or closure holding one keeps it.
  await waitUntil(
    async () => {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      return stand.upgrades.every((ref) => ref.deref() === undefined);
    },
    "the upgrade requests to be collected",
    10_000,
    10,
  );
  t.pass("no upgrade request is reachable while its pair is open");

  for (const ws of sockets) {
    const reply = nextMessage(ws);
    ws.send("still relayed");
    t.match(JSON.parse(await reply), { message: "still relayed" }, "the pair still relays both ways");
  }
});

t.test("shutdown closes with 1001 also a socket that never carried a byte", async (t) => {
  const backendCloses: number[] = [];
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => wss.once("listening", resolve));
  wss.on("connection", (ws) => ws.on("close", (code) => backendCloses.push(code)));
  t.teardown(() => new Promise((resolve) => wss.close(resolve)));
  const stand = await startRelay(t, `http://127.0.0.1:${(wss.address() as AddressInfo).port}`);

  const { ws: silent } = await open(kernelUrl(stand.url));
  const { ws: used } = await open(kernelUrl(stand.url));
  const echoed = new Promise((resolve) => wss.clients.forEach((c) => c.once("message", resolve)));
  used.send("one frame");
  await echoed;
  const clientCloses = [silent, used].map(
    (ws) => new Promise<number>((resolve) => ws.once("close", (code) => resolve(code))),
  );
  stand.relay.closeAll(2000);
  t.same(await Promise.all(clientCloses), [1001, 1001], "both clients were told 'going away'");
  await waitUntil(() => backendCloses.length === 2, "the backend to see both closes");
  t.same(backendCloses, [1001, 1001], "the upstream got a (masked) 1001 on both sockets");
});

t.test("an upstream that never answers the upgrade gets the client a 503", async (t) => {
  const held: Socket[] = [];
  const silent = createNetServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    for (const socket of held) socket.destroy();
    return new Promise((resolve) => silent.close(resolve));
  });
  const stand = await startRelay(t, `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 200);
  const { port } = new URL(stand.url);
  const client = connect(Number(port), "127.0.0.1");
  t.teardown(() => client.destroy());
  let answer = "";
  client.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
  const ended = new Promise((resolve) => client.once("end", resolve));
  client.write(
    "GET /api/kernels/x/channels HTTP/1.1\r\nHost: proxy\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  );
  await ended;
  t.match(answer, /^HTTP\/1\.1 503 /, "503 once the response deadline passed");
  t.equal(held.length, 1, "the upstream was reached");
  t.ok(
    stand.messages().some((m) => /^503 GET \/api\/kernels\/x\/channels/.test(m)),
    "the failure is logged like CHP's",
  );
});
