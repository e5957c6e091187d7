import t from "tap";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyNbLog, type CapturedRecord } from "../../../src/capture/nb-log-record.js";
import { DeadLetterFile, replayDeadLetters } from "../../../src/delivery/dead-letters.js";
import { Spool, spoolDirectory } from "../../../src/delivery/spool/spool.js";

function record(n: number): CapturedRecord {
  return { log: { ...emptyNbLog("server"), message: `m${n}` }, stream: "s", capturedAt: n };
}

t.test("dead letters are kept and replayed into the spool", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "ltictr-dead-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const file = new DeadLetterFile(dataDir);
  for (let n = 1; n <= 3; n++)
    file.append({
      record: record(n),
      reason: "Moodle error invalidtoken",
      errorcode: "invalidtoken",
      deadAt: n,
    });
  t.equal((statSync(file.path).mode & 0o777).toString(8), "600");
  appendFileSync(file.path, "not json\n");

  const result = replayDeadLetters(dataDir, { spoolMaxBytes: 1_000_000 });
  t.same(result, { replayed: 3, kept: 1 });
  t.equal(readFileSync(file.path, "utf8"), "not json\n", "what cannot be replayed stays");

  const spool = Spool.open({ dir: spoolDirectory(dataDir), maxBytes: 1_000_000, fsyncIntervalMs: 0 });
  t.teardown(() => spool.close());
  t.same(
    spool.take(10).map((entry) => entry.record),
    [record(1), record(2), record(3)],
  );
});

t.test("replay into a running service's spool, and a full spool keeps the rest", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "ltictr-dead-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const spool = Spool.open({
    dir: spoolDirectory(dataDir),
    maxBytes: 600,
    segmentBytes: 4096,
    fsyncIntervalMs: 0,
  });
  t.teardown(() => spool.close());
  const file = new DeadLetterFile(dataDir);
  for (let n = 1; n <= 10; n++) file.append({ record: record(n), reason: "r", deadAt: n });
  const result = replayDeadLetters(dataDir, { spool });
  t.ok(result.replayed > 0 && result.kept > 0, JSON.stringify(result));
  t.equal(result.replayed + result.kept, 10);
  t.equal(spool.depth, result.replayed);
  t.equal(readFileSync(file.path, "utf8").trim().split("\n").length, result.kept);
});

t.test("nothing to replay", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "ltictr-dead-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  t.same(replayDeadLetters(dataDir), { replayed: 0, kept: 0 });
  t.equal(existsSync(join(dataDir, "dead-letters.jsonl")), false);
});
