import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import t from "tap";
import { startEchoBackend, startErrorPageServer, startSilentBackend } from "../support/echo-backend.js";
import { freePort } from "../support/ports.js";
import { rawExchange } from "../support/raw-exchange.js";
import { tempDir } from "../support/temp-dir.js";
import { waitUntil } from "../support/wait.js";
import { webRequest } from "../support/web-client.js";
import { startProxyUnderTest } from "./harness.js";

// Error answers.

const errorServer = await startErrorPageServer();
const silent = await startSilentBackend();
const echo = await startEchoBackend();
t.teardown(() => errorServer.close());
t.teardown(() => silent.close());
t.teardown(() => echo.close());
const deadTarget = `http://127.0.0.1:${await freePort()}`;

// CHP's test/error folder: a page for 404 and a catch-all.
const errorPages = tempDir(t);
writeFileSync(join(errorPages, "404.html"), "<html><body>404'D</body></html>");
writeFileSync(join(errorPages, "error.html"), "<html><body>UNKNOWN</body></html>");
const emptyPages = join(tempDir(t), "empty");
mkdirSync(emptyPages);

const [withTarget, withPath, builtIn, emptyPath, deadErrorTarget] = await Promise.all([
  startProxyUnderTest(t, ["--error-target", `${errorServer.target}/hub/error`, "--proxy-timeout", "300"]),
  startProxyUnderTest(t, ["--error-path", errorPages]),
  startProxyUnderTest(t, ["--timeout", "300"]),
  startProxyUnderTest(t, ["--error-path", emptyPages]),
  startProxyUnderTest(t, ["--error-target", deadTarget]),
]);
for (const proxy of [withTarget, withPath, builtIn, emptyPath, deadErrorTarget]) {
  await proxy.addRoute("/missing", deadTarget);
  await proxy.addRoute("/slow", silent.target);
  await proxy.addRoute("/fine", echo.target);
}

t.test("35: --error-target serves the page for 404, with the proxy's status", async (t) => {
  const answer = await webRequest(`${withTarget.url}/foo/bar`);
  t.equal(answer.status, 404);
  t.match(answer.headers["content-type"], /^text\/plain/);
  t.equal(answer.body, "/foo/bar");
  const request = errorServer.requests.at(-1);
  t.equal(request?.url, "/hub/error/404?url=%2Ffoo%2Fbar", "GET <target>/<code>?url=<original url>");
});

t.test("the error target gets the URL form-encoded and none of the client's headers", async (t) => {
  const answer = await webRequest(`${withTarget.url}/zz?q=1&r=%2F`, {
    headers: { cookie: "secret=1", authorization: "token x" },
  });
  t.equal(answer.status, 404);
  t.equal(answer.body, "/zz?q=1&r=%2F");
  const request = errorServer.requests.at(-1);
  t.equal(request?.url, "/hub/error/404?url=%2Fzz%3Fq%3D1%26r%3D%252F");
  t.equal(request?.headers.cookie, undefined);
  t.equal(request?.headers.authorization, undefined);
  t.equal(request?.headers.host, new URL(errorServer.target).host);
});

t.test("503 from an unreachable target goes through the error target", async (t) => {
  const answer = await webRequest(`${withTarget.url}/missing/x`);
  t.equal(answer.status, 503);
  t.equal(answer.body, "/missing/x");
  t.equal(errorServer.requests.at(-1)?.url, "/hub/error/503?url=%2Fmissing%2Fx");
});

t.test("--proxy-timeout: an upstream that does not answer gives 503", async (t) => {
  const answer = await webRequest(`${withTarget.url}/slow/x`);
  t.equal(answer.status, 503);
  t.equal(answer.body, "/slow/x");
});

t.test("38: a malformed %-escape in the request path is 500 (error target sees the raw URL)", async (t) => {
  const answer = await webRequest(`${withTarget.url}/%`);
  t.equal(answer.status, 500);
  t.match(answer.headers["content-type"], /^text\/plain/);
  t.equal(answer.body, "/%");
});

