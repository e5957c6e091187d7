import { once } from "node:events";
import t from "tap";
import { WebSocket } from "ws";
import { startEchoBackend, startRedirectingBackend, type EchoReply } from "../support/echo-backend.js";
import { json, webRequest } from "../support/web-client.js";
import { startProxyUnderTest } from "./harness.js";

// Headers to and from the upstream.

const echo = await startEchoBackend({ path: "/" });
const redirectOther = await startRedirectingBackend("http://foo.com:12345/whatever");
const redirectSelf = await startRedirectingBackend((self) => `${self.replace("http:", "https:")}/whatever`);
const createdSelf = await startRedirectingBackend((self) => `${self}/created`, 201);
const okWithLocation = await startRedirectingBackend((self) => `${self}/elsewhere`, 200);
for (const backend of [echo, redirectOther, redirectSelf, createdSelf, okWithLocation])
  t.teardown(() => backend.close());

const withRoutes = (args: string[]) =>
  startProxyUnderTest(t, ["--default-target", echo.target, ...args], {
    ready: /Route added \//,
    routes: {
      "/redirect/other": redirectOther.target,
      "/redirect/self": redirectSelf.target,
      "/redirect/created": createdSelf.target,
      "/redirect/ok": okWithLocation.target,
    },
  });

const [plain, rewriting] = await Promise.all([
  withRoutes(["--custom-header", "k1: v1", "--custom-header", " k2 : host:123 "]),
  withRoutes(["--no-x-forward", "--change-origin", "--auto-rewrite", "--protocol-rewrite", "https"]),
]);

const headersSeen = async (url: string, headers: Record<string, string> = {}) =>
  json<EchoReply>(await webRequest(url, { headers })).headers;

t.test("Host is preserved and X-Forwarded-* are added", async (t) => {
  const headers = await headersSeen(`${plain.url}/x`);
  t.equal(headers.host, `127.0.0.1:${plain.port}`);
  t.equal(headers["x-forwarded-for"], "127.0.0.1");
  t.equal(headers["x-forwarded-port"], String(plain.port));
  t.equal(headers["x-forwarded-proto"], "http");
  t.equal(headers["x-forwarded-host"], `127.0.0.1:${plain.port}`);
});

t.test("X-Forwarded-* append to what the client sent; X-Forwarded-Host is kept", async (t) => {
  const headers = await headersSeen(`${plain.url}/x`, {
    "x-forwarded-for": "1.2.3.4",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "hub.example.org",
  });
  t.equal(headers["x-forwarded-for"], "1.2.3.4,127.0.0.1");
  t.equal(headers["x-forwarded-port"], `443,${plain.port}`);
  t.equal(headers["x-forwarded-proto"], "https,http");
  t.equal(headers["x-forwarded-host"], "hub.example.org");
});

t.test("X-Forwarded-Port falls back to 80 when Host has no port", async (t) => {
  const headers = await headersSeen(`${plain.url}/x`, { host: "hub.example.org" });
  t.equal(headers.host, "hub.example.org");
  t.equal(headers["x-forwarded-port"], "80");
  t.equal(headers["x-forwarded-host"], "hub.example.org");
});

t.test("17/22: --custom-header values reach the upstream and win over client headers", async (t) => {
  const headers = await headersSeen(`${plain.url}/x`, { k1: "from-client", other: "kept" });
  t.equal(headers.k1, "v1");
  t.equal(headers.k2, "host:123");
  t.equal(headers.other, "kept");
});

t.test("WebSocket upgrades get custom headers and ws X-Forwarded-* (no X-Forwarded-Host)", async (t) => {
  const before = echo.requests.length;
  const ws = new WebSocket(`ws://127.0.0.1:${plain.port}/ws/headers`, {
    headers: { "x-forwarded-proto": "https" },
  });
  t.teardown(() => ws.terminate());
  const [first] = (await once(ws, "message")) as [Buffer];
  t.equal(first.toString(), "connected");
  const upgrade = echo.requests.slice(before).find((request) => request.url === "/ws/headers");
  t.ok(upgrade, "the backend saw the upgrade");
  const headers = upgrade?.headers ?? {};
  t.equal(headers.k1, "v1");
  t.equal(headers.k2, "host:123");
  t.equal(headers["x-forwarded-for"], "127.0.0.1");
  t.equal(headers["x-forwarded-proto"], "https,ws");
  t.equal(headers["x-forwarded-port"], String(plain.port));
  t.equal(headers["x-forwarded-host"], undefined);
});

t.test("--no-x-forward adds no X-Forwarded-* headers", async (t) => {
  const headers = await headersSeen(`${rewriting.url}/x`, { "x-forwarded-for": "1.2.3.4" });
  t.equal(headers["x-forwarded-for"], "1.2.3.4", "the client's own header passes unchanged");
  for (const name of ["x-forwarded-port", "x-forwarded-proto", "x-forwarded-host"])
    t.equal(headers[name], undefined, name);
});

t.test("--change-origin sends the target's host:port as Host", async (t) => {
  const headers = await headersSeen(`${rewriting.url}/x`);
  t.equal(headers.host, new URL(echo.target).host);
});

t.test("39: Location is untouched without rewrite options", async (t) => {
  const answer = await webRequest(`${plain.url}/redirect/other/x`);
  t.equal(answer.status, 301);
  t.equal(answer.headers.location, "http://foo.com:12345/whatever");
  const self = await webRequest(`${plain.url}/redirect/self/x`);
  t.equal(self.headers.location, `${redirectSelf.target.replace("http:", "https:")}/whatever`);
});

t.test("40: --auto-rewrite + --protocol-rewrite rewrite a Location that points at the target", async (t) => {
  const answer = await webRequest(`${rewriting.url}/redirect/self/x`);
  t.equal(answer.status, 301);
  t.equal(answer.headers.location, `https://127.0.0.1:${rewriting.port}/whatever`);
  const created = await webRequest(`${rewriting.url}/redirect/created/x`);
  t.equal(created.status, 201);
  t.equal(
    created.headers.location,
    `https://127.0.0.1:${rewriting.port}/created`,
    "201 counts as a redirect",
  );
});

t.test("Locations of other hosts or of non-redirect statuses are left alone", async (t) => {
  const other = await webRequest(`${rewriting.url}/redirect/other/x`);
  t.equal(other.headers.location, "http://foo.com:12345/whatever");
  const ok = await webRequest(`${rewriting.url}/redirect/ok/x`);
  t.equal(ok.status, 200);
  t.equal(ok.headers.location, `${okWithLocation.target}/elsewhere`);
});
