import t from "tap";
import { WebSocket } from "ws";
import { startEchoBackend, startRedirectingBackend } from "../support/echo-backend.js";
import { freePort } from "../support/ports.js";
import { sleep } from "../support/wait.js";
import { webRequest } from "../support/web-client.js";
import { openWebSocket } from "../support/websocket-client.js";
import { startProxyUnderTest } from "./harness.js";

// `last_activity` rules. Writes are throttled to one per second per route (a deliberate difference), so every route gets one
// second of quiet after its POST before the traffic whose effect is checked.

const echo = await startEchoBackend();
const redirect = await startRedirectingBackend("http://elsewhere.example/");
t.teardown(() => echo.close());
t.teardown(() => redirect.close());
const dead = `http://127.0.0.1:${await freePort()}`;

const proxy = await startProxyUnderTest(t, []);
const routes: Record<string, string> = {
  "/ok": echo.target,
  "/redirect": redirect.target,
  "/upload": redirect.target,
  "/dead": dead,
  "/ws/client": echo.target,
  "/ws/server": echo.target,
  "/ws/dead": dead,
};
const added: Record<string, number> = {};
for (const [path, target] of Object.entries(routes)) {
  await proxy.addRoute(path, target);
  added[path] = await proxy.lastActivity(path);
}
await sleep(1100);

t.test("a route is created with last_activity = now", async (t) => {
  for (const path of Object.keys(routes)) t.ok(Math.abs(added[path] - Date.now()) < 60_000, path);
});

t.test("19: a successful response updates last_activity", async (t) => {
  t.equal((await webRequest(`${proxy.url}/ok/x`)).status, 200);
  t.ok((await proxy.lastActivity("/ok")) > added["/ok"]);
});

t.test("a response with status >= 300 does not", async (t) => {
  t.equal((await webRequest(`${proxy.url}/redirect/x`)).status, 301);
  t.equal(await proxy.lastActivity("/redirect"), added["/redirect"]);
});

t.test("request body chunks count even when the response does not", async (t) => {
  const answer = await webRequest(`${proxy.url}/upload/x`, { method: "POST", body: "some notebook" });
  t.equal(answer.status, 301);
  t.ok((await proxy.lastActivity("/upload")) > added["/upload"]);
});

t.test("34: failures (503) never count", async (t) => {
  t.equal((await webRequest(`${proxy.url}/dead/x`)).status, 503);
  t.equal(await proxy.lastActivity("/dead"), added["/dead"]);
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/ws/dead/x`);
  const failed = await new Promise<boolean>((resolve) => {
    ws.once("error", () => resolve(true));
    ws.once("open", () => resolve(false));
  });
  t.ok(failed, "the WebSocket to a dead target fails");
  t.equal(await proxy.lastActivity("/ws/dead"), added["/ws/dead"]);
});

t.test("20: WebSocket messages from the client update last_activity", async (t) => {
  const client = await openWebSocket(t, `ws://127.0.0.1:${proxy.port}/ws/client/x`);
  t.equal(await client.next(), "connected");
  t.equal(await proxy.lastActivity("/ws/client"), added["/ws/client"], "opening does not count");
  client.ws.send("hi");
  await client.next();
  t.ok((await proxy.lastActivity("/ws/client")) > added["/ws/client"], "a client message does");
  await client.close();
});

t.test("WebSocket traffic from the server does not count", async (t) => {
  const client = await openWebSocket(t, `ws://127.0.0.1:${proxy.port}/ws/server/x`);
  t.equal(await client.next(), "connected");
  echo.broadcast("push 1");
  echo.broadcast("push 2");
  t.equal(await client.next(), "push 1");
  t.equal(await client.next(), "push 2");
  t.equal(await proxy.lastActivity("/ws/server"), added["/ws/server"]);
  client.ws.terminate();
});
