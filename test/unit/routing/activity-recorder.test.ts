import t from "tap";
import { ActivityRecorder } from "../../../src/routing/activity-recorder.js";
import { MemoryRouteStore } from "../../../src/routing/memory-route-store.js";
import type { RouteData, RouteMatch, RouteStore } from "../../../src/routing/route-store.js";
import { captureLogger } from "../../support/log-capture.js";
import { sleep } from "../../support/wait.js";

const TARGET = "http://127.0.0.1:1";

function recorderOn(store: RouteStore, intervalMs = 60_000) {
  const { logger, messages } = captureLogger();
  const recorder = new ActivityRecorder({ store, log: logger, intervalMs });
  return { recorder, messages };
}

/** A store as plugin stores answer: a fresh match object per lookup (no note slot), counting its writes. */
function pluginLikeStore() {
  const inner = new MemoryRouteStore();
  let updates = 0;
  const store: RouteStore & { updates(): number; lookup(prefix: string): RouteMatch } = {
    get: (path) => inner.get(path),
    getTarget: (path) => {
      const found = inner.getTarget(path);
      return found && { prefix: found.prefix, data: found.data };
    },
    getAll: () => inner.getAll(),
    add: (path, data) => inner.add(path, data),
    update: (path, partial) => {
      updates++;
      inner.update(path, partial);
    },
    remove: (path) => inner.remove(path),
    updates: () => updates,
    lookup: (prefix) => ({ prefix, data: { ...(inner.get(prefix) as RouteData) } }),
  };
  return store;
}

const lastActivity = (store: RouteStore, path: string) =>
  ((store.get(path) as RouteData | undefined)?.last_activity as Date | undefined)?.getTime();

t.test("matches with a note slot take the note themselves: nothing waits for a flush", async (t) => {
  const store = new MemoryRouteStore();
  const { recorder } = recorderOn(store);
  t.teardown(() => recorder.close());
  store.add("/user/a", { target: TARGET, last_activity: new Date(0) });
  const before = Date.now();
  recorder.record(store.getTarget("/user/a/api/status") as RouteMatch);
  t.ok((lastActivity(store, "/user/a") ?? 0) >= before, "the next read of the route sees the note");
});

t.test("matches without a slot (plugin stores) are noted by prefix and written on flush", async (t) => {
  const store = pluginLikeStore();
  const { recorder } = recorderOn(store);
  t.teardown(() => recorder.close());
  store.add("/user/a", { target: TARGET, last_activity: new Date(0) });
  store.add("/user/b", { target: TARGET, last_activity: new Date(0) });
  store.add("/user/c", { target: TARGET, last_activity: new Date(Date.now() + 60_000) });
  const future = lastActivity(store, "/user/c");

  for (let i = 0; i < 10; i++) recorder.record(store.lookup("/user/a"));
  recorder.record(store.lookup("/user/b"));
  recorder.record(store.lookup("/user/c"));
  recorder.record({ prefix: "/user/gone", data: { target: TARGET } });
  recorder.forget("/user/b");
  t.equal(lastActivity(store, "/user/a"), 0, "a note alone does not touch the store");
  await recorder.flush();
  t.ok((lastActivity(store, "/user/a") ?? 0) > 0, "flush writes the noted time");
  t.equal(store.updates(), 1, "one write per route; forgotten, older and unknown routes none");
  t.equal(lastActivity(store, "/user/b"), 0, "forget drops the note");
  t.equal(lastActivity(store, "/user/c"), future, "an older note does not move last_activity back");
  t.notOk(store.get("/user/gone"), "activity of an unknown route creates nothing");
  await recorder.flush();
  t.equal(store.updates(), 1, "a flush with nothing noted writes nothing");
});

t.test("the interval flushes by itself", async (t) => {
  const store = pluginLikeStore();
  const { recorder } = recorderOn(store, 20);
  t.teardown(() => recorder.close());
  store.add("/", { target: TARGET, last_activity: new Date(0) });
  recorder.record(store.lookup("/"));
  await sleep(200);
  t.ok((lastActivity(store, "/") ?? 0) > 0, "written without an explicit flush");
});

t.test("a failing store is logged, not thrown", async (t) => {
  const failing = {
    get: () => Promise.reject(new Error("store down")),
  } as unknown as RouteStore;
  const { recorder, messages } = recorderOn(failing);
  t.teardown(() => recorder.close());
  recorder.record({ prefix: "/x", data: { target: TARGET } });
  await t.resolves(recorder.flush());
  t.match(messages().join("\n"), /Failed to record activity for \/x/);
});
