import t, { type Test } from "tap";
import { appendFileSync, cpSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { emptyNbLog, type CapturedRecord } from "../../../src/capture/nb-log-record.js";
import { ProxyMetrics } from "../../../src/metrics/metrics.js";
import { Spool } from "../../../src/delivery/spool/spool.js";
import { tempDir } from "../../support/temp-dir.js";
import { captureLogger } from "../../support/log-capture.js";

function record(n: number, stream = "s1"): CapturedRecord {
  return {
    log: { ...emptyNbLog("client"), session: stream, message: `m${n}` },
    stream,
    capturedAt: 1_700_000_000_000 + n,
  };
}

/** The state a SIGKILL would leave behind: a copy of the directory taken while the spool is open. */
function crashCopy(t: Test, dir: string): string {
  const copy = join(tempDir(t, "ltictr-spool-"), "spool");
  cpSync(dir, copy, { recursive: true });
  rmSync(join(copy, "lock"));
  return copy;
}

const messages = (entries: { record: CapturedRecord }[]) => entries.map((entry) => entry.record.log.message);

t.test("append, take in order, ack", async (t) => {
  const dir = join(tempDir(t, "ltictr-spool-"), "spool");
  const spool = Spool.open({ dir, maxBytes: 1_000_000, fsyncIntervalMs: 0 });
  t.teardown(() => spool.close());
  for (let n = 1; n <= 5; n++) t.equal(spool.append(record(n)), true);
  t.equal(spool.depth, 5);
  t.equal(spool.oldestCapturedAt, record(1).capturedAt);
  const first = spool.take(3);
  t.same(messages(first), ["m1", "m2", "m3"]);
  t.same(first[0].record, record(1), "records come back as appended");
  t.same(messages(spool.take(10)), ["m4", "m5"]);
  t.same(spool.take(10), [], "handed-out records are not handed out twice");
  spool.ack([first[1].id, first[0].id]);
  t.equal(spool.depth, 3);
  t.equal(spool.oldestCapturedAt, record(3).capturedAt);
  spool.ack([first[1].id, 99_999]);
  t.equal(spool.depth, 3, "unknown or repeated acks change nothing");
  t.equal((statSync(dir).mode & 0o777).toString(8), "700");
});

t.test("recovery after a crash: unacknowledged records come back, a torn last line is dropped", async (t) => {
  const dir = join(tempDir(t, "ltictr-spool-"), "spool");
  const { logger, messages: logMessages } = captureLogger();
  const spool = Spool.open({ dir, maxBytes: 1_000_000, fsyncIntervalMs: 0 });
  t.teardown(() => spool.close());
  for (let n = 1; n <= 4; n++) spool.append(record(n));
  const taken = spool.take(4);
  spool.ack([taken[0].id, taken[2].id]);
  const copy = crashCopy(t, dir);
  const segment = readdirSync(copy).find((name) => name.startsWith("seg-"));
  if (!segment) throw new Error("no segment");
  appendFileSync(join(copy, segment), '{"id":5,"record":{"log":{"host":"cli');
  appendFileSync(join(copy, "acks.log"), "2,");

  const recovered = Spool.open({ dir: copy, maxBytes: 1_000_000, fsyncIntervalMs: 0, logger });
  t.teardown(() => recovered.close());
  t.equal(recovered.depth, 2);
  t.same(messages(recovered.take(10)), ["m2", "m4"], "m2 stays pending: its ack line was torn");
  t.ok(logMessages().some((message) => /torn last line/.test(message)));
  t.ok(readFileSync(join(copy, segment), "utf8").endsWith("\n"), "the torn line is cut off the file");
  t.equal(recovered.append(record(6)), true);
  const ids = new Set<number>();
  const again = crashCopy(t, copy);
  const third = Spool.open({ dir: again, maxBytes: 1_000_000, fsyncIntervalMs: 0 });
  t.teardown(() => third.close());
  for (const entry of third.take(10)) ids.add(entry.id);
  t.same(messages(third.take(0)), []);
  t.equal(ids.size, 3, "the record appended after recovery reads back cleanly");
});

t.test("acknowledged segments are deleted and ids are never reused", async (t) => {
  const dir = join(tempDir(t, "ltictr-spool-"), "spool");
  const spool = Spool.open({ dir, maxBytes: 1_000_000, segmentBytes: 300, fsyncIntervalMs: 0 });
  t.teardown(() => spool.close());
  for (let n = 1; n <= 20; n++) spool.append(record(n));
  const segmentsBefore = readdirSync(dir).filter((name) => name.startsWith("seg-")).length;
  t.ok(segmentsBefore > 3, `${segmentsBefore} segments`);
  const bytesBefore = spool.bytes;
  const entries = spool.take(20);
  spool.ack(entries.slice(0, 19).map((entry) => entry.id));
  const segmentsAfter = readdirSync(dir).filter((name) => name.startsWith("seg-"));
  t.ok(segmentsAfter.length <= 2, `${segmentsAfter.length} segments left`);
  t.ok(spool.bytes < bytesBefore / 2, "disk use shrinks");
  spool.append(record(21));
  const copy = crashCopy(t, dir);
  const recovered = Spool.open({ dir: copy, maxBytes: 1_000_000, segmentBytes: 300, fsyncIntervalMs: 0 });
  t.teardown(() => recovered.close());
  const pending = recovered.take(10);
  t.same(messages(pending), ["m20", "m21"]);
  t.ok(pending[1].id > entries[19].id, "new ids continue above the old ones");
});

t.test("the bound: a full spool refuses, says so once, counts, and accepts again when drained", async (t) => {
  const dir = join(tempDir(t, "ltictr-spool-"), "spool");
  const metrics = new ProxyMetrics({ defaultMetrics: false });
  const { logger, messages: logMessages } = captureLogger();
  const spool = Spool.open({ dir, maxBytes: 2000, segmentBytes: 500, fsyncIntervalMs: 0, logger });
  t.teardown(() => metrics.close());
  t.teardown(() => spool.close());
  let accepted = 0;
  while (spool.append(record(accepted + 1))) accepted += 1;
  t.ok(accepted > 5, `${accepted} accepted before full`);
  t.equal(spool.isFull, true);
  t.equal(spool.append(record(1000)), false);
  t.ok(spool.bytes <= 2000, "disk use stays within the bound");
  const counter = await metrics.refusedRecords.get();
  t.same(
    counter.values.map((v) => [v.labels.reason, v.value]),
    [["spool_full", 2]],
  );
  t.equal(
    logMessages().filter((message) => /spool .* is full/.test(message)).length,
    1,
    "one log line per episode",
  );
  spool.ack(spool.take(accepted).map((entry) => entry.id));
  t.equal(spool.append(record(2000)), true);
  t.ok(logMessages().some((message) => /accepts records again \(2 were refused/.test(message)));
});

t.test("one owner: a second open of the same spool fails clearly", async (t) => {
  const dir = join(tempDir(t, "ltictr-spool-"), "spool");
  const spool = Spool.open({ dir, maxBytes: 10_000, fsyncIntervalMs: 0 });
  t.throws(() => Spool.open({ dir, maxBytes: 10_000 }), { name: "SpoolBusyError", message: /already open/ });
  spool.close();
  t.equal(spool.append(record(1)), false, "a closed spool refuses");
  const again = Spool.open({ dir, maxBytes: 10_000, fsyncIntervalMs: 0 });
  again.close();
  t.pass("reopens after close");
});

t.test("unreadable lines are skipped, not fatal", async (t) => {
  const dir = join(tempDir(t, "ltictr-spool-"), "spool");
  const spool = Spool.open({ dir, maxBytes: 10_000, fsyncIntervalMs: 0 });
  spool.append(record(1));
  spool.close();
  const segment = readdirSync(dir).find((name) => name.startsWith("seg-")) ?? "";
  appendFileSync(join(dir, segment), 'garbage\n{"id":7,"record":{"log":{}}}\n');
  const reopened = Spool.open({ dir, maxBytes: 10_000, fsyncIntervalMs: 0 });
  t.teardown(() => reopened.close());
  t.same(messages(reopened.take(10)), ["m1"]);
  t.equal(reopened.append(record(2)), true);
});
