import type { Socket } from "node:net";
import t from "tap";
import {
  assertBackToBaseline,
  assertNothingCrashed,
  assertRouteServes,
  echoes,
  settledFootprint,
  inParallel,
  proxyFor,
  rawRequest,
  rawUpstream,
  repetitions,
  upgradeRequest,
  upstreamSocketsClosed,
  type RawRequest,
} from "../support/adversarial.js";
import { connect } from "node:net";
import { sleep } from "../support/wait.js";

/*
 * Every failed upgrade handshake closes its upstream socket. Before: a malformed or oversized answer never
 * closed it, and a client that left in the middle of the handshake left the upstream connection open (100
 * abandoned handshakes: +100 descriptors), so a user could loop it into EMFILE.
 */

function misbehave(request: RawRequest, socket: Socket): void {
  if (echoes(request, socket)) return;
  if (request.path === "/malformed") socket.write("HTTP/1.1 2x0 Switching\r\nUpgrade: websocket\r\n\r\n");
  else if (request.path === "/oversized")
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nX-Padding: ${"a".repeat(256 * 1024)}`);
  // "/silent": no answer at all.
}

for (const path of ["/malformed", "/oversized"]) {
  t.test(
    `an upgrade answered with a ${path.slice(1)} head: 503, and the upstream socket closes`,
    async (t) => {
      const upstream = await rawUpstream(t, misbehave);
      const proxy = await proxyFor(t, upstream.url);
      await assertRouteServes(t, proxy, "warm-up");
      const count = repetitions(300);
      const batch = async (label: string) => {
        let refused = 0;
        let slowest = 0;
        await inParallel(count, 25, async () => {
          const answer = await rawRequest(proxy.port, upgradeRequest(path), { waitMs: 8000 });
          if ((answer.status === 502 || answer.status === 503) && answer.closed) refused++;
          slowest = Math.max(slowest, answer.elapsedMs);
        });
        t.equal(
          refused,
          count,
          `${label}: ${count} upgrades, a complete error answer and a closed connection each`,
        );
        t.ok(slowest < 5000, `${label}: the slowest in ${slowest} ms`);
        await upstreamSocketsClosed(upstream, `every upstream socket of a ${path.slice(1)} answer to close`);
        await assertRouteServes(t, proxy, `after ${count} ${path.slice(1)} answers`);
      };
      const baseline = await settledFootprint(proxy);
      await batch("first batch");
      // The first batch brings the process to its working set (a 256 KiB oversized answer passes through read
      // memory 25 at a time; freed memory is not handed back to the system at once), so its RSS bound is loose.
      // A leak shows in the second batch: the same work again must find that memory, not add to it.
      const warmed = await assertBackToBaseline(
        t,
        proxy,
        baseline,
        `${count} ${path.slice(1)} upgrade answers`,
        {
          rssSlackMiB: 96,
        },
      );
      await batch("second batch");
      await assertBackToBaseline(t, proxy, warmed, `${count} more ${path.slice(1)} upgrade answers`, {
        rssSlackMiB: 24,
      });
      assertNothingCrashed(t, proxy);
    },
  );
}

t.test("a client that leaves in the middle of the handshake: the upstream socket closes", async (t) => {
  const upstream = await rawUpstream(t, misbehave);
  const proxy = await proxyFor(t, upstream.url);
  await assertRouteServes(t, proxy, "warm-up");
  const baseline = await settledFootprint(proxy);
  const count = repetitions(300);
  await inParallel(count, 50, async () => {
    const socket = connect(proxy.port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write(upgradeRequest("/silent"));
    await sleep(100);
    socket.destroy();
  });
  await upstreamSocketsClosed(
    upstream,
    `the upstream sockets of ${count} abandoned handshakes to close`,
    5000,
  );
  await assertRouteServes(t, proxy, "after the abandoned handshakes");
  await assertBackToBaseline(t, proxy, baseline, `${count} abandoned handshakes`);
  assertNothingCrashed(t, proxy);
});
