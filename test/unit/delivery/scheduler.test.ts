import t from "tap";
import { emptyNbLog, type CapturedRecord } from "../../../src/capture/nb-log-record.js";
import { RECORD_RETRY_WINDOW_MS, type CallOutcome } from "../../../src/delivery/moodle-call.js";
import { targetKey, type MoodleTarget } from "../../../src/delivery/moodle-destinations.js";
import {
  DeliveryScheduler,
  type HeldRecord,
  type SchedulerOptions,
  type SendUnit,
} from "../../../src/delivery/scheduler.js";

// The delivery rules on a fake clock: no timers, no sockets, minutes of simulated outage in milliseconds.

const MOODLE: MoodleTarget = { origin: "https://moodle.example", basePath: "/moodle", token: "t" };
const OTHER: MoodleTarget = { origin: "https://other.example", basePath: "", token: "u" };
const ACK: CallOutcome = { kind: "acknowledged" };
const DOWN: CallOutcome = { kind: "retry", reason: "ECONNREFUSED" };
const DEADLOCK: CallOutcome = {
  kind: "retry",
  reason: "Moodle error dmlwriteexception: Error writing to database (transient: Deadlock found)",
};
const WRITE_ERROR: CallOutcome = {
  kind: "retry",
  reason: "dmlwriteexception",
  giveUpAfterMs: RECORD_RETRY_WINDOW_MS,
};
const REFUSED: CallOutcome = { kind: "dead-letter", reason: "invalid token", errorcode: "invalidtoken" };

let nextId = 1;
function held(stream: string, host: CapturedRecord["log"]["host"], target = MOODLE): HeldRecord {
  const record: CapturedRecord = { log: { ...emptyNbLog(host), session: stream }, stream, capturedAt: 0 };
  return { id: nextId++, record, target, key: targetKey(target) };
}

function scheduler(options: Partial<SchedulerOptions> = {}) {
  return new DeliveryScheduler({
    concurrency: 4,
    multiRecord: false,
    batchSize: 10,
    backoff: { baseMs: 1000, maxMs: 60_000 },
    random: () => 0.5,
    ...options,
  });
}

const ids = (units: SendUnit[]) =>
  units.map((unit) => unit.parts.flatMap((part) => part.entries.map((e) => e.id)));

t.test("one call per stream at a time, in capture order; streams in parallel", async (t) => {
  const s = scheduler();
  const a = [held("a", "ltictr"), held("a", "client"), held("a", "server")];
  const b = [held("b", "client"), held("b", "server")];
  for (const entry of [a[0], b[0], a[1], b[1], a[2]]) s.hold(entry);
  let { units } = s.next(0);
  t.same(ids(units), [[a[0].id], [b[0].id]], "the head of each stream");
  t.same(ids(s.next(0).units), [], "nothing more while both are in flight");
  s.settle(units[0], ACK, 10);
  units = s.next(10).units;
  t.same(ids(units), [[a[1].id]], "a's next record only after its previous one was acknowledged");
  t.equal(s.held, 4);
});

t.test("concurrency bounds the calls in flight", async (t) => {
  const s = scheduler({ concurrency: 2 });
  for (const stream of ["a", "b", "c"]) s.hold(held(stream, "client"));
  const { units } = s.next(0);
  t.equal(units.length, 2);
  t.equal(s.active, 2);
  s.settle(units[0], ACK, 1);
  t.equal(s.next(1).units.length, 1, "a free slot goes to the waiting stream");
});

t.test("an unavailable Moodle: backoff, one probe at a time, never given up", async (t) => {
  const s = scheduler();
  const records = ["a", "b", "c"].map((stream) => held(stream, "client"));
  for (const entry of records) s.hold(entry);
  let now = 0;
  let { units } = s.next(now);
  t.equal(units.length, 3);
  const first = s.settle(units[0], DOWN, now);
  t.equal(first.failedFirst, true, "the first failure of the episode is the one to log");
  t.equal(first.retried, 1);
  t.same(s.settle(units[1], DOWN, now).failedFirst, false);
  s.settle(units[2], DOWN, now);
  const status = s.status(now).origins[0];
  t.equal(status.state, "backing-off");
  t.equal(status.lastError, "ECONNREFUSED");
  let wake = s.next(now);
  t.same(wake.units, [], "nothing goes out during the pause");
  t.ok(wake.wakeAt !== undefined && wake.wakeAt > now, "the caller is told when to ask again");
  // Ten simulated minutes of outage: probes, one at a time, each failure doubling the pause up to its ceiling.
  let probes = 0;
  while (now < 10 * 60_000) {
    now = wake.wakeAt ?? now + 1000;
    units = s.next(now).units;
    t.ok(units.length <= 1, "one probe at a time");
    if (units.length === 1) {
      probes++;
      t.same(s.settle(units[0], DOWN, now).dead, [], "nothing is dead-lettered");
    }
    wake = s.next(now);
  }
  t.ok(probes >= 10 && probes < 40, `probes spaced by backoff (${probes})`);
  t.equal(s.held, 3, "every record is still held");
  now = wake.wakeAt ?? now;
  units = s.next(now).units;
  const back = s.settle(units[0], ACK, now);
  t.equal(back.recovered, true, "the answer after failures marks the recovery");
  t.equal(s.next(now).units.length, 2, "the other streams go at once");
});

