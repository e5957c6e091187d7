import t from "tap";
import {
  assertBackToBaseline,
  assertNothingCrashed,
  assertRouteServes,
  echoes,
  settledFootprint,
  holdClient,
  proxyFor,
  rawUpstream,
  repetitions,
  type HeldClient,
} from "../support/adversarial.js";
import { waitUntil } from "../support/wait.js";

/*
 * One client must not starve the others of the upstream. Before: connections per origin were capped at 256, the
 * requests beyond waited in a queue without bound or deadline, and a request that announced a body and never
 * sent it held its upstream connection for ever: 256 such requests (no login needed) stopped every other user.
 */

const SLOW_BODY =
  "POST /slow HTTP/1.1\r\nHost: hub\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n";
/** More than the old cap of connections per origin. */
const BATCH = 300;
const BODY_TIMEOUT_MS = 2000;

t.test("requests that announce a body and never send it hold no upstream connection", async (t) => {
  const upstream = await rawUpstream(t, (request, socket) => void echoes(request, socket));
  const proxy = await proxyFor(t, upstream.url, { LTICTR_REQUEST_BODY_TIMEOUT: String(BODY_TIMEOUT_MS) });
  await assertRouteServes(t, proxy, "warm-up");
  const baseline = await settledFootprint(proxy);

  const total = repetitions(BATCH);
  let answered408 = 0;
  for (let done = 0; done < total; done += BATCH) {
    const batch = Math.min(BATCH, total - done);
    const slow: HeldClient[] = [];
    for (let i = 0; i < batch; i++)
      slow.push(await holdClient(t, proxy.port, SLOW_BODY, { localAddress: "127.0.0.2" }));
    const sentAt = Date.now();
    await assertRouteServes(t, proxy, `beside ${batch} stalled bodies`);
    t.ok(
      upstream.sockets.length <= 4,
      `the stalled requests opened no upstream connection (${upstream.sockets.length})`,
    );
    await waitUntil(
      () => slow.every((client) => client.isClosed()),
      "the stalled requests to be closed",
      BODY_TIMEOUT_MS + 8000,
    );
    const elapsed = Date.now() - sentAt;
    t.ok(elapsed < BODY_TIMEOUT_MS + 5000, `every stalled request ended within ${elapsed} ms`);
    answered408 += slow.filter((client) => /^HTTP\/1\.1 408 /.test(client.received())).length;
    for (const client of slow) client.socket.destroy();
  }
  t.equal(answered408, total, "each stalled request got 408");
  await assertRouteServes(t, proxy, "after the stalled requests");
  await assertBackToBaseline(t, proxy, baseline, `${total} stalled request bodies`);
  assertNothingCrashed(t, proxy);
});

t.test(
  "a bounded pool: one client gets its share, its other requests 503 after the queue deadline",
  async (t) => {
    const big = Buffer.alloc(64 * 1024 * 1024, "x");
    const upstream = await rawUpstream(t, (request, socket) => {
      if (echoes(request, socket)) return;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`);
      socket.write(big);
    });
    const proxy = await proxyFor(t, upstream.url, {
      LTICTR_UPSTREAM_MAX_CONNECTIONS: "4",
      LTICTR_UPSTREAM_CLIENT_SHARE: "50",
      LTICTR_UPSTREAM_QUEUE_LIMIT: "2",
      LTICTR_UPSTREAM_QUEUE_TIMEOUT: "1000",
    });
    await assertRouteServes(t, proxy, "warm-up");
    const baseline = await settledFootprint(proxy);

    const rounds = Math.max(1, Math.floor(repetitions(BATCH) / 100));
    for (let round = 0; round < rounds; round++) {
      // Slow readers of a large answer: each holds an upstream connection while it does not read.
      const readers: HeldClient[] = [];
      for (let i = 0; i < 5; i++)
        readers.push(
          await holdClient(t, proxy.port, "GET /large HTTP/1.1\r\nHost: hub\r\n\r\n", {
            localAddress: "127.0.0.2",
            read: "head",
          }),
        );
      const startedAt = Date.now();
      await waitUntil(
        () => readers.every((reader) => /^HTTP\/1\.1 \d{3}/.test(reader.received())),
        "an answer to every slow reader",
        5000,
      ).catch(() => undefined);
      const statuses = readers.map((reader) =>
        Number(/^HTTP\/1\.1 (\d{3})/.exec(reader.received())?.[1] ?? 0),
      );
      t.same(
        statuses.slice().sort(),
        [200, 200, 503, 503, 503],
        `round ${round}: two connections (50 % of 4) for that client, 503 for the rest (${statuses.join(",")})`,
      );
      t.ok(Date.now() - startedAt < 4000, "the 503s came at the queue deadline");
      await assertRouteServes(t, proxy, `round ${round}: another client`, { localAddress: "127.0.0.1" });
      for (const reader of readers) reader.socket.destroy();
      await waitUntil(
        () => upstream.openSockets() <= 2,
        "the slow readers' upstream connections to close",
        5000,
      );
    }
    await assertBackToBaseline(t, proxy, baseline, "slow readers of large answers");
    assertNothingCrashed(t, proxy);
  },
);
