import { createServer, type Server } from "node:http";
import { performance } from "node:perf_hooks";
import { pino } from "pino";
import { Pool } from "undici";
import { RedisRouteStore } from "../../src/routing/redis/redis-route-store.js";
import { RedisServer } from "../../test/support/redis-server.js";
import { describeLoad, loadTogether } from "../lib/load-together.js";
import type { Row, ScenarioResult } from "../lib/results.js";
import { RouteApi } from "../lib/route-api.js";
import { sleep, type BenchContext, type Scenario } from "../lib/scenario.js";
import { median, percentile } from "../lib/stats.js";
import { startTarget, type Target } from "../lib/targets.js";

const CONNECTIONS = 50;
const PATH = "/user/bench/api/status";
/** Fresh pairs (in-memory, Redis) and windows per pair, as scenario 5 measures its share. */
const PAIRS = 2;
const MIN_WINDOWS_PER_PAIR = 2;
const TABLE_ROUTES = 10_000;
/** A replica counts as serving once it routes a path of the table; given up after this long. */
const SERVE_TIMEOUT_MS = 60_000;
const POLL_MS = 5;
const MARK = "routed";

/** What routes added in this scenario point to: its answer tells a routed request from the default route's. */
async function markerBackend(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": MARK.length });
    res.end(MARK);
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Whether `target` routes `path` to the marker backend now (false on any error, e.g. not listening yet). */
async function routes(pool: Pool, path: string): Promise<boolean> {
  try {
    const { body } = await pool.request({ method: "GET", path });
    return (await body.text()) === MARK;
  } catch {
    return false;
  }
}

interface Cleanup {
  teardown(fn: () => unknown): void;
}

/** Small-request throughput with the Redis store ÷ with the in-memory store, both loaded at the same moment. */
async function throughputShare(
  ctx: BenchContext,
  redisUrl: string,
): Promise<{ shares: number[]; redis: number[]; memory: number[] }> {
  const shares: number[] = [];
  const redis: number[] = [];
  const memory: number[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const inMemory = await startTarget("ltictr", ctx.backend.url, ctx.targetOptions);
    let inRedis: Target | undefined;
    try {
      inRedis = await startTarget("ltictr", ctx.backend.url, {
        ...ctx.targetOptions,
        ltictrArgs: ["--storage-backend", redisUrl],
      });
      const both = [inMemory, inRedis];
      await loadTogether(both, { connections: CONNECTIONS, durationS: ctx.options.warmupS, path: PATH });
      for (let w = 0; w < Math.max(MIN_WINDOWS_PER_PAIR, ctx.options.rounds); w++) {
        const [atMemory, atRedis] = await loadTogether(both, {
          connections: CONNECTIONS,
          durationS: ctx.options.durationS,
          path: PATH,
        });
        ctx.log(`  in-memory ${describeLoad(atMemory)} | Redis ${describeLoad(atRedis)}, at once`);
        memory.push(atMemory.requestsPerSecond);
        redis.push(atRedis.requestsPerSecond);
        shares.push((100 * atRedis.requestsPerSecond) / atMemory.requestsPerSecond);
      }
    } finally {
      await inRedis?.stop();
      await inMemory.stop();
    }
  }
  return { shares, redis, memory };
}

/** ms from the start of a POST on one replica until the other routes the path, for `changes` new routes. */
async function propagation(
  ctx: BenchContext,
  redisUrl: string,
  markerUrl: string,
  changes: number,
): Promise<number[]> {
  const args = { ...ctx.targetOptions, ltictrArgs: ["--storage-backend", redisUrl] };
  const writer = await startTarget("ltictr", ctx.backend.url, args);
  let reader: Target | undefined;
  let api: RouteApi | undefined;
  let pool: Pool | undefined;
  try {
    reader = await startTarget("ltictr", ctx.backend.url, args);
    api = new RouteApi(writer);
    pool = new Pool(reader.url, { connections: 1, keepAliveTimeout: 60_000 });
    const times: number[] = [];
    for (let i = 0; i < changes; i++) {
      const path = `/user/p${i}`;
      const started = performance.now();
      await api.add(path, { user: `p${i}`, server_name: "", target: markerUrl, jupyterhub: true });
      while (!(await routes(pool, `${path}/api/status`))) {
        if (performance.now() - started > SERVE_TIMEOUT_MS) throw new Error(`${path} never propagated`);
      }
      times.push(performance.now() - started);
    }
    return times.sort((a, b) => a - b);
  } finally {
    await pool?.close();
    await api?.close();
    await reader?.stop();
    await writer.stop();
  }
}

/** Fills Redis with TABLE_ROUTES routes (in-process, 200 adds at a time), all pointing at the marker. */
async function fillTable(redisUrl: string, markerUrl: string): Promise<void> {
  const store = await RedisRouteStore.open(redisUrl, { log: pino({ level: "warn" }) });
  try {
    for (let i = 0; i < TABLE_ROUTES; i += 200) {
      const adds: Array<void | Promise<void>> = [];
      for (let j = i; j < Math.min(i + 200, TABLE_ROUTES); j++)
        adds.push(store.add(`/user/t${j}`, { target: markerUrl, last_activity: new Date() }));
      await Promise.all(adds);
    }
  } finally {
    await store.close();
  }
}

/** ms from starting a replica (the binary, as users start it) until it routes the table's last path. */
async function startToServing(ctx: BenchContext, redisUrl: string): Promise<number> {
  const started = performance.now();
  const replica = await startTarget("ltictr", ctx.backend.url, {
    ...ctx.targetOptions,
    ltictrArgs: ["--storage-backend", redisUrl],
    readyTimeoutMs: SERVE_TIMEOUT_MS,
  });
  const pool = new Pool(replica.url, { connections: 1 });
  try {
    while (!(await routes(pool, `/user/t${TABLE_ROUTES - 1}/api/status`))) {
      if (performance.now() - started > SERVE_TIMEOUT_MS)
        throw new Error("the replica never served the table");
      await sleep(POLL_MS);
    }
    return performance.now() - started;
  } finally {
    await pool.close();
    await replica.stop();
  }
}

export const redisStore: Scenario = {
  id: 8,
  title: "Redis route store (--storage-backend redis://): throughput, propagation between replicas, start-up",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    if (!ctx.kinds.includes("ltictr")) {
      return { id: this.id, title: this.title, rows: [], notes: ["needs ltictr-proxy"] };
    }
    const cleanups: Array<() => unknown> = [];
    const cleanup: Cleanup = { teardown: (fn) => void cleanups.push(fn) };
    const notes: string[] = [];
    try {
      const server = await RedisServer.start(cleanup);
      const marker = await markerBackend();
      cleanups.push(() => marker.close());
      ctx.log(`  redis-server on ${server.url()}; throughput: in-memory and Redis store loaded at once`);
      const share = await throughputShare(ctx, server.url(0));

      const changes = ctx.options.quick ? 100 : 500;
      ctx.log(`  propagation: ${changes} routes POSTed to one replica, polled on the other`);
      const times = await propagation(ctx, server.url(1), marker.url, changes);
      const p = (q: number) => percentile(times, q) ?? NaN;
      ctx.log(
        `  propagation p50 ${p(50).toFixed(2)} ms, p99 ${p(99).toFixed(2)} ms, max ${p(100).toFixed(2)} ms`,
      );

      await fillTable(server.url(2), marker.url);
      const starts: number[] = [];
      for (let i = 0; i < ctx.options.rounds; i++) starts.push(await startToServing(ctx, server.url(2)));
      ctx.log(
        `  start to serving with ${TABLE_ROUTES} routes in Redis: ${starts.map((s) => s.toFixed(0)).join(", ")} ms`,
      );

      const n = TABLE_ROUTES.toLocaleString("en-US");
      const rows: Row[] = [
        {
          scenario: 8,
          label: "requests/s, small responses, in-memory store",
          unit: "req/s",
          better: "higher",
          values: { ltictr: median(share.memory) },
        },
        {
          scenario: 8,
          label: "requests/s, small responses, Redis store",
          unit: "req/s",
          better: "higher",
          values: { ltictr: median(share.redis) },
        },
        {
          scenario: 8,
          label: "requests/s with the Redis store ÷ in-memory (loaded at once)",
          unit: "%",
          better: "higher",
          values: { ltictr: median(share.shares) },
          goal: { kind: "min", value: 97, text: "≥ 97 %" },
        },
        {
          scenario: 8,
          label: "route propagation between replicas, p50",
          unit: "ms",
          better: "lower",
          values: { ltictr: p(50) },
        },
        {
          scenario: 8,
          label: "route propagation between replicas, p99",
          unit: "ms",
          better: "lower",
          values: { ltictr: p(99) },
        },
        {
          scenario: 8,
          label: `replica start to serving, ${n} routes in Redis`,
          unit: "ms",
          better: "lower",
          values: { ltictr: median(starts) },
          goal: { kind: "max", value: 2000, text: "< 2 s" },
        },
      ];
      return { id: this.id, title: this.title, rows, notes };
    } finally {
      for (const fn of cleanups.reverse()) await fn();
    }
  },
};
