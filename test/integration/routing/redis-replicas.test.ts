import t from "tap";
import { performance } from "node:perf_hooks";
import { ActivityRecorder } from "../../../src/routing/activity-recorder.js";
import type { RouteData } from "../../../src/routing/route-store.js";
import { RedisServer } from "../../support/redis-server.js";
import { captureLogger } from "../../support/log-capture.js";
import { waitUntil } from "../../support/wait.js";
import { adminClient, msUntil, openReplica } from "./redis-harness.js";

// Several replicas (stores) in one process sharing one real redis-server. The periodic tick (the fallback that
// catches missed messages) runs only every 60 s here, and a gap is waited on for as long: whatever reaches another
// replica within a test did so through the change channel. Activity is flushed explicitly.
const quiet = { flushIntervalMs: 60000, gapWaitMs: 60000 };

const route = (target: string, extra: Record<string, unknown> = {}): RouteData => ({
  target,
  last_activity: new Date(),
  ...extra,
});

t.test("three replicas: a route added through one is routed by the others, in order", async (t) => {
  const redis = await RedisServer.start(t);
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => openReplica(t, redis.url(), quiet)));
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const writer = [a, b, c][i % 3].store;
    const start = performance.now();
    await writer.add(`/user/u${i}`, route(`http://10.0.0.${i}:8888`, { user: `u${i}` }));
    t.equal(
      writer.getTarget(`/user/u${i}/lab`)?.prefix,
      `/user/u${i}`,
      "the writer routes it once add resolves",
    );
    await msUntil(
      () =>
        [a, b, c].every((replica) => replica.store.getTarget(`/user/u${i}/lab`)?.prefix === `/user/u${i}`),
      `/user/u${i} on every replica`,
    );
    times.push(performance.now() - start);
  }
  times.sort((x, y) => x - y);
  t.comment(`add → routed by all three: median ${times[15].toFixed(2)} ms, max ${times[29].toFixed(2)} ms`);
  // Bound far below the 60 s fallbacks: proves delivery by the channel, not a threshold on speed.
  t.ok(times[29] < 5000, "every change reached every replica through the change channel");
  for (const replica of [a, b, c]) {
    t.equal(replica.store.status().routes, 30);
    t.same(
      Object.keys(await replica.store.getAll()),
      Array.from({ length: 30 }, (_, i) => `/user/u${i}`),
    );
    const data = await replica.store.get("/user/u7");
    t.same([data?.target, data?.user], ["http://10.0.0.7:8888", "u7"]);
  }
});

t.test("DELETE on one replica stops the others; update merges everywhere", async (t) => {
  const redis = await RedisServer.start(t);
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => openReplica(t, redis.url(), quiet)));
  await a.store.add("/user/ann", route("http://10.0.0.1:8888", { user: "ann" }));
  await msUntil(() => c.store.getTarget("/user/ann") !== undefined, "/user/ann on c");
  await b.store.update("/user/ann", { server_name: "lab" });
  await msUntil(() => c.store.getTarget("/user/ann")?.data.server_name === "lab", "the update on c");
  t.same(
    { ...c.store.getTarget("/user/ann")?.data, last_activity: undefined },
    { target: "http://10.0.0.1:8888", user: "ann", server_name: "lab", last_activity: undefined },
    "update merged the new key into the route",
  );
  await b.store.remove("/user/ann");
  t.equal(b.store.getTarget("/user/ann/x"), undefined, "the writer stops at once");
  await msUntil(
    () => [a, c].every((replica) => !replica.store.getTarget("/user/ann/x")),
    "/user/ann gone on a and c",
  );
  t.same(await a.store.getAll(), {});
  await a.store.remove("/user/ann");
  t.pass("removing a missing route is a no-op");
});

