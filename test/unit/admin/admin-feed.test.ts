import t from "tap";
import { AdminFeed } from "../../../src/admin/admin-feed.js";
import type { AdminSources } from "../../../src/admin/admin-sources.js";
import type { SseHub } from "../../../src/admin/sse-hub.js";
import { TokenCheck } from "../../../src/api/token-check.js";
import { events, type ExecutionCaptured } from "../../../src/events.js";
import { pino } from "pino";

interface Sent {
  event: string;
  data: Record<string, unknown>;
}

/** A hub that records what it is asked to send, with `size` pages listening. */
function recordingHub(size: number) {
  const sent: Sent[] = [];
  const hub = {
    size,
    dropped: 0,
    broadcast: (event: string, data: unknown) =>
      void sent.push({ event, data: data as Record<string, unknown> }),
  };
  return { hub: hub as unknown as SseHub & { size: number }, sent };
}

const sources: AdminSources = {
  version: "1.2.3",
  startedAt: 0,
  tokens: new TokenCheck("x"),
  routes: {
    getAll: () => ({}),
    get: (path) => (path === "/user/a" ? { target: "http://10.0.0.1:8888", user: "a" } : undefined),
    remove: async () => false,
    flushActivity: async () => undefined,
    status: () => ({ backend: "memory", routes: 1 }),
  },
  relay: { status: () => ({ open: 2, byRoute: { "/user/a": 2 } }), openCount: 2 },
  capture: {
    status: () => ({ sessions: [], pendingNonCellRequests: 0, heldBytes: 0, skippedMessages: 0 }),
    openCount: 1,
  },
  moodleOrigins: [],
  listeners: () => undefined,
};

function feedWith(size: number) {
  const { hub, sent } = recordingHub(size);
  const feed = new AdminFeed(sources, hub, pino({ level: "silent" }));
  feed.start();
  return { feed, hub, sent };
}

const execution = (kind: ExecutionCaptured["kind"], message: string, status = "", tags = "") =>
  events.executionCaptured.publish({
    socket: 7,
    kind,
    status,
    session: "s",
    message,
    user: "alice",
    cellId: "c",
    tags,
    instId: "6",
    ltiId: "13",
    capturedAt: 0,
  });

t.test("requests, cell runs and results are counted per second and in total", async (t) => {
  const { feed, sent } = feedWith(1);
  t.teardown(() => feed.close());
  events.proxyRequest.publish({ kind: "web" });
  events.proxyRequest.publish({ kind: "web" });
  events.proxyRequest.publish({ kind: "ws" });
  execution("client", "m1", "", '["codenum:1"]');
  execution("server", "m1", "ok");
  execution("client", "m2", "", '["codenum:1"]');
  execution("server", "m2", "error");
  events.recordsDelivered.publish({ count: 3, origin: "https://moodle.example" });
  feed.tick(5000);
  const tick = sent.find((s) => s.event === "tick")?.data;
  t.match(tick, {
    t: 5000,
    rates: { requests: 2, websockets: 1, cells: 2, ok: 1, error: 1, delivered: 3 },
    totals: { requests: 2, websockets: 1, captured: 4, cells: 2, ok: 1, error: 1, delivered: 3 },
    gauges: { openWebSockets: 2, kernelSockets: 1 },
    results: [{ instance: "6/13", user: "alice", filename: ".none", codenum: "1", ok: 1, error: 1 }],
    sessions: [[7, 2, 1, 1, 0]],
    reload: false,
  });
  t.same(sent.find((s) => s.event === "delivery")?.data, {
    kind: "delivered",
    count: 3,
    origin: "https://moodle.example",
  });
  sent.length = 0;
  feed.tick(6000);
  t.match(sent[0]?.data, { rates: { requests: 0 }, results: [], sessions: [] }, "changes go out once");
  t.same(feed.series.history().values.requests, [2, 0]);
});

t.test("without a page listening nothing is sent and nothing per change is kept", async (t) => {
  const { feed, sent } = feedWith(0);
  t.teardown(() => feed.close());
  execution("client", "m1");
  execution("server", "m1", "ok");
  events.proxyRequest.publish({ kind: "web" });
  feed.tick(1000);
  t.same(sent, []);
  t.equal(feed.totals.ok, 1, "the totals still count");
  t.equal(feed.results.snapshot().rows.length, 1, "and the results");
});

t.test("changes of a second whose pages all closed before its tick are not sent later", async (t) => {
  const { feed, hub, sent } = feedWith(1);
  t.teardown(() => feed.close());
  execution("client", "m1", "", '["codenum:1"]');
  execution("server", "m1", "ok");
  hub.size = 0;
  feed.tick(1000);
  hub.size = 1;
  feed.tick(2000);
  // A page opened now read these counts in its snapshot: sending them again would count them twice.
  const tick = sent.find((s) => s.event === "tick")?.data;
  t.equal(tick?.t, 2000);
  t.same([tick?.results, tick?.sessions], [[], []]);
});

t.test("more changes in a second than a tick carries: the pages reload instead", async (t) => {
  const { feed, sent } = feedWith(1);
  t.teardown(() => feed.close());
  for (let i = 0; i < 1001; i++) {
    execution("client", `m${i}`, "", `["codenum:${i}"]`);
    execution("server", `m${i}`, "ok");
  }
  feed.tick(1000);
  const tick = sent.find((s) => s.event === "tick")?.data;
  t.equal((tick?.results as unknown[]).length, 1000);
  t.equal(tick?.reload, true);
});

t.test("routes and kernel sessions are pushed as they change", async (t) => {
  const { feed, sent } = feedWith(1);
  t.teardown(() => feed.close());
  events.routeChanged.publish({ path: "/user/a", target: "http://10.0.0.1:8888" });
  events.routeChanged.publish({ path: "/user/gone" });
  await new Promise((resolve) => setImmediate(resolve));
  t.same(
    sent.filter((s) => s.event === "route").map((s) => s.data),
    [
      { path: "/user/a", route: { path: "/user/a", target: "http://10.0.0.1:8888", user: "a", sockets: 2 } },
      { path: "/user/gone", route: null },
    ],
  );
  events.kernelSessionOpened.publish({
    id: 3,
    kernelId: "k",
    user: "a",
    format: "v1",
    instId: "6",
    ltiId: "13",
  });
  events.kernelSessionClosed.publish({ id: 3, kernelId: "k" });
  const sessions = sent.filter((s) => s.event === "session").map((s) => s.data);
  t.match(sessions[0], {
    opened: { id: 3, kernelId: "k", user: "a", format: "v1", instId: "6", counts: { executions: 0 } },
  });
  t.same(sessions[1], { closed: 3 });
  feed.close();
  events.routeChanged.publish({ path: "/user/a" });
  t.equal(events.routeChanged.active, false, "closing ends the subscriptions");
});
