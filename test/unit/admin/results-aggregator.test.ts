import t from "tap";
import { ResultsAggregator } from "../../../src/admin/results-aggregator.js";
import type { ExecutionCaptured } from "../../../src/events.js";

function record(kind: ExecutionCaptured["kind"], message: string, fields: Partial<ExecutionCaptured> = {}) {
  return {
    kind,
    status: "",
    session: "s1",
    message,
    user: "alice",
    cellId: `cell-${message}`,
    tags: "",
    instId: "6",
    ltiId: "13",
    capturedAt: 0,
    ...fields,
  } satisfies ExecutionCaptured;
}

t.test("a reply joins its request on message and counts as mod_lticontainer counts", async (t) => {
  const results = new ResultsAggregator();
  t.equal(results.record(record("client", "m1", { tags: '["filename:ex1.ipynb","codenum:3"]' })), undefined);
  t.same(results.record(record("server", "m1", { status: "ok" })), {
    instance: "6/13",
    user: "alice",
    filename: "ex1.ipynb",
    codenum: "3",
    outcome: "ok",
  });
  results.record(record("client", "m2", { tags: '["filename: ex1.ipynb", "codenum: 3"]' }));
  results.record(record("server", "m2", { status: "error" }));
  results.record(record("client", "m3", { tags: '["filename:ex1.ipynb","codenum:3"]' }));
  t.match(
    results.record(record("server", "m3", { status: "aborted" })),
    { outcome: "error" },
    "aborted is ERROR",
  );
  t.same(results.snapshot().rows, [
    { instance: "6/13", user: "alice", filename: "ex1.ipynb", codenum: "3", ok: 1, error: 2 },
  ]);
});

t.test("cells without tags are Moodle's '.none' and '999'; no launch is its own instance", async (t) => {
  const results = new ResultsAggregator();
  results.record(record("client", "m1", { instId: "", ltiId: "" }));
  results.record(record("server", "m1", { status: "ok", instId: "", ltiId: "" }));
  t.same(results.snapshot().rows, [
    { instance: "", user: "alice", filename: ".none", codenum: "999", ok: 1, error: 0 },
  ]);
});

t.test("replies without their request, and ltictr records, add nothing", async (t) => {
  const results = new ResultsAggregator();
  t.equal(results.record(record("ltictr", "")), undefined);
  t.equal(results.record(record("server", "never-requested", { status: "ok" })), undefined);
  results.record(record("client", "m1"));
  results.record(record("server", "m1", { status: "ok", session: "another" }));
  t.same(
    results.snapshot(),
    { rows: [], overflow: { ok: 0, error: 0 }, unpaired: 2 },
    "the join is on session too",
  );
  results.record(record("server", "m1", { status: "ok" }));
  t.equal(results.record(record("server", "m1", { status: "ok" })), undefined, "a reply counts once");
});

t.test("bounded: rows and waiting requests", async (t) => {
  const results = new ResultsAggregator({ maxRows: 2, maxPending: 2 });
  for (const user of ["a", "b", "c"]) {
    results.record(record("client", user));
    results.record(record("server", user, { status: "error", user }));
  }
  const snapshot = results.snapshot();
  t.equal(snapshot.rows.length, 2, "no third row");
  t.same(snapshot.overflow, { ok: 0, error: 1 }, "its result is still counted");

  for (const message of ["x", "y", "z"]) results.record(record("client", message));
  t.equal(
    results.record(record("server", "x", { status: "ok" })),
    undefined,
    "the oldest request was forgotten",
  );
  t.ok(results.record(record("server", "z", { status: "ok", user: "a" })), "the newest is still there");
});
