import { request, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import t from "tap";
import { startFakeKernelServer } from "../support/fake-kernel.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { freePort } from "../support/ports.js";
import { rssBytes, settledRss } from "../support/proc-stats.js";
import { rawExchange } from "../support/raw-exchange.js";
import { waitUntil } from "../support/wait.js";
import { webRequest, type WebRequest } from "../support/web-client.js";

/**
 * Bad input for the admin listener, through the binary: malformed and oversized requests get a clear answer,
 * live-stream clients that never read are dropped with bounded memory, 100 pages open at once are served and
 * the stream count is capped, sign-ins are capped — and the proxy keeps proxying throughout.
 */
const TOKEN = "admin-abuse-token-5e0b";
const auth = { authorization: `token ${TOKEN}` };

const kernel = await startFakeKernelServer();
t.teardown(() => kernel.close());
const adminPort = await freePort();
const proxy = await startLoopbackProxy(
  t,
  ["--default-target", kernel.url, "--admin-port", String(adminPort)],
  {
    token: TOKEN,
    ready: [/Admin page at /, /Route added \//],
  },
);
const pid = proxy.process.child.pid as number;
const base = `http://127.0.0.1:${adminPort}`;
const admin = (path: string, options: WebRequest = {}) => webRequest(`${base}${path}`, options);

async function overview(): Promise<{ page: { streams: number; dropped: number } }> {
  const answer = await admin("/admin/api/overview", { headers: auth });
  if (answer.status !== 200) throw new Error(`overview answered ${answer.status}`);
  return JSON.parse(answer.body) as { page: { streams: number; dropped: number } };
}

async function stillServing(t: {
  equal(found: unknown, wanted: unknown, message: string): void;
}): Promise<void> {
  t.equal((await webRequest(`${proxy.url}/still-there`)).status, 200, "the proxy still proxies");
  t.equal(
    (await admin("/admin/api/overview", { headers: auth })).status,
    200,
    "the admin page still answers",
  );
}

t.test("malformed requests get a clear answer", async (t) => {
  const raw = (text: string) => rawExchange({ port: adminPort }, text);
  t.match((await raw("GARBAGE\r\n\r\n")).response, /^HTTP\/1\.1 400 /, "not HTTP: 400");
  t.match(
    (await raw(`GET /admin/api/overview HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`))
      .response,
    /^HTTP\/1\.1 431 /,
    "oversized headers: 431",
  );
  const declared = await raw(
    "POST /admin/api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{",
  );
  t.match(declared.response, /^HTTP\/1\.1 413 /, "a declared gigabyte: 413 at once");
  t.ok(declared.closedByServer, "and the connection ends");

  const post = (path: string, body: string, type = "application/json") =>
    admin(path, { method: "POST", headers: { ...auth, "content-type": type }, body });
  const big = await post("/admin/api/routes/delete", JSON.stringify({ path: "x".repeat(2_000_000) }));
  t.equal(big.status, 413, "a 2 MB body: 413");
  t.match(JSON.parse(big.body), { code: "body_too_large" });
  t.match(JSON.parse((await post("/admin/api/routes/delete", "{not json")).body), { code: "bad_json" });
  t.equal((await post("/admin/api/routes/delete", "[1,2]")).status, 400, "JSON that is no object: 400");
  t.equal((await post("/admin/api/routes/delete", "path=/", "text/plain")).status, 415, "another type: 415");
  t.equal((await post("/admin/api/routes/delete", "{}")).status, 400, "no path: 400");
  t.equal((await post("/admin/api/routes/delete", '{"path":"/nope"}')).status, 404, "no such route: 404");
  const wrongMethod = await admin("/admin/api/overview", { method: "POST", headers: auth });
  t.equal(wrongMethod.status, 405);
  t.equal(wrongMethod.headers.allow, "GET");
  t.equal((await admin("/admin/api/%zz", { headers: auth })).status, 404, "a bad escape: 404");
  t.equal((await admin("/admin/../etc/passwd")).status, 404, "no files outside the page");
  t.equal(
    (await admin("/admin/api/routes", { method: "BREW", headers: auth })).status,
    400,
    "no HTTP method",
  );
  t.equal(
    (
      await admin("/admin/api/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      })
    ).status,
    401,
    "sign-in without a token: 401",
  );
  await stillServing(t);
});

/** A stream client that sends its request and then never reads a byte. */
function deafStream(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(adminPort, "127.0.0.1", () => {
      socket.write(
        `GET /admin/api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token ${TOKEN}\r\n\r\n`,
      );
      socket.pause();
      resolve(socket);
    });
    socket.on("error", reject);
  });
}

t.test("100 stream clients that never read: dropped, memory bounded, the proxy serves on", async (t) => {
  await settledRss(pid);
  const before = (await settledRss(pid)) ?? 0;
  const deaf = await Promise.all(Array.from({ length: 100 }, deafStream));
  t.teardown(() => deaf.forEach((socket) => socket.destroy()));
  await waitUntil(async () => (await overview()).page.streams === 100, "100 streams open");

  // Every route change goes to every page. At 16 KB a change, the loopback's socket buffers (megabytes: kernel
  // memory, not the proxy's) fill after a few hundred; then the proxy's own buffer of 256 KiB per client.
  let peak = before;
  const target = `http://127.0.0.1:9/${"a".repeat(16_000)}`;
  let changes = 0;
  while ((await overview()).page.streams > 0 && changes < 2000) {
    for (let i = 0; i < 50; i++, changes++) {
      const answer = await proxy.api("POST", `/user/flood${changes}`, { target });
      if (answer.status !== 201) throw new Error(`POST answered ${answer.status}`);
    }
    peak = Math.max(peak, rssBytes(pid) ?? 0);
  }
  const { page } = await overview();
  t.ok(page.dropped >= 100, `${page.dropped} streams dropped for not reading`);
  peak = Math.max(peak, rssBytes(pid) ?? 0);
  const grown = (peak - before) / 2 ** 20;
  t.ok(
    grown < 80,
    `RSS grew by ${grown.toFixed(1)} MiB while ${changes} changes of 16 KB went to 100 clients that read none`,
  );
  await stillServing(t);
  for (let i = 0; i < changes; i++) await proxy.api("DELETE", `/user/flood${i}`);
});

/** An open stream that reads; resolves once the first `tick` arrives. */
function readingStream(): Promise<{ res: IncomingMessage; firstTick: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/admin/api/events`, { headers: auth }, (res) => {
      let text = "";
      const firstTick = new Promise<void>((tick) => {
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes("event: tick")) tick();
        });
      });
      resolve({ res, firstTick });
    });
    req.on("error", reject);
    req.end();
  });
}

t.test("100 pages open at once are all served; the number of streams is capped", async (t) => {
  const before = (await settledRss(pid)) ?? 0;
  const pages = await Promise.all(Array.from({ length: 100 }, readingStream));
  t.teardown(() => pages.forEach(({ res }) => res.destroy()));
  t.ok(
    pages.every(({ res }) => res.statusCode === 200),
    "100 streams open",
  );
  await Promise.all(pages.map(({ firstTick }) => firstTick));
  t.pass("each got the live tick");
  const grown = (((await settledRss(pid)) ?? 0) - before) / 2 ** 20;
  t.ok(grown < 40, `100 open pages cost ${grown.toFixed(1)} MiB`);

  const more = await Promise.all(Array.from({ length: 200 }, readingStream));
  t.teardown(() => more.forEach(({ res }) => res.destroy()));
  const refused = more.filter(({ res }) => res.statusCode === 503).length;
  t.equal(refused, 300 - 256, "beyond 256 streams: 503");
  await stillServing(t);
  [...pages, ...more].forEach(({ res }) => res.destroy());
  await waitUntil(async () => (await overview()).page.streams === 0, "all streams closed");
});

t.test("sign-ins are capped: the oldest session ends", async (t) => {
  const cookies: string[] = [];
  for (let i = 0; i < 100; i++) {
    const login = await admin("/admin/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: TOKEN }),
    });
    cookies.push(String(login.headers["set-cookie"]).split(";")[0] ?? "");
  }
  const status = async (cookie: string) =>
    (await admin("/admin/api/overview", { headers: { cookie } })).status;
  t.equal(await status(cookies[0] ?? ""), 401, "the first of 100 sign-ins has ended");
  t.equal(await status(cookies[35] ?? ""), 401, "as have the 36 oldest");
  t.equal(await status(cookies[36] ?? ""), 200, "the newest 64 live");
  t.equal(await status(cookies[99] ?? ""), 200);
  t.equal(await status("ltictr_admin=forged"), 401, "a made-up cookie: 401");
});

t.test("SIGTERM with pages open: their streams end, the proxy stops at once", async (t) => {
  const pages = await Promise.all(Array.from({ length: 5 }, readingStream));
  const ended = Promise.all(pages.map(({ res }) => new Promise((resolve) => res.on("close", resolve))));
  const started = Date.now();
  t.equal(await proxy.process.stop(15_000), 2, "exit code 2, as after any SIGTERM");
  await ended;
  t.ok(Date.now() - started < 2000, `stopped in ${Date.now() - started} ms (the shutdown timeout is 10 s)`);
});
