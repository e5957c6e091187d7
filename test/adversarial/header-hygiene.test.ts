import { createServer, connect, type Socket } from "node:net";
import t from "tap";
import {
  assertNothingCrashed,
  assertRouteServes,
  echoes,
  holdClient,
  okResponse,
  proxyFor,
  PROXY_UNDER_TEST,
  rawRequest,
  rawUpstream,
  repetitions,
  SWITCHING,
  upgradeRequest,
  type RawRequest,
} from "../support/adversarial.js";
import { startProxy } from "../support/proxy-process.js";
import { waitUntil } from "../support/wait.js";

/*
 * Header hygiene and the smaller leaks of one exchange. Before: headers named in `Connection` went on both ways;
 * upgrades carried Expect, TE, Proxy-Authorization, Proxy-Connection and Content-Length to the user's server and
 * were written as UTF-8 (non-ASCII header bytes doubled); a 100 or 103 before the 101 was taken as the answer;
 * `--custom-header` took CR/LF and framing names; an early upstream answer left the client's upload unread, so
 * the client stalled; a client's X-Real-IP / X-Scheme / Forwarded / X-Forwarded-Host could not be dropped.
 */

t.test("headers a Connection header names stay with their hop, both ways", async (t) => {
  const seen: RawRequest[] = [];
  const upstream = await rawUpstream(t, (request, socket) => {
    if (echoes(request, socket)) return;
    seen.push(request);
    socket.write(
      okResponse("ok", "Connection: keep-alive, X-Internal\r\nX-Internal: secret\r\nX-Public: yes\r\n"),
    );
  });
  const proxy = await proxyFor(t, upstream.url);
  const answer = await rawRequest(
    proxy.port,
    "GET /listed HTTP/1.1\r\nHost: hub\r\nConnection: close, X-Hop\r\nX-Hop: private\r\nX-Kept: yes\r\n\r\n",
  );
  t.equal(answer.status, 200);
  t.equal(seen[0]?.headers["x-hop"], undefined, "the request's listed header did not reach the upstream");
  t.equal(seen[0]?.headers["x-kept"], "yes", "other headers did");
  t.notMatch(answer.text, /x-internal/i, "the answer's listed header did not reach the client");
  t.match(answer.text, /x-public: yes/i, "other headers did");
  assertNothingCrashed(t, proxy);
});

t.test(
  "an upgrade: hop headers stay, header bytes go on unchanged, interim answers are skipped",
  async (t) => {
    const seen: RawRequest[] = [];
    const upstream = await rawUpstream(t, (request, socket) => {
      if (echoes(request, socket)) return;
      seen.push(request);
      socket.write(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
      );
      socket.write(SWITCHING);
      socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    });
    const proxy = await proxyFor(t, upstream.url);
    const request = Buffer.from(
      upgradeRequest(
        "/user/a/ws",
        "Expect: 100-continue\r\nTE: trailers\r\nProxy-Authorization: Basic dTpw\r\nProxy-Connection: keep-alive\r\n" +
          "Content-Length: 0\r\nX-Name: caf\xe9\r\n",
      ),
      "latin1",
    );
    const client = await holdClient(t, proxy.port, request);
    await waitUntil(
      () => client.received().endsWith("\x81\x02hi") || client.isClosed(),
      "the relayed frame",
      5000,
    );
    t.match(client.received(), /^HTTP\/1\.1 101 /, "the client's first answer is the 101");
    const headers = seen[0]?.headers ?? {};
    for (const name of [
      "expect",
      "te",
      "proxy-authorization",
      "proxy-connection",
      "content-length",
      "transfer-encoding",
    ])
      t.equal(headers[name], undefined, `${name} stayed with the proxy`);
    t.equal(headers["x-name"], "caf\xe9", "a latin1 header byte reached the upstream as one byte");
    t.match(headers.upgrade ?? "", /websocket/i, "Upgrade went on");
    assertNothingCrashed(t, proxy);
  },
);

