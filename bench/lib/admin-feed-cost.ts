import { once } from "node:events";
import { createServer, get } from "node:http";
import { pino } from "pino";
import { AdminFeed } from "../../src/admin/admin-feed.js";
import type { AdminSources } from "../../src/admin/admin-sources.js";
import { SseHub } from "../../src/admin/sse-hub.js";
import { TokenCheck } from "../../src/api/token-check.js";
import { events } from "../../src/events.js";

/** The admin page's own work, timed in this process (independent of load elsewhere on the machine). */
export interface FeedCost {
  /** What the page's counters add to one proxied request (the `proxyRequest` event and its counter). */
  perRequestNs: number;
  /** One second's tick to `pages` live pages, with `cellsPerSecond` results in it (serialising and writing). */
  perTickMicros: number;
  tickBytes: number;
}

const sources: AdminSources = {
  version: "bench",
  startedAt: Date.now(),
  tokens: new TokenCheck("bench"),
  routes: {
    getAll: () => ({}),
    get: () => undefined,
    remove: async () => false,
    flushActivity: async () => undefined,
    status: () => ({ backend: "memory", routes: 1 }),
  },
  relay: { status: () => ({ open: 0, byRoute: {} }), openCount: 0 },
  capture: {
    status: () => ({ sessions: [], pendingNonCellRequests: 0, heldBytes: 0, skippedMessages: 0 }),
    openCount: 0,
  },
  moodleOrigins: [],
  listeners: () => undefined,
};

/** What the proxy's dispatcher does per request: publish only when somebody listens. */
function requests(count: number): bigint {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++)
    if (events.proxyRequest.active) events.proxyRequest.publish({ kind: "web" });
  return process.hrtime.bigint() - start;
}

export async function measureFeedCost(pages: number, cellsPerSecond: number): Promise<FeedCost> {
  const hub = new SseHub({
    maxClients: 10_000,
    maxBufferedBytes: 1 << 20,
    heartbeatMs: 15_000,
    retryMs: 2000,
  });
  const server = createServer((_req, res) => void hub.open(res));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
  const readers = await Promise.all(
    Array.from(
      { length: pages },
      () =>
        new Promise<ReturnType<typeof get>>((resolve) => {
          const req = get(url, (res) => {
            res.resume();
            resolve(req);
          });
        }),
    ),
  );
  const feed = new AdminFeed(sources, hub, pino({ level: "silent" }));
  try {
    const count = 5_000_000;
    feed.start();
    requests(count); // JIT warm-up
    const withPage = requests(count);
    feed.close();
    requests(count);
    const without = requests(count);
    const perRequestNs = Number(withPage - without) / count;

    feed.start();
    let tickNs = 0n;
    let lastTick: unknown;
    const ticks = 200;
    const broadcast = hub.broadcast.bind(hub);
    hub.broadcast = (event, data) => {
      if (event === "tick") lastTick = data;
      broadcast(event, data);
    };
    for (let tick = 0; tick < ticks; tick++) {
      for (let cell = 0; cell < cellsPerSecond; cell++) {
        const message = `m${tick}-${cell}`;
        const record = {
          socket: cell,
          session: "s",
          message,
          user: `student${cell}`,
          cellId: "c",
          tags: `["filename:ex.ipynb","codenum:${cell % 10}"]`,
          instId: "6",
          ltiId: "13",
          capturedAt: Date.now(),
        };
        events.executionCaptured.publish({ ...record, kind: "client", status: "" });
        events.executionCaptured.publish({ ...record, kind: "server", status: cell % 3 ? "ok" : "error" });
      }
      const start = process.hrtime.bigint();
      feed.tick();
      tickNs += process.hrtime.bigint() - start;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const tickBytes = Buffer.byteLength(JSON.stringify(lastTick));
    return { perRequestNs, perTickMicros: Number(tickNs) / ticks / 1000, tickBytes };
  } finally {
    feed.close();
    hub.close();
    for (const reader of readers) reader.destroy();
    server.close();
  }
}