t.test("last_activity: noted on two replicas, merged newest-wins, seen by the third", async (t) => {
  const redis = await RedisServer.start(t);
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => openReplica(t, redis.url(), quiet)));
  const base = Date.parse("2026-03-01T12:00:00Z");
  for (const path of ["/user/ann", "/user/bob", "/user/cid"])
    await a.store.add(path, route("http://10.0.0.1:8888", { last_activity: new Date(base) }));
  await msUntil(() => [b, c].every((replica) => replica.store.status().routes === 3), "3 routes on b and c");

  a.store.getTarget("/user/ann/api")?.noteActivity?.(base + 10000);
  b.store.getTarget("/user/ann/api")?.noteActivity?.(base + 20000);
  b.store.getTarget("/user/bob/api")?.noteActivity?.(base + 5000);
  await Promise.all([a.store.flushActivity(), b.store.flushActivity()]);
  a.store.getTarget("/user/ann/api")?.noteActivity?.(base + 15000);
  await a.store.flushActivity();

  // GET /api/routes answers from the copy's JSON, kept ready between polls, with the same merge folded in first.
  const json = JSON.parse((await c.store.getAllJson()).toString()) as Record<string, RouteData>;
  t.equal(
    json["/user/ann"].last_activity,
    new Date(base + 20000).toISOString(),
    "the merged time in the JSON",
  );
  const seen = await c.store.getAll();
  t.same(
    seen["/user/ann"].last_activity,
    new Date(base + 20000),
    "the newest of both replicas, an older note later",
  );
  t.same(seen["/user/bob"].last_activity, new Date(base + 5000));
  t.same(seen["/user/cid"].last_activity, new Date(base), "untouched route keeps its time");
  t.equal(
    (await c.store.getAllJson()).toString(),
    JSON.stringify(await c.store.getAll()),
    "byte for byte JSON.stringify(getAll())",
  );
  t.same(
    (await a.store.get("/user/ann"))?.last_activity,
    new Date(base + 20000),
    "get folds in the newest too",
  );

  // JupyterHub's ?inactive_since= filter, on the third replica's merged view.
  const cutoff = base + 6000;
  const inactive = Object.entries(seen)
    .filter(([, data]) => (data.last_activity as Date).getTime() < cutoff)
    .map(([path]) => path);
  t.same(inactive, ["/user/bob", "/user/cid"]);

  // The program's recorder notes on the matched route; the store sends the notes at its flush.
  const { logger } = captureLogger();
  const recorder = new ActivityRecorder({ store: c.store, log: logger, intervalMs: 60000 });
  t.teardown(() => recorder.close());
  const before = Date.now();
  const match = c.store.getTarget("/user/cid/x");
  t.ok(match);
  if (match) recorder.record(match);
  await recorder.flush();
  await c.store.flushActivity();
  const cid = (await b.store.getAll())["/user/cid"].last_activity as Date;
  t.ok(cid.getTime() >= before, "a request recorded on c shows in b's GET /api/routes");
  const cidJson = JSON.parse((await b.store.getAllJson()).toString()) as Record<string, RouteData>;
  t.equal(cidJson["/user/cid"].last_activity, cid.toISOString(), "and in b's JSON");
});

t.test("two replicas starting at once with the same default route write it once", async (t) => {
  const redis = await RedisServer.start(t);
  const admin = await adminClient(t, redis);
  const replicas = await Promise.all([1, 2, 3, 4].map(() => openReplica(t, redis.url(), quiet)));
  t.equal(await admin.get("ltictr-proxy:seq"), "0", "one empty table was created");
  t.same(
    replicas.map((replica) => replica.store.status().reloads),
    [1, 1, 1, 1],
    "each replica loaded it once",
  );
  const wrote = await Promise.all(
    replicas.map((replica) => replica.store.ensureRoute("/", route("http://127.0.0.1:8081"))),
  );
  t.equal(wrote.filter(Boolean).length, 1, "exactly one replica wrote the default route");
  t.equal(await admin.get("ltictr-proxy:seq"), "1", "one change");
  await msUntil(
    () =>
      replicas.every(
        (replica) => replica.store.getTarget("/anything")?.data.target === "http://127.0.0.1:8081",
      ),
    "the default route everywhere",
  );
  t.equal(
    replicas.filter((replica) =>
      replica.messages().some((line) => line.startsWith("Created an empty route table")),
    ).length,
    1,
    "one replica created the table, the others loaded it",
  );

  // JupyterHub stores its own data under /; a replica restarting with the same target keeps it.
  await replicas[0].store.add("/", route("http://127.0.0.1:8081", { hub: true }));
  const restarted = await openReplica(t, redis.url(), quiet);
  t.equal(await restarted.store.ensureRoute("/", route("http://127.0.0.1:8081")), false);
  t.equal(restarted.store.getTarget("/")?.data.hub, true, "JupyterHub's data kept");
  t.equal(
    await restarted.store.ensureRoute("/", route("http://127.0.0.1:9999")),
    true,
    "another target replaces it",
  );
  await msUntil(
    () => replicas[3].store.getTarget("/")?.data.target === "http://127.0.0.1:9999",
    "new default",
  );
});

