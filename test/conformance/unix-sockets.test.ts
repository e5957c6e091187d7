import { existsSync, lstatSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import {
  startEchoBackend,
  startErrorPageServer,
  type EchoMessage,
  type EchoReply,
} from "../support/echo-backend.js";
import { type Teardown, tempDir } from "../support/temp-dir.js";
import { sleep } from "../support/wait.js";
import { json, webRequest } from "../support/web-client.js";
import { openWebSocket } from "../support/websocket-client.js";
import { dataDirArgs, startBinary, startProxyUnderTest, TOKEN } from "./harness.js";

// UNIX sockets: listening on them, proxying to them, and
// the socket files' lifecycle.

const dir = tempDir(t, "ltictr-sock-");
const paths = {
  proxy: join(dir, "proxy.sock"),
  api: join(dir, "api.sock"),
  metrics: join(dir, "metrics.sock"),
  backend: join(dir, "backend.sock"),
  errors: join(dir, "errors.sock"),
};
const root = await startEchoBackend({ path: "/" });
const overSocket = await startEchoBackend({ path: "/unix", socketPath: paths.backend });
const errorServer = await startErrorPageServer({ socketPath: paths.errors });
for (const backend of [root, overSocket, errorServer]) t.teardown(() => backend.close());

const auth = { authorization: `token ${TOKEN}` };

function startOnSockets(t: Teardown) {
  const proc = startBinary(
    [
      "--socket",
      paths.proxy,
      "--api-socket",
      paths.api,
      "--metrics-socket",
      paths.metrics,
      ...dataDirArgs(t),
    ],
    { CONFIGPROXY_AUTH_TOKEN: TOKEN },
  );
  t.teardown(() => proc.stop());
  return proc;
}

const onSockets = startOnSockets(t);
await onSockets.waitFor(/Proxy API at/);
const api = (method: string, path: string, body?: unknown) =>
  webRequest(`http://localhost/api/routes${path}`, {
    socketPath: paths.api,
    method,
    headers: auth,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
t.equal((await api("POST", "/", { target: root.target })).status, 201);

async function lastActivity(path: string): Promise<number> {
  const routes = json<Record<string, { last_activity: string }>>(await api("GET", ""));
  return Date.parse(routes[path].last_activity);
}

t.test("44: a route can target a UNIX socket (http+unix://)", async (t) => {
  const proxy = await startProxyUnderTest(t, []);
  await proxy.addRoute("/unix", overSocket.target);
  t.match(overSocket.target, /^http\+unix:\/\/%2F/);
  const answer = await webRequest(`${proxy.url}/unix/x?y=1`);
  t.equal(answer.status, 200);
  const reply = json<EchoReply>(answer);
  t.equal(reply.path, "/unix");
  t.equal(reply.url, "/unix/x?y=1");
  const client = await openWebSocket(t, `ws://127.0.0.1:${proxy.port}/unix/ws`);
  t.equal(await client.next(), "connected", "WebSockets reach a UNIX-socket target too");
  await client.close();
});

t.test("43: --error-target may be a UNIX socket", async (t) => {
  const proxy = await startProxyUnderTest(t, ["--error-target", errorServer.target]);
  const answer = await webRequest(`${proxy.url}/foo/bar`);
  t.equal(answer.status, 404);
  t.match(answer.headers["content-type"], /^text\/plain/);
  t.equal(answer.body, "/foo/bar");
});

t.test("45: HTTP over the proxy's UNIX socket; API and metrics on theirs", async (t) => {
  const before = await lastActivity("/");
  await sleep(1100);
  const answer = await webRequest("http://localhost/some/path", { socketPath: paths.proxy });
  t.equal(answer.status, 200);
  t.equal(json<EchoReply>(answer).url, "/some/path");
  t.ok((await lastActivity("/")) > before, "last_activity updated");
  const metrics = await webRequest("http://localhost/metrics", { socketPath: paths.metrics });
  t.equal(metrics.status, 200);
  t.match(metrics.body, /^requests_web \d+$/m);
});

t.test("46: WebSocket over the proxy's UNIX socket", async (t) => {
  const before = await lastActivity("/");
  await sleep(1100);
  const client = await openWebSocket(t, `ws+unix://${paths.proxy}:/ws/path`);
  t.equal(await client.next(), "connected");
  client.ws.send("hi");
  const reply = JSON.parse(await client.next()) as EchoMessage;
  t.same(reply, { target: root.target, path: "/", message: "hi" });
  t.ok((await lastActivity("/")) > before, "last_activity updated");
  await client.close();
});

t.test("socket files are removed on exit, and a stale one is replaced on start", async (t) => {
  const exit = await onSockets.stop();
  t.equal(exit, 2, "SIGTERM exits 2");
  for (const path of [paths.proxy, paths.api, paths.metrics]) t.notOk(existsSync(path), `${path} removed`);

  const crashed = startOnSockets(t);
  await crashed.waitFor(/Proxy API at/);
  crashed.child.kill("SIGKILL");
  await crashed.exited();
  t.ok(lstatSync(paths.proxy).isSocket(), "a killed proxy leaves its socket file behind");

  const restarted = startOnSockets(t);
  await restarted.waitFor(/Proxy API at/);
  t.equal(
    (await api("POST", "/", { target: root.target })).status,
    201,
    "the restarted proxy serves its API",
  );
  const answer = await webRequest("http://localhost/again", { socketPath: paths.proxy });
  t.equal(json<EchoReply>(answer).url, "/again", "and proxies over the replaced socket");
  await restarted.stop();
});

t.test("a file that is not a socket is never removed; the start fails instead", async (t) => {
  const precious = join(dir, "precious.txt");
  writeFileSync(precious, "keep me");
  const proc = startBinary(["--socket", precious, "--api-socket", paths.api, ...dataDirArgs(t)], {
    CONFIGPROXY_AUTH_TOKEN: TOKEN,
  });
  t.teardown(() => proc.stop());
  const code = await proc.exited();
  t.not(code, 0, "non-zero exit");
  t.ok(lstatSync(precious).isFile(), "the regular file is still there");
});
