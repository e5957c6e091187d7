import t from "tap";
import { connect, createServer } from "node:net";
import { once } from "node:events";
import { request } from "node:http";
import { pino } from "pino";
import {
  decideRedirect,
  parseRedirectPort,
  startRedirectServer,
} from "../../../src/listener/redirect-server.js";
import { ConfigError } from "../../../src/config/config-error.js";
import { freePort } from "../../support/ports.js";

const CHP_400 = (port: number) =>
  `This server is HTTPS-only on port ${port}, but an HTTP request was made and the host could not be determined` +
  ` from the request.`;

t.test("decideRedirect follows CHP, without its :443 quirk", async (t) => {
  const cases: Array<[string | undefined, string | undefined, number, ReturnType<typeof decideRedirect>]> = [
    [
      "hub.example",
      "/hub/login?next=%2F",
      443,
      { status: 301, location: "https://hub.example/hub/login?next=%2F" },
    ],
    ["hub.example:80", "/x", 443, { status: 301, location: "https://hub.example/x" }],
    ["hub.example:8080", "/x", 8443, { status: 301, location: "https://hub.example:8443/x" }],
    ["10.0.0.1:8080", "/", 8000, { status: 301, location: "https://10.0.0.1:8000/" }],
    ["[::1]:8080", "/a", 8443, { status: 301, location: "https://[::1]:8443/a" }],
    ["[2001:db8::1]", "/a", 443, { status: 301, location: "https://[2001:db8::1]/a" }],
    [
      "Hub.Example",
      "//evil.example/x",
      443,
      { status: 301, location: "https://Hub.Example//evil.example/x" },
    ],
    [
      "hub.example",
      "http://other.example/p?q=1",
      443,
      { status: 301, location: "https://hub.example/p?q=1" },
    ],
    ["hub.example", undefined, 443, { status: 301, location: "https://hub.example/" }],
    [undefined, "/x", 8443, { status: 400, body: CHP_400(8443) }],
    ["  ", "/x", 443, { status: 400, body: CHP_400(443) }],
    ["evil.example/path", "/x", 443, { status: 400, body: "Bad Host header" }],
    ["user@evil.example", "/x", 443, { status: 400, body: "Bad Host header" }],
    ["[not-ipv6]:80", "/x", 443, { status: 400, body: "Bad Host header" }],
    ["a b", "/x", 443, { status: 400, body: "Bad Host header" }],
  ];
  for (const [host, url, port, expected] of cases) {
    t.same(decideRedirect(host, url, port), expected, `${String(host)} ${String(url)} → ${port}`);
  }
});

t.test("parseRedirectPort takes commander's strings and numbers", async (t) => {
  t.equal(parseRedirectPort("443"), 443);
  t.equal(parseRedirectPort(8443), 8443);
  for (const bad of ["", "https", "0", "70000", "44.3", -1]) {
    t.throws(() => parseRedirectPort(bad), ConfigError, JSON.stringify(bad));
  }
});

function get(
  port: number,
  headers: Record<string, string>,
  path = "/",
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers, setHost: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Sends raw bytes and returns the whole response (the server closes or the response is complete). */
async function raw(port: number, text: string): Promise<string> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  socket.end(text);
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
  await once(socket, "close");
  return received;
}

t.test("the server redirects, reports readiness and answers CHP's 400 without Host", async (t) => {
  const lines: string[] = [];
  const logger = pino(
    { level: "info" },
    { write: (line: string) => lines.push((JSON.parse(line) as { msg: string }).msg) },
  );
  const port = await freePort();
  const server = await startRedirectServer({ port, ip: "127.0.0.1", redirectTo: "443", logger });
  t.teardown(() => server.close());
  t.same(lines, [`Added HTTP to HTTPS redirection from ${port} to 443`]);

  const redirected = await get(port, { Host: `hub.example:${port}` }, "/user/alice/lab?x=1");
  t.equal(redirected.status, 301);
  t.equal(
    redirected.headers.location,
    "https://hub.example/user/alice/lab?x=1",
    "--redirect-to 443 leaves the port out",
  );

  const http11 = await raw(port, "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n");
  t.match(http11, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.ok(http11.endsWith(CHP_400(443)), "HTTP/1.1 without Host gets CHP's text");
  const http10 = await raw(port, "GET /x HTTP/1.0\r\n\r\n");
  t.ok(http10.endsWith(CHP_400(443)), "HTTP/1.0 without Host gets CHP's text");

  const head = await raw(port, "HEAD /y HTTP/1.1\r\nHost: hub.example\r\nConnection: close\r\n\r\n");
  t.match(head, /^HTTP\/1\.1 301 Moved Permanently\r\n(.*\r\n)*Location: https:\/\/hub\.example\/y\r\n/);
});

t.test("a non-443 target keeps its port", async (t) => {
  const port = await freePort();
  const server = await startRedirectServer({ port, ip: "127.0.0.1", redirectTo: 8443 });
  t.teardown(() => server.close());
  const redirected = await get(port, { Host: "hub.example" }, "/");
  t.equal(redirected.headers.location, "https://hub.example:8443/");
});

t.test("a port that cannot be bound rejects", async (t) => {
  const blocker = createServer();
  blocker.listen(0, "127.0.0.1");
  await once(blocker, "listening");
  t.teardown(() => blocker.close());
  const address = blocker.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await t.rejects(startRedirectServer({ port, ip: "127.0.0.1", redirectTo: 443 }), { code: "EADDRINUSE" });
});