t.test("a replica restart keeps the routes; key prefixes keep hubs apart", async (t) => {
  const redis = await RedisServer.start(t);
  const first = await openReplica(t, redis.url(), quiet);
  await first.store.add("/user/ann", route("http://10.0.0.1:8888"));
  await first.store.close();
  const again = await openReplica(t, redis.url(), quiet);
  t.equal(again.store.getTarget("/user/ann/lab")?.data.target, "http://10.0.0.1:8888");

  const other = await openReplica(t, redis.url(), { ...quiet, keyPrefix: "hub2:" });
  t.same(await other.store.getAll(), {}, "another prefix, another table");
  await other.store.add("/user/zed", route("http://10.0.0.9:8888"));
  t.equal(again.store.getTarget("/user/zed"), undefined);
  const admin = await adminClient(t, redis);
  t.same((await admin.keys("*")).sort(), [
    "hub2:activity",
    "hub2:epoch",
    "hub2:route:/user/zed",
    "hub2:routes",
    "hub2:seq",
    "ltictr-proxy:activity",
    "ltictr-proxy:epoch",
    "ltictr-proxy:route:/user/ann",
    "ltictr-proxy:routes",
    "ltictr-proxy:seq",
  ]);
});

t.test("a missed change message: the tick finds the gap and the replica reloads", async (t) => {
  const redis = await RedisServer.start(t);
  const replica = await openReplica(t, redis.url(), { flushIntervalMs: 100 });
  const admin = await adminClient(t, redis);
  // A change made as the scripts make it, but whose message never came.
  const seq = await admin.incr("ltictr-proxy:seq");
  await admin.hset("ltictr-proxy:route:/user/lost", "target", JSON.stringify("http://10.0.0.3:8888"));
  await admin.hset("ltictr-proxy:routes", "/user/lost", seq);
  await waitUntil(
    () => replica.store.getTarget("/user/lost") !== undefined,
    "the reload after the missed change",
  );
  t.equal(replica.store.status().reloads, 2);
  t.equal(replica.store.status().state, "synced");
});

t.test("corrupt values written by hand are skipped with a log line, never a crash", async (t) => {
  const redis = await RedisServer.start(t);
  const writer = await openReplica(t, redis.url(), { flushIntervalMs: 100 });
  await writer.store.add("/user/good", route("http://10.0.0.1:8888"));
  const admin = await adminClient(t, redis);
  await admin.hset(
    "ltictr-proxy:routes",
    "/user/json",
    "7",
    "/user/notarget",
    "7",
    "/user/string",
    "7",
    "rel",
    "7",
  );
  await admin.hset("ltictr-proxy:route:/user/json", "target", "http://not-json");
  await admin.hset("ltictr-proxy:route:/user/notarget", "user", '"x"');
  await admin.set("ltictr-proxy:route:/user/string", "hello");
  await admin.hset("ltictr-proxy:activity", "/user/good", "yesterday");
  await admin.publish("ltictr-proxy:changes", "not a change");
  await admin.publish(
    "ltictr-proxy:changes",
    '99\n{"epoch":"x","op":"add","path":"/evil","data":{"target":5}}',
  );

  const reader = await openReplica(t, redis.url(), { flushIntervalMs: 100 });
  t.same(Object.keys(await reader.store.getAll()), ["/user/good"], "only the good route loaded");
  t.same(
    reader
      .messages()
      .filter((line) => line.includes("skipping"))
      .sort(),
    [
      "Redis route store: skipping activity of /user/good: 'yesterday' is not a time",
      "Redis route store: skipping route 'rel': not a route path",
      "Redis route store: skipping route /user/json: field 'target' is not JSON",
      "Redis route store: skipping route /user/notarget: no target string",
      "Redis route store: skipping route /user/string: not a hash",
    ],
  );
  await waitUntil(
    () =>
      writer
        .messages()
        .some((line) => line.includes("skipping message on ltictr-proxy:changes: no change number")),
    "the writer logs the garbage message",
  );
  t.ok(writer.messages().some((line) => line.includes("route /evil: no target string")));
  await writer.store.add("/user/next", route("http://10.0.0.2:8888"));
  await msUntil(() => reader.store.getTarget("/user/next") !== undefined, "a later change still propagates");
  t.equal(reader.store.status().state, "synced");
  t.equal(writer.store.getTarget("/user/good")?.data.target, "http://10.0.0.1:8888");
});
