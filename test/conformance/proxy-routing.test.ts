import { Agent } from "node:http";
import t from "tap";
import { startEchoBackend, type EchoReply } from "../support/echo-backend.js";
import type { LoopbackProxy } from "../support/loopback-proxy.js";
import { rawExchange } from "../support/raw-exchange.js";
import { json, webRequest } from "../support/web-client.js";
import { startProxyUnderTest } from "./harness.js";

// Routing and the outgoing URL.

const root = await startEchoBackend({ path: "/" });
const bar = await startEchoBackend({ path: "/bar", targetPath: "/foo" });
const encoded = await startEchoBackend({ path: "/b@r/b r", targetPath: "/foo" });
const queried = await startEchoBackend({ path: "/q", targetPath: "/foo?a=1" });
const deep = await startEchoBackend({ path: "/b/c" });
for (const backend of [root, bar, encoded, queried, deep]) t.teardown(() => backend.close());

const proxyWith = (args: string[]) =>
  startProxyUnderTest(t, ["--default-target", root.target, ...args], {
    ready: /Route added \//,
    routes: { "/bar": bar.target, "/b@r/b r": encoded.target, "/q": queried.target, "/b/c": deep.target },
  });

const [plain, noPrepend, noPrefix, neither] = await Promise.all([
  proxyWith([]),
  proxyWith(["--no-prepend-path"]),
  proxyWith(["--no-include-prefix"]),
  proxyWith(["--no-prepend-path", "--no-include-prefix"]),
]);

const echo = async (proxy: LoopbackProxy, path: string) => {
  const answer = await webRequest(proxy.url + path);
  if (answer.status !== 200) throw new Error(`${path} answered ${answer.status}: ${answer.body}`);
  return json<EchoReply>(answer);
};

t.test("19: basic HTTP request reaches the / backend", async (t) => {
  const reply = await echo(plain, "/");
  t.equal(reply.path, "/");
  t.equal(reply.url, "/");
  t.equal(reply.target, root.target);
});

t.test("21: keep-alive proxy request answers connection: keep-alive", async (t) => {
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const answer = await webRequest(`${plain.url}/`, { agent });
  t.equal(answer.status, 200);
  t.equal(answer.headers.connection, "keep-alive");
  const second = await webRequest(`${plain.url}/again`, { agent });
  t.equal(json<EchoReply>(second).url, "/again", "the kept-alive connection serves a second request");
});

t.test("23: the target path is prepended by default", async (t) => {
  const reply = await echo(plain, "/bar/rest/of/it");
  t.equal(reply.url, "/foo/bar/rest/of/it");
  t.equal(reply.path, "/bar");
});

t.test("24: /prefix?query is proxied correctly", async (t) => {
  const reply = await echo(plain, "/bar?query=foo");
  t.equal(reply.url, "/foo/bar?query=foo");
  t.equal(reply.target, bar.target);
  t.match(reply.target, /^http:\/\/127\.0\.0\.1:\d+\/foo$/);
});

t.test("target and request queries are joined with &, target's first", async (t) => {
  t.equal((await echo(plain, "/q/x?b=2")).url, "/foo/q/x?a=1&b=2");
  t.equal((await echo(plain, "/q/x")).url, "/foo/q/x?a=1");
});

t.test("25: URI encoding is kept in the forwarded path", async (t) => {
  t.equal((await echo(plain, "/b%40r/b%20r/rest/of/it")).url, "/foo/b%40r/b%20r/rest/of/it");
});

t.test("26: @ in the URI routes the same as %40", async (t) => {
  const reply = await echo(plain, "/b@r/b%20r/rest/of/it");
  t.equal(reply.url, "/foo/b@r/b%20r/rest/of/it");
  t.equal(reply.path, "/b@r/b r");
});

t.test("27: --no-prepend-path keeps the target path out", async (t) => {
  t.equal((await echo(noPrepend, "/bar/rest/of/it")).url, "/bar/rest/of/it");
  t.equal((await echo(noPrepend, "/q/x?b=2")).url, "/q/x?b=2", "nor the target's query");
});

