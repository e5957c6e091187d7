import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import { WebSocket } from "ws";
import { startEchoBackend, type EchoMessage } from "../support/echo-backend.js";
import { freePort } from "../support/ports.js";
import { rawExchange } from "../support/raw-exchange.js";
import { waitUntil } from "../support/wait.js";
import { openWebSocket } from "../support/websocket-client.js";
import { startProxyUnderTest } from "./harness.js";

// WebSocket proxying.

const root = await startEchoBackend({ path: "/" });
const prefixed = await startEchoBackend({ path: "/bar", targetPath: "/foo" });
t.teardown(() => root.close());
t.teardown(() => prefixed.close());

// An upstream that refuses every upgrade, as Tornado does when the Origin check fails.
const refusing = createServer((_req, res) => res.end());
refusing.on("upgrade", (_req, socket) => {
  socket.end("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nforbidden");
});
await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
t.teardown(() => new Promise<void>((resolve) => refusing.close(() => resolve())));

const proxy = await startProxyUnderTest(t, []);
await proxy.addRoute("/", root.target);
await proxy.addRoute("/bar", prefixed.target);
await proxy.addRoute("/missing", `http://127.0.0.1:${await freePort()}`);
await proxy.addRoute("/refusing", `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`);
const wsUrl = `ws://127.0.0.1:${proxy.port}`;

const upgradeRequest = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

t.test("20: basic WebSocket request", async (t) => {
  const client = await openWebSocket(t, `${wsUrl}/`);
  t.equal(await client.next(), "connected");
  client.ws.send("hi");
  const reply = JSON.parse(await client.next()) as EchoMessage;
  t.same(reply, { target: root.target, path: "/", message: "hi" });
  await client.close();
});

t.test("WebSocket URLs follow the same routing and target-path rules as HTTP", async (t) => {
  const before = prefixed.requests.length;
  const client = await openWebSocket(t, `${wsUrl}/bar/ws?x=1`);
  t.equal(await client.next(), "connected");
  t.equal(prefixed.requests[before]?.url, "/foo/bar/ws?x=1");
  client.ws.send("to bar");
  t.equal((JSON.parse(await client.next()) as EchoMessage).path, "/bar");
  await client.close();
});

t.test("large and binary messages pass unchanged, both ways", async (t) => {
  const client = await openWebSocket(t, `${wsUrl}/`);
  t.equal(await client.next(), "connected");
  const big = "x".repeat(3 * 1024 * 1024);
  client.ws.send(big);
  const reply = JSON.parse(await client.next(10_000)) as EchoMessage;
  t.equal(reply.message.length, big.length);
  const binary = Buffer.from([0, 1, 2, 255, 254]);
  client.ws.send(binary);
  t.equal((JSON.parse(await client.next()) as EchoMessage).message, binary.toString());
  await client.close();
});

t.test("closing either side closes the other", async (t) => {
  const backend = await startEchoBackend({ path: "/closing" });
  t.teardown(() => backend.close());
  await proxy.addRoute("/closing", backend.target);
  const client = await openWebSocket(t, `${wsUrl}/closing`);
  t.equal(await client.next(), "connected");
  t.equal(backend.openWebSockets(), 1);
  await client.close();
  await waitUntil(() => backend.openWebSockets() === 0, "the backend's side to close", 1000, 20);
  t.equal(backend.openWebSockets(), 0, "the backend's side closed after the client's");

  const second = await openWebSocket(t, `${wsUrl}/closing`);
  t.equal(await second.next(), "connected");
  const closed = new Promise<void>((resolve) => second.ws.once("close", () => resolve()));
  await backend.close();
  await closed;
  t.pass("the client's side closed when the backend went away");
});

t.test("34: a WebSocket to an unreachable target fails with 503 and closes", async (t) => {
  const ws = new WebSocket(`${wsUrl}/missing/ws`);
  // A refused handshake also surfaces as an error event; the status is what is checked.
  ws.on("error", () => undefined);
  const status = await new Promise<number>((resolve, reject) => {
    ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.once("open", () => reject(new Error("opened")));
  });
  t.equal(status, 503);
  const { response, closedByServer } = await rawExchange({ port: proxy.port }, upgradeRequest("/missing/ws"));
  t.match(response, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  t.ok(closedByServer);
});

t.test("WebSocket 404 and 500 have a full status line and close the socket", async (t) => {
  const bare = await startProxyUnderTest(t, []);
  const notFound = await rawExchange({ port: bare.port }, upgradeRequest("/nowhere"));
  t.match(notFound.response, /^HTTP\/1\.1 404 Not Found\r\n/);
  t.ok(notFound.closedByServer, "404 closes");
  const malformed = await rawExchange({ port: proxy.port }, upgradeRequest("/%"));
  t.match(malformed.response, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
  t.ok(malformed.closedByServer, "500 closes");
});

t.test("an upstream that refuses the upgrade is relayed, then closed", async (t) => {
  const { response, closedByServer } = await rawExchange(
    { port: proxy.port },
    upgradeRequest("/refusing/ws"),
  );
  t.match(response, /^HTTP\/1\.1 403 Forbidden\r\n/);
  t.match(response, /\r\n\r\nforbidden$/);
  t.ok(closedByServer);
});

t.test("an upgrade that is not a WebSocket is not relayed", async (t) => {
  const before = prefixed.requests.length;
  const { response, closedByServer } = await rawExchange(
    { port: proxy.port },
    `GET /bar/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`,
  );
  t.notMatch(response, /^HTTP\/1\.1 101/);
  t.ok(closedByServer);
  t.equal(prefixed.requests.length, before, "nothing reached the backend");
});
