import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Redis } from "ioredis";
import {
  RedisRouteStore,
  type RedisRouteStoreOptions,
  type RedisStoreState,
} from "../../../src/routing/redis/redis-route-store.js";
import { captureLogger } from "../../support/log-capture.js";
import type { RedisServer } from "../../support/redis-server.js";
import type { Teardown } from "../../support/temp-dir.js";

export interface Replica {
  store: RedisRouteStore;
  /** Log messages so far. */
  messages: () => string[];
  /** Every state the store reported through onStateChange, in order. */
  states: RedisStoreState[];
}

/** A store on `url` with a captured log and its states recorded, closed at teardown. */
export async function openReplica(
  t: Teardown,
  url: string,
  options: Partial<RedisRouteStoreOptions> = {},
): Promise<Replica> {
  const { logger, messages } = captureLogger();
  const states: RedisStoreState[] = [];
  const store = await RedisRouteStore.open(url, {
    log: logger,
    onStateChange: (status) => states.push(status.state),
    ...options,
  });
  t.teardown(() => store.close());
  return { store, messages, states };
}

/** A plain client for reading Redis and writing to it by hand, closed at teardown. */
export async function adminClient(t: Teardown, redis: RedisServer): Promise<Redis> {
  const client = new Redis({
    port: redis.port,
    host: "127.0.0.1",
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  client.on("error", () => undefined);
  await client.connect();
  t.teardown(() => client.disconnect());
  return client;
}

/**
 * Ms until `check` holds, looking again at every turn of the event loop (so the time is the store's, not a poll
 * interval's). Throws after `timeoutMs`, which only bounds a broken run.
 */
export async function msUntil(check: () => boolean, what: string, timeoutMs = 10000): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await nextTurn();
  }
  return performance.now() - start;
}
