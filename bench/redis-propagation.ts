/**
 * Redis route store figures (not part of `npm test` or `npm run bench`):
 *   - propagation: time from the start of `add` on one replica until another replica routes the path (p50/p99/max
 *     over `--changes` adds, one at a time);
 *   - start-up: time for a new replica to open and load a table of `--routes` routes.
 * Both replicas run in this process against Debian's redis-server on a free loopback port.
 *
 *   npm run build && node dist/bench/redis-propagation.js [--changes 2000] [--routes 10000]
 */
import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { RedisRouteStore } from "../src/routing/redis/redis-route-store.js";
import { RedisServer } from "../test/support/redis-server.js";
import { percentile } from "./lib/stats.js";

const { values } = parseArgs({
  options: { changes: { type: "string", default: "2000" }, routes: { type: "string", default: "10000" } },
});
const changes = Number(values.changes);
const routeCount = Number(values.routes);

const cleanups: Array<() => unknown> = [];
const teardown = { teardown: (fn: () => unknown) => void cleanups.push(fn) };
const log = pino({ level: "warn" });

try {
  const redis = await RedisServer.start(teardown);
  const open = async () => {
    const store = await RedisRouteStore.open(redis.url(), { log });
    cleanups.push(() => store.close());
    return store;
  };
  const [writer, reader] = [await open(), await open()];

  const times: number[] = [];
  for (let i = 0; i < changes; i++) {
    const path = `/user/p${i}`;
    const start = performance.now();
    await writer.add(path, { target: `http://10.1.${i >> 8}.${i & 255}:8888`, last_activity: new Date() });
    while (!reader.getTarget(path)) await nextTurn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const ms = (p: number) => `${(percentile(times, p) ?? Number.NaN).toFixed(2)} ms`;
  console.log(`propagation over ${changes} adds: p50 ${ms(50)}, p99 ${ms(99)}, max ${ms(100)}`);

  const batch = 200;
  const fillStart = performance.now();
  for (let i = changes; i < routeCount; i += batch) {
    const adds = [];
    for (let j = i; j < Math.min(i + batch, routeCount); j++)
      adds.push(
        writer.add(`/user/p${j}`, {
          target: `http://10.1.${j >> 8}.${j & 255}:8888`,
          last_activity: new Date(),
        }),
      );
    await Promise.all(adds);
  }
  console.log(
    `filled to ${routeCount} routes in ${(performance.now() - fillStart).toFixed(0)} ms (${batch} adds at once)`,
  );

  const loadStart = performance.now();
  const late = await open();
  const loadMs = performance.now() - loadStart;
  console.log(`a new replica opened with ${late.status().routes} routes in ${loadMs.toFixed(0)} ms`);

  const readStart = performance.now();
  const all = await late.getAll();
  console.log(
    `getAll of ${Object.keys(all).length} routes with Redis's activity folded in: ${(performance.now() - readStart).toFixed(1)} ms`,
  );
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