t.test(
  "a deadlock storm is an unavailable Moodle: retried until it ends, nothing dead-lettered",
  async (t) => {
    const s = scheduler({ concurrency: 8 });
    const streams = Array.from({ length: 20 }, (_, i) => `s${i}`);
    for (const stream of streams)
      for (const host of ["ltictr", "client", "server"] as const) s.hold(held(stream, host));
    let now = 0;
    const stormEnds = 10 * 60_000;
    const delivered: number[] = [];
    const dead: number[] = [];
    for (let round = 0; round < 10_000 && s.held > 0; round++) {
      const { units, wakeAt } = s.next(now);
      if (units.length === 0) {
        now = wakeAt ?? now + 1000;
        continue;
      }
      for (const unit of units) {
        const settlement = s.settle(unit, now < stormEnds ? DEADLOCK : ACK, now);
        delivered.push(...settlement.acknowledged.map((e) => e.id));
        for (const batch of settlement.dead) {
          dead.push(...batch.entries.map((e) => e.id));
          s.buried(batch);
        }
      }
      now += 50;
    }
    t.equal(dead.length, 0, "none dead-lettered");
    t.equal(delivered.length, 60, "every record arrives once the deadlock ends");
    t.equal(new Set(delivered).size, 60, "each once");
    t.ok(now >= stormEnds, "not before");
  },
);

t.test(
  "a write error that may be the record's own: retried for the window, then dead-lettered",
  async (t) => {
    const s = scheduler();
    const first = held("a", "client");
    const second = held("a", "server");
    s.hold(first);
    s.hold(second);
    let now = 0;
    let deadAt: number | undefined;
    while (deadAt === undefined && now < 2 * RECORD_RETRY_WINDOW_MS) {
      const { units, wakeAt } = s.next(now);
      if (units.length === 0) {
        now = wakeAt ?? now + 1000;
        continue;
      }
      t.same(ids(units), [[first.id]], "only the failing head is tried");
      const settlement = s.settle(units[0], WRITE_ERROR, now);
      if (settlement.dead.length > 0) {
        deadAt = now;
        s.buried(settlement.dead[0]);
      }
    }
    t.ok(deadAt !== undefined && deadAt >= RECORD_RETRY_WINDOW_MS, "dead only after the window");
    t.same(ids(s.next(now).units), [[second.id]], "the stream goes on behind it");
    t.equal(s.status(now).origins[0].state, "ok", "the Moodle itself was never taken as down");
  },
);

t.test("a refusal for good is dead-lettered at once; a failed burial is retried later", async (t) => {
  const s = scheduler();
  const entry = held("a", "client");
  s.hold(entry);
  const { units } = s.next(0);
  const settlement = s.settle(units[0], REFUSED, 0);
  t.equal(settlement.dead.length, 1);
  t.equal(settlement.dead[0].errorcode, "invalidtoken");
  s.burialFailed(settlement.dead[0], 0);
  const later = s.next(0);
  t.same(later.units, [], "kept, and paused");
  t.ok((later.wakeAt ?? 0) > 0);
  const retry = s.next(later.wakeAt ?? 0).units;
  t.same(ids(retry), [[entry.id]], "tried again after the pause");
  const again = s.settle(retry[0], REFUSED, later.wakeAt ?? 0);
  s.buried(again.dead[0]);
  t.equal(s.held, 0);
  t.equal(s.status(0).origins[0].deadLettered, 1);
});

t.test(
  "multi-record mode: ready streams to the same Moodle share a call, up to the batch size",
  async (t) => {
    const s = scheduler({ multiRecord: true, batchSize: 3 });
    const a = [held("a", "ltictr"), held("a", "client")];
    const b = [held("b", "ltictr"), held("b", "client")];
    const c = [held("c", "client", OTHER)];
    for (const entry of [...a, ...b, ...c]) s.hold(entry);
    const { units } = s.next(0);
    t.same(
      ids(units),
      [[a[0].id, a[1].id, b[0].id], [c[0].id]],
      "one call per Moodle, three records at most",
    );
    const settled = s.settle(units[0], ACK, 1);
    t.equal(settled.acknowledged.length, 3);
    t.same(ids(s.next(1).units), [[b[1].id]]);
  },
);

t.test("origins are independent: one down does not hold back another", async (t) => {
  const s = scheduler();
  s.hold(held("a", "client", MOODLE));
  s.hold(held("b", "client", OTHER));
  const { units } = s.next(0);
  s.settle(units[0], DOWN, 0);
  s.settle(units[1], ACK, 0);
  s.hold(held("c", "client", OTHER));
  t.equal(s.next(0).units.length, 1, "the healthy Moodle keeps receiving");
  const states = Object.fromEntries(s.status(0).origins.map((o) => [o.origin, o.state]));
  t.same(states, { [MOODLE.origin]: "backing-off", [OTHER.origin]: "ok" });
});
