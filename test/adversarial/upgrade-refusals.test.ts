import t from "tap";
import {
  assertBackToBaseline,
  assertNothingCrashed,
  assertRouteServes,
  echoes,
  footprint,
  settledFootprint,
  holdClient,
  inParallel,
  proxyFor,
  rawRequest,
  rawUpstream,
  repetitions,
  upgradeRequest,
  upstreamSocketsClosed,
} from "../support/adversarial.js";
import { sleep, waitUntil } from "../support/wait.js";

/*
 * An upstream that refuses a WebSocket upgrade answers with an ordinary response, which the proxy passes on.
 * Before: it was copied to the client without back-pressure (a hostile upstream streaming to a client that does
 * not read grew the proxy by 150 MiB), and after a refusal whose upstream then stalled, the client's socket was
 * never ended.
 */

const MiB = 1024 * 1024;
const FLOOD_LIMIT = 256 * MiB;

t.test(
  "a refusal streamed to a client that does not read is held back by the upstream, not the proxy",
  async (t) => {
    let accepted = 0;
    const chunk = Buffer.alloc(MiB, "f");
    const upstream = await rawUpstream(t, (request, socket) => {
      if (echoes(request, socket)) return;
      socket.write("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n");
      const pump = () => {
        while (accepted < FLOOD_LIMIT && !socket.destroyed) {
          accepted += chunk.length;
          if (!socket.write(chunk)) return void socket.once("drain", pump);
        }
        socket.end();
      };
      pump();
    });
    const proxy = await proxyFor(t, upstream.url);
    await assertRouteServes(t, proxy, "warm-up");
    const pid = proxy.process.child.pid as number;
    const baseline = footprint(pid);

    const client = await holdClient(t, proxy.port, upgradeRequest("/flood"), { read: "head" });
    await waitUntil(() => /^HTTP\/1\.1 403 /.test(client.received()), "the refusal's head", 5000);
    // Long enough for an unbounded copy to take everything the upstream offers (loopback moves GiB/s).
    await sleep(3000);
    const during = footprint(pid);
    t.ok(
      accepted < 64 * MiB,
      `the upstream could send only ${Math.round(accepted / MiB)} MiB before it was held back`,
    );
    t.ok(
      during.rssKiB - baseline.rssKiB < 48 * 1024,
      `proxy RSS ${Math.round(baseline.rssKiB / 1024)} → ${Math.round(during.rssKiB / 1024)} MiB while the client does not read`,
    );
    client.socket.destroy();
    await upstreamSocketsClosed(
      upstream,
      "the flooding upstream's socket to close once the client left",
      5000,
    );
    await assertRouteServes(t, proxy, "after the flood");
    assertNothingCrashed(t, proxy);
  },
);

t.test("refusals: the client reads the whole answer, then both sockets close", async (t) => {
  const upstream = await rawUpstream(t, (request, socket) => {
    if (echoes(request, socket)) return;
    socket.write("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nno origin");
  });
  const proxy = await proxyFor(t, upstream.url);
  await assertRouteServes(t, proxy, "warm-up");
  const baseline = await settledFootprint(proxy);
  const count = repetitions(300);
  let complete = 0;
  let slowest = 0;
  await inParallel(count, 25, async () => {
    const answer = await rawRequest(proxy.port, upgradeRequest("/refused"), { waitMs: 8000 });
    if (answer.status === 403 && answer.closed && answer.text.endsWith("\r\n\r\nno origin")) complete++;
    slowest = Math.max(slowest, answer.elapsedMs);
  });
  t.equal(complete, count, `${count} refusals passed on whole, each connection closed by the proxy`);
  t.ok(slowest < 6000, `the slowest closed after ${slowest} ms`);
  await upstreamSocketsClosed(
    upstream.sockets.length > 0 ? upstream : upstream,
    "every refusing upstream socket to close",
  );
  await assertRouteServes(t, proxy, "after the refusals");
  await assertBackToBaseline(t, proxy, baseline, `${count} refused upgrades`);
  assertNothingCrashed(t, proxy);
});

t.test("a refusal whose upstream stalls: the client's connection ends at the proxy timeout", async (t) => {
  const upstream = await rawUpstream(t, (request, socket) => {
    if (echoes(request, socket)) return;
    socket.write("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\npartial");
  });
  const proxy = await proxyFor(t, upstream.url, {}, ["--proxy-timeout", "1000"]);
  await assertRouteServes(t, proxy, "warm-up");
  const baseline = await settledFootprint(proxy);
  const count = Math.max(20, Math.floor(repetitions(300) / 3));
  let ended = 0;
  let slowest = 0;
  await inParallel(count, 50, async () => {
    const answer = await rawRequest(proxy.port, upgradeRequest("/stalled"), { waitMs: 8000 });
    if (answer.status === 403 && answer.closed) ended++;
    slowest = Math.max(slowest, answer.elapsedMs);
  });
  t.equal(ended, count, `${count} stalled refusals: the proxy ended every client connection`);
  t.ok(slowest < 5000, `within ${slowest} ms (proxy timeout 1000 ms)`);
  await upstreamSocketsClosed(upstream, "every stalled upstream socket to close");
  await assertRouteServes(t, proxy, "after the stalled refusals");
  await assertBackToBaseline(t, proxy, baseline, `${count} stalled refusals`);
  assertNothingCrashed(t, proxy);
});
