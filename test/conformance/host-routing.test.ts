import t from "tap";
import { startEchoBackend, startErrorPageServer, type EchoReply } from "../support/echo-backend.js";
import { freePort } from "../support/ports.js";
import { rawExchange } from "../support/raw-exchange.js";
import { json, webRequest } from "../support/web-client.js";
import { openWebSocket } from "../support/websocket-client.js";
import { startProxyUnderTest } from "./harness.js";

// --host-routing.

const HOST = "test.localhost.jovyan.org";
const root = await startEchoBackend({ path: "/" });
const byHost = await startEchoBackend({ path: `/${HOST}` });
const userServer = await startEchoBackend({ path: `/${HOST}/user/x`, targetPath: "/base" });
const ipv6 = await startEchoBackend({ path: "/[::1]" });
const errorServer = await startErrorPageServer();
for (const backend of [root, byHost, userServer, ipv6, errorServer]) t.teardown(() => backend.close());
const dead = `http://127.0.0.1:${await freePort()}`;

const [proxy, stripping] = await Promise.all([
  startProxyUnderTest(t, ["--host-routing"]),
  startProxyUnderTest(t, ["--host-routing", "--no-include-prefix", "--error-target", errorServer.target]),
]);
for (const p of [proxy, stripping]) {
  await p.addRoute("/", root.target);
  await p.addRoute(`/${HOST}`, byHost.target);
  await p.addRoute(`/${HOST}/user/x`, userServer.target, { user: "x" });
  await p.addRoute(`/${HOST}/dead`, dead);
  await p.addRoute("/[::1]", ipv6.target);
}

const viaHost = async (url: string, host: string) => {
  const answer = await webRequest(url, { headers: { host } });
  if (answer.status !== 200) throw new Error(`${url} (Host ${host}) answered ${answer.status}`);
  return json<EchoReply>(answer);
};

t.test("33: routes by host", async (t) => {
  const reply = await viaHost(`${proxy.url}/some/path`, `${HOST}:${proxy.port}`);
  t.equal(reply.path, `/${HOST}`);
  t.equal(reply.url, "/some/path", "the host is not part of the forwarded path");
  t.equal(reply.headers.host, `${HOST}:${proxy.port}`);
  const deeper = await viaHost(`${proxy.url}/user/x/lab?a=1`, HOST);
  t.equal(deeper.path, `/${HOST}/user/x`);
  t.equal(deeper.url, "/base/user/x/lab?a=1");
  const other = await viaHost(`${proxy.url}/user/x/lab`, "other.example.org");
  t.equal(other.path, "/", "other hosts fall through to the host-less /");
});

t.test("route data gains `host` (except /)", async (t) => {
  const routes = json<Record<string, Record<string, unknown>>>(await proxy.api("GET", ""));
  t.equal(routes[`/${HOST}/user/x`].host, HOST);
  t.equal(routes[`/${HOST}/user/x`].user, "x");
  t.equal(routes[`/${HOST}`].host, HOST);
  t.notOk("host" in routes["/"]);
  await proxy.addRoute("/spoof.example/y", root.target, { host: "evil.example" });
  t.equal((await proxy.route("/spoof.example/y"))?.host, "spoof.example", "a posted host is overwritten");
});

t.test("the Host header is matched case-insensitively, with or without port", async (t) => {
  t.equal((await viaHost(`${proxy.url}/a`, "TEST.Localhost.Jovyan.ORG")).path, `/${HOST}`);
  t.equal((await viaHost(`${proxy.url}/a`, `Test.localhost.jovyan.org:${proxy.port}`)).path, `/${HOST}`);
});

t.test("IPv6 literal hosts keep their brackets", async (t) => {
  t.equal((await viaHost(`${proxy.url}/a`, `[::1]:${proxy.port}`)).path, "/[::1]");
  t.equal((await viaHost(`${proxy.url}/a`, "[::1]")).path, "/[::1]");
});

t.test("a request without Host falls through to /", async (t) => {
  const { response } = await rawExchange({ port: proxy.port }, "GET /user/x/lab HTTP/1.0\r\n\r\n");
  t.match(response, /^HTTP\/1\.1 200 /);
  const reply = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)) as EchoReply;
  t.equal(reply.path, "/");
  t.equal(reply.url, "/user/x/lab");
});

t.test("the health check works in host-routing mode", async (t) => {
  const answer = await webRequest(`${proxy.url}/_chp_healthz`, { headers: { host: "whatever.example" } });
  t.same(json(answer), { status: "OK" });
});

t.test("WebSockets are routed by host too", async (t) => {
  const client = await openWebSocket(t, `ws://127.0.0.1:${proxy.port}/user/x/ws`, {
    headers: { host: HOST },
  });
  t.equal(await client.next(), "connected");
  t.equal(userServer.requests.at(-1)?.url, "/base/user/x/ws");
  await client.close();
});

t.test("--no-include-prefix strips only the path part of a host route", async (t) => {
  t.equal((await viaHost(`${stripping.url}/user/x/lab?a=1`, HOST)).url, "/base/lab?a=1");
  t.equal((await viaHost(`${stripping.url}/some/path`, HOST)).url, "/some/path");
  t.equal((await viaHost(`${stripping.url}/user/x%2Flab`, HOST)).url, "/base/lab", "encoded separators");
});

t.test("the error target sees the URL the client sent, not the stripped one", async (t) => {
  const answer = await webRequest(`${stripping.url}/dead/lab?q=1`, { headers: { host: HOST } });
  t.equal(answer.status, 503);
  t.equal(answer.body, "/dead/lab?q=1");
});
