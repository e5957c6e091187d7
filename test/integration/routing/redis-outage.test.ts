import t, { type Test } from "tap";
import { performance } from "node:perf_hooks";
import type { RedisRouteStore } from "../../../src/routing/redis/redis-route-store.js";
import { RouteStoreUnavailable, type RouteData } from "../../../src/routing/route-store.js";
import { RedisServer } from "../../support/redis-server.js";
import { waitUntil } from "../../support/wait.js";
import { adminClient, msUntil, openReplica } from "./redis-harness.js";

const route = (target: string): RouteData => ({ target, last_activity: new Date() });

/**
 * Looks every route up on every replica at each turn of the event loop until stopped, as requests would; counts
 * the lookups, those made while the replica had no Redis, and those that found no route.
 */
function requestsFlow(replicas: RedisRouteStore[], paths: string[]) {
  let running = true;
  let lookups = 0;
  let withoutRedis = 0;
  let misses = 0;
  const done = (async () => {
    while (running) {
      for (const store of replicas) {
        const unavailable = store.status().state === "unavailable";
        for (const path of paths) {
          if (!store.getTarget(`${path}/api/kernels`)) misses++;
          lookups++;
          if (unavailable) withoutRedis++;
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { lookups, withoutRedis, misses };
    },
  };
}

/** Runs `write`, expecting RouteStoreUnavailable; answers how long the rejection took. */
async function rejectedIn(t: Test, write: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await t.rejects(write(), { name: "RouteStoreUnavailable", code: "ROUTE_STORE_UNAVAILABLE" });
  return performance.now() - start;
}

t.test("Redis stopped and restarted while requests flow", async (t) => {
  const redis = await RedisServer.start(t, { persistent: true });
  const options = { flushIntervalMs: 200, commandTimeoutMs: 1000, reconnectMaxDelayMs: 200 };
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => openReplica(t, redis.url(), options)));
  const paths = ["/user/ann", "/user/bob", "/user/cid"];
  for (const path of paths) await a.store.add(path, route(`http://10.0.0.1:8888${path}`));
  await msUntil(() => [b, c].every((replica) => replica.store.status().routes === 3), "3 routes everywhere");
  const flow = requestsFlow([a.store, b.store, c.store], paths);

  await redis.stop();
  await waitUntil(
    () => [a, b, c].every((replica) => replica.store.status().state === "unavailable"),
    "every replica to see Redis gone",
  );
  for (const replica of [a, b, c]) {
    const took = await rejectedIn(t, () => replica.store.add("/user/new", route("http://10.0.0.9:8888")));
    // The bound is the command timeout: a rejection under it did not wait for Redis.
    t.ok(took < 500, `write rejected at once (${took.toFixed(1)} ms)`);
    await rejectedIn(t, () => replica.store.remove("/user/ann"));
    t.same(Object.keys(await replica.store.getAll()), paths, "reads answer from the local table");
    t.equal((await replica.store.get("/user/bob"))?.target, "http://10.0.0.1:8888/user/bob");
    t.match(replica.store.status(), { state: "unavailable", connected: false, routes: 3, lastError: /./ });
  }
  t.equal(
    a.messages().filter((line) => line.startsWith("Redis route store unavailable")).length,
    1,
    "the outage is logged once",
  );

  await redis.start();
  await waitUntil(
    () => [a, b, c].every((replica) => replica.store.status().state === "synced"),
    "every replica to reload",
  );
  const { lookups, withoutRedis, misses } = await flow.stop();
  t.ok(withoutRedis > 0, `${withoutRedis} of ${lookups} lookups were made while Redis was gone`);
  t.equal(misses, 0, "every lookup found its route");
  for (const replica of [a, b, c]) {
    // At least once more after the reconnect; a slow machine may see a change number gap and reload once more.
    t.ok(replica.store.status().reloads >= 2, "loaded at open and again after the reconnect");
    t.same(replica.states.slice(-3), ["unavailable", "syncing", "synced"]);
  }
  t.ok(a.messages().some((line) => line.startsWith("Redis route store available again")));

  await b.store.remove("/user/ann");
  await b.store.add("/user/dee", route("http://10.0.0.4:8888"));
  await msUntil(
    () =>
      [a, c].every(
        (replica) => !replica.store.getTarget("/user/ann") && replica.store.getTarget("/user/dee"),
      ),
    "writes work again and reach the others",
  );
});

t.test("a replica cut off from Redis catches up with the changes made meanwhile", async (t) => {
  const redis = await RedisServer.start(t);
  const admin = await adminClient(t, redis);
  await admin.call("ACL", "SETUSER", "cut", "on", ">cut-password", "~*", "&*", "+@all");
  const options = { flushIntervalMs: 200, reconnectMaxDelayMs: 200 };
  const a = await openReplica(t, redis.url(), options);
  const cut = await openReplica(t, redis.url(0, { username: "cut", password: "cut-password" }), options);
  await a.store.add("/user/ann", route("http://10.0.0.1:8888"));
  await a.store.add("/user/bob", route("http://10.0.0.2:8888"));
  await msUntil(() => cut.store.status().routes === 2, "both routes on the replica to cut");

  await admin.call("ACL", "SETUSER", "cut", "off");
  await admin.call("CLIENT", "KILL", "USER", "cut");
  await waitUntil(() => cut.store.status().state === "unavailable", "the cut replica to notice");
  await a.store.remove("/user/ann");
  await a.store.update("/user/bob", { target: "http://10.0.0.22:8888" });
  await a.store.add("/user/cid", route("http://10.0.0.3:8888"));
  t.equal(
    cut.store.getTarget("/user/ann")?.data.target,
    "http://10.0.0.1:8888",
    "still routing its old copy",
  );
  t.notOk(cut.messages().join("\n").includes("cut-password"), "the password is in no log line");

  await admin.call("ACL", "SETUSER", "cut", "on");
  await waitUntil(() => cut.store.status().state === "synced", "the replica to reconnect and reload");
  t.same(
    Object.fromEntries(Object.entries(await cut.store.getAll()).map(([path, data]) => [path, data.target])),
    { "/user/bob": "http://10.0.0.22:8888", "/user/cid": "http://10.0.0.3:8888" },
  );
});

t.test("a Redis that stops answering: writes fail within the command timeout, then at once", async (t) => {
  const redis = await RedisServer.start(t);
  const commandTimeoutMs = 1500;
  const options = { flushIntervalMs: 200, commandTimeoutMs, reconnectMaxDelayMs: 200 };
  const a = await openReplica(t, redis.url(), options);
  await a.store.add("/user/ann", route("http://10.0.0.1:8888"));
  redis.pause();
  // The first write may be the one that finds out: it waits at most the command timeout.
  const first = await rejectedIn(t, () => a.store.add("/user/bob", route("http://10.0.0.2:8888")));
  t.ok(first < commandTimeoutMs + 1000, `first write rejected after ${first.toFixed(0)} ms`);
  await waitUntil(() => a.store.status().state === "unavailable", "the store to give the connection up");
  const next = await rejectedIn(t, () => a.store.add("/user/bob", route("http://10.0.0.2:8888")));
  t.ok(next < commandTimeoutMs / 3, `later writes rejected at once (${next.toFixed(1)} ms)`);
  t.equal(a.store.getTarget("/user/ann/x")?.prefix, "/user/ann", "requests still routed");
  t.equal(Object.keys(await a.store.getAll()).length, 1, "reads answer locally");
  redis.resume();
  await waitUntil(() => a.store.status().state === "synced", "the store to reconnect");
  await a.store.add("/user/bob", route("http://10.0.0.2:8888"));
  t.ok(a.store.getTarget("/user/bob"));
});

t.test("Redis restarted empty: the first replica back writes its copy, the others load it", async (t) => {
  const redis = await RedisServer.start(t);
  const options = { flushIntervalMs: 200, reconnectMaxDelayMs: 200 };
  const [a, b] = await Promise.all([1, 2].map(() => openReplica(t, redis.url(), options)));
  await a.store.add("/user/ann", route("http://10.0.0.1:8888"));
  await b.store.add("/user/bob", route("http://10.0.0.2:8888"));
  await msUntil(() => [a, b].every((replica) => replica.store.status().routes === 2), "both routes on both");
  await redis.stop();
  await redis.start();
  await waitUntil(
    () =>
      [a, b].every(
        (replica) => replica.store.status().state === "synced" && replica.store.status().reloads >= 2,
      ),
    "both replicas to reload",
  );
  for (const replica of [a, b])
    t.same(Object.keys(await replica.store.getAll()).sort(), ["/user/ann", "/user/bob"]);
  const lines = [...a.messages(), ...b.messages()].filter((line) =>
    line.includes("had lost the route table"),
  );
  t.equal(lines.length, 1, "one replica wrote the table back");
  const admin = await adminClient(t, redis);
  t.same((await admin.hkeys("ltictr-proxy:routes")).sort(), ["/user/ann", "/user/bob"], "Redis has it again");
  await a.store.add("/user/cid", route("http://10.0.0.3:8888"));
  await msUntil(() => b.store.getTarget("/user/cid") !== undefined, "writes work on the new table");
});

t.test("a store that is closed refuses writes and leaves nothing running", async (t) => {
  const redis = await RedisServer.start(t);
  const a = await openReplica(t, redis.url());
  await a.store.close();
  await t.rejects(a.store.add("/x", route("http://10.0.0.1:1")), RouteStoreUnavailable);
  t.equal(a.store.status().state, "closed");
  t.same(a.states.at(-1), "closed");
  await a.store.close();
});
