import t from "tap";
import { ActivityRecorder } from "../../../src/routing/activity-recorder.js";
import { MemoryRouteStore } from "../../../src/routing/memory-route-store.js";
import type { RouteStore } from "../../../src/routing/route-store.js";
import { captureLogger } from "../../support/log-capture.js";
import { sleep } from "../../support/wait.js";

t.test("noted activity reaches the store on flush, never backwards", async (t) => {
  const store = new MemoryRouteStore();
  const { logger } = captureLogger();
  const recorder = new ActivityRecorder(store, logger, undefined, 60_000);
  t.teardown(() => recorder.close());
  const added = new Date(Date.now() - 60_000);
  store.add("/user/a", { target: "http://127.0.0.1:1", last_activity: added });

  recorder.record("/user/a");
  recorder.record("/user/gone");
  t.equal(store.get("/user/a")?.last_activity, added, "a note alone does not touch the store");
  await recorder.flush();
  const afterFlush = store.get("/user/a")?.last_activity as Date;
  t.ok(afterFlush.getTime() > added.getTime(), "flush writes the newer time");
  t.notOk(store.get("/user/gone"), "activity of an unknown route creates nothing");

  recorder.record("/user/a");
  const reposted = new Date(Date.now() + 60_000);
  store.add("/user/a", { target: "http://127.0.0.1:1", last_activity: reposted });
  await recorder.flush();
  t.equal(store.get("/user/a")?.last_activity, reposted, "an older note does not move last_activity back");
});

t.test("the interval flushes by itself", async (t) => {
  const store = new MemoryRouteStore();
  const { logger } = captureLogger();
  const recorder = new ActivityRecorder(store, logger, undefined, 20);
  t.teardown(() => recorder.close());
  store.add("/", { target: "http://127.0.0.1:1", last_activity: new Date(0) });
  recorder.record("/");
  await sleep(200);
  t.ok((store.get("/")?.last_activity as Date).getTime() > 0, "written without an explicit flush");
});

t.test("a failing store is logged, not thrown", async (t) => {
  const failing = {
    get: () => Promise.reject(new Error("store down")),
  } as unknown as RouteStore;
  const { logger, messages } = captureLogger();
  const recorder = new ActivityRecorder(failing, logger, undefined, 60_000);
  t.teardown(() => recorder.close());
  recorder.record("/x");
  await t.resolves(recorder.flush());
  t.match(messages().join("\n"), /Failed to record activity for \/x/);
});