t.test("28: --no-include-prefix strips the routing prefix", async (t) => {
  t.equal((await echo(noPrefix, "/bar/rest/of/it")).url, "/foo/rest/of/it");
  t.equal((await echo(noPrefix, "/bar")).url, "/foo");
  t.equal((await echo(noPrefix, "/bar?x=1")).url, "/foo?x=1");
  t.equal((await echo(noPrefix, "/slow")).url, "/slow", "route / strips nothing");
});

t.test("--no-include-prefix strips on decoded segment boundaries", async (t) => {
  t.equal((await echo(noPrefix, "/b%40r/b%20r/rest/of/it")).url, "/foo/rest/of/it");
  t.equal((await echo(noPrefix, "/b@r/b%20r/rest")).url, "/foo/rest");
  t.equal((await echo(noPrefix, "/b/c/d%2Fe")).url, "/d%2Fe");
  t.equal((await echo(noPrefix, "/b%2Fc/d")).url, "/d", "an encoded slash inside the prefix is a boundary");
  t.equal((await echo(noPrefix, "/b%2fc")).url, "/");
});

t.test("32: --no-include-prefix with --no-prepend-path", async (t) => {
  t.equal((await echo(neither, "/bar/rest/of/it")).url, "/rest/of/it");
  t.equal((await echo(neither, "/b%40r/b%20r/rest/of/it")).url, "/rest/of/it");
});

t.test("41: health check", async (t) => {
  const answer = await webRequest(`${plain.url}/_chp_healthz`);
  t.equal(answer.status, 200);
  t.match(answer.headers["content-type"], /^application\/json/);
  t.same(json(answer), { status: "OK" });
  const routed = await echo(plain, "/_chp_healthz?x=1");
  t.equal(routed.url, "/_chp_healthz?x=1", "with a query it is an ordinary path");
});

t.test("route matching is segment-wise and longest-prefix", async (t) => {
  t.equal((await echo(plain, "/b/c")).path, "/b/c");
  t.equal((await echo(plain, "/b/c/")).path, "/b/c");
  t.equal((await echo(plain, "/b/c/d")).path, "/b/c");
  t.equal((await echo(plain, "/b/c?x")).path, "/b/c");
  t.equal((await echo(plain, "/b/cd")).path, "/", "not a prefix on a segment boundary");
  t.equal((await echo(plain, "/b")).path, "/");
  t.equal((await echo(plain, "/B/c")).path, "/", "matching is case-sensitive");
  t.equal((await echo(plain, "/barista")).path, "/");
});

t.test("request paths are normalised before routing", async (t) => {
  const dots = await echo(plain, "/x/y/../../bar/z");
  t.equal(dots.path, "/bar", "dot-segments are resolved");
  t.equal(dots.url, "/foo/bar/z");
  t.equal((await echo(plain, "/b%2Fc/d")).path, "/b/c", "%2F separates segments");
  const doubled = await echo(plain, "//bar/x");
  t.equal(doubled.path, "/", "//bar/x is host 'bar' + /x, as WHATWG parses it");
});

t.test("an absolute-form request line is routed by its path", async (t) => {
  const { response } = await rawExchange(
    { port: plain.port },
    "GET http://evil.example/bar/abs?z=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
  );
  t.match(response, /^HTTP\/1\.1 200 /);
  const reply = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)) as EchoReply;
  t.equal(reply.url, "/foo/bar/abs?z=1");
  t.equal(reply.headers.host, "127.0.0.1", "the Host header is unchanged");
});

t.test("Object.prototype names route to the default target, not 500", async (t) => {
  for (const path of [
    "/constructor",
    "/user/constructor",
    "/__proto__/x",
    "/bar/toString",
    "/hasOwnProperty",
  ]) {
    const answer = await webRequest(plain.url + path);
    t.equal(answer.status, 200, path);
    t.equal(json<EchoReply>(answer).path, path.startsWith("/bar/") ? "/bar" : "/", path);
  }
});

t.test("request bodies and methods pass through", async (t) => {
  const answer = await webRequest(`${plain.url}/bar/upload`, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: Buffer.alloc(256 * 1024, 7),
  });
  t.equal(answer.status, 200);
  const reply = json<EchoReply>(answer);
  t.equal(reply.url, "/foo/bar/upload");
  t.equal(reply.headers["content-length"], String(256 * 1024));
});