t.test("36: --error-path serves <code>.html, else error.html", async (t) => {
  const notFound = await webRequest(`${withPath.url}/nope`);
  t.equal(notFound.status, 404);
  t.match(notFound.headers["content-type"], /^text\/html/);
  t.match(notFound.body, /404'D/);
  const unavailable = await webRequest(`${withPath.url}/missing/prefix`);
  t.equal(unavailable.status, 503);
  t.match(unavailable.headers["content-type"], /^text\/html/);
  t.match(unavailable.body, /UNKNOWN/);
});

t.test("37: built-in error pages", async (t) => {
  const notFound = await webRequest(`${builtIn.url}/nope`);
  t.equal(notFound.status, 404);
  t.match(notFound.headers["content-type"], /^text\/html/);
  t.match(notFound.body, /404:/);
  const unavailable = await webRequest(`${builtIn.url}/missing/x`);
  t.equal(unavailable.status, 503);
  t.match(unavailable.headers["content-type"], /^text\/html/);
  t.match(unavailable.body, /503:/);
  const internal = await webRequest(`${builtIn.url}/%zz`);
  t.equal(internal.status, 500);
  t.match(internal.body, /Proxy Error/);
});

t.test("without any error page the plain status text is sent", async (t) => {
  const answer = await webRequest(`${emptyPath.url}/nope`);
  t.equal(answer.status, 404);
  t.equal(answer.body, "Not Found");
  t.equal(answer.headers["content-type"], undefined);
  const failing = await webRequest(`${deadErrorTarget.url}/missing/x`);
  t.equal(failing.status, 503, "a failing error target falls back to the plain answer");
  t.equal(failing.body, "Service Unavailable");
  // The log line may reach the pipe just after the answer.
  await waitUntil(
    () => /Failed to get custom error page/.test(deadErrorTarget.process.stdout()),
    "the error target's failure logged",
  );
  t.match(deadErrorTarget.process.stdout(), /Failed to get custom error page/);
});

t.test("--timeout closes an idle client connection without an answer", async (t) => {
  await t.rejects(webRequest(`${builtIn.url}/slow/x`), /socket hang up|ECONNRESET/);
  const fine = await webRequest(`${builtIn.url}/fine/x`);
  t.equal(fine.status, 200, "requests that finish in time are unaffected");
});

t.test("a route whose target has an unsupported scheme answers 500", async (t) => {
  await builtIn.addRoute("/wst", "ws://127.0.0.1:1");
  const answer = await webRequest(`${builtIn.url}/wst/x`);
  t.equal(answer.status, 500);
  const upgrade = await rawExchange(
    { port: builtIn.port },
    "GET /wst/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  );
  t.match(upgrade.response, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
  t.ok(upgrade.closedByServer);
});

t.test("an upstream that dies mid-response cuts that response only", async (t) => {
  const dying = createServer((_req, res) => {
    res.writeHead(200, { "content-length": "1000" });
    res.write("partial");
    setTimeout(() => res.socket?.destroy(), 20);
  });
  await new Promise<void>((resolve) => dying.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => dying.close(() => resolve())));
  await builtIn.addRoute("/dying", `http://127.0.0.1:${(dying.address() as AddressInfo).port}`);
  await t.rejects(webRequest(`${builtIn.url}/dying/x`), "the client sees the response aborted");
  t.equal((await webRequest(`${builtIn.url}/fine/x`)).status, 200);
});

t.test("a client that disconnects mid-upload does not disturb the proxy", async (t) => {
  await rawExchange(
    { port: builtIn.port },
    "POST /fine/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nonly a little",
    200,
  );
  t.equal((await webRequest(`${builtIn.url}/fine/x`)).status, 200);
});

t.test("the proxy keeps serving after all these errors", async (t) => {
  for (const proxy of [withTarget, withPath, builtIn, emptyPath, deadErrorTarget]) {
    t.equal((await webRequest(`${proxy.url}/fine/x`)).status, 200);
    t.equal(proxy.process.child.exitCode, null);
  }
});