t.test("--custom-header refuses CR/LF and framing headers at start", async (t) => {
  for (const header of ["X-A: b\r\nX-Injected: c", "Transfer-Encoding: chunked", "Content-Length: 5"]) {
    const run = startProxy(
      ["--ip", "127.0.0.1", "--port", "0", "--api-port", "0", "--custom-header", header],
      {},
      PROXY_UNDER_TEST,
    );
    t.equal(await run.exited(), 1, `${JSON.stringify(header)}: exit code 1`);
    t.match(run.stderr() + run.stdout(), /custom header/i, "naming the custom header");
  }
});

t.test(
  "an upstream that answers before the upload is done: the client's upload completes, the connection goes on",
  async (t) => {
    // Answers 413 to /upload as soon as its head is here, reading no body; echoes anything else.
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => undefined);
      let pending = "";
      socket.on("data", (chunk: Buffer) => {
        pending += chunk.toString("latin1");
        const headEnd = pending.indexOf("\r\n\r\n");
        if (headEnd === -1) return;
        if (pending.startsWith("POST /upload")) {
          socket.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!");
          socket.pause();
          return;
        }
        const length = Number(/content-length: (\d+)/i.exec(pending)?.[1] ?? 0);
        if (pending.length < headEnd + 4 + length) return;
        socket.write(okResponse(pending.slice(headEnd + 4, headEnd + 4 + length)));
        pending = "";
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.teardown(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
    });
    const address = server.address();
    const proxy = await proxyFor(
      t,
      `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    );
    const count = Math.max(5, Math.floor(repetitions(300) / 30));
    let completed = 0;
    for (let i = 0; i < count; i++) {
      const body = Buffer.alloc(8 * 1024 * 1024, "u");
      const socket = connect(proxy.port, "127.0.0.1");
      socket.on("error", () => undefined);
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
      const uploaded = new Promise<boolean>((resolve) => {
        socket.write(`POST /upload HTTP/1.1\r\nHost: hub\r\nContent-Length: ${body.length}\r\n\r\n`);
        socket.write(body, (error) => resolve(!error));
        setTimeout(() => resolve(false), 10_000);
      });
      const done = await uploaded;
      await waitUntil(() => text.includes("too big!"), "the 413", 5000).catch(() => undefined);
      socket.write("POST /echo/after HTTP/1.1\r\nHost: hub\r\nContent-Length: 5\r\n\r\nafter");
      await waitUntil(
        () => text.endsWith("\r\n\r\nafter"),
        "the next answer on the same connection",
        5000,
      ).catch(() => undefined);
      if (done && /^HTTP\/1\.1 413 /.test(text) && text.endsWith("\r\n\r\nafter")) completed++;
      socket.destroy();
    }
    t.equal(
      completed,
      count,
      `${count} uploads answered early: each finished, got its 413, and the next request on its connection was answered`,
    );
    assertNothingCrashed(t, proxy);
  },
);

t.test("--drop-client-forwarded: what clients claim about the original request stays out", async (t) => {
  const seen: RawRequest[] = [];
  const upstream = await rawUpstream(t, (request, socket) => {
    if (echoes(request, socket)) return;
    seen.push(request);
    socket.write(okResponse("ok"));
  });
  const proxy = await proxyFor(t, upstream.url, { LTICTR_DROP_CLIENT_FORWARDED: "true" });
  const answer = await rawRequest(
    proxy.port,
    "GET /claims HTTP/1.1\r\nHost: hub\r\nConnection: close\r\nX-Real-IP: 10.9.9.9\r\nX-Scheme: https\r\n" +
      "Forwarded: for=10.9.9.9;proto=https\r\nX-Forwarded-Host: evil.example\r\n\r\n",
  );
  t.equal(answer.status, 200);
  const headers = seen[0]?.headers ?? {};
  for (const name of ["x-real-ip", "x-scheme", "forwarded"])
    t.equal(headers[name], undefined, `${name} dropped`);
  t.equal(headers["x-forwarded-host"], "hub", "X-Forwarded-Host is the proxy's own");
  t.equal(headers["x-forwarded-for"], "127.0.0.1", "X-Forwarded-For names the real client");
  await assertRouteServes(t, proxy, "after");
  assertNothingCrashed(t, proxy);
});
