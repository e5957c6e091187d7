import t from "tap";
import { emptyNbLog, type CapturedRecord } from "../../../src/capture/nb-log-record.js";
import { RecordsFanOut, type RecordStage } from "../../../src/capture/records-fan-out.js";
import { captureLogger } from "../../support/log-capture.js";

const record = (n: number): CapturedRecord => ({
  log: { ...emptyNbLog("client"), message: `m${n}` },
  stream: "s",
  capturedAt: n,
});

t.test("a stage that starts failing costs only itself: the others get every record", async (t) => {
  const { logger, messages } = captureLogger();
  const delivered: string[] = [];
  const filed: string[] = [];
  const delivery: RecordStage = { name: "delivery", accept: (r) => void delivered.push(r.log.message) };
  let full = false;
  const file: RecordStage = {
    name: "records file",
    accept: (r) => {
      if (full) throw new Error("ENOSPC: no space left on device");
      filed.push(r.log.message);
    },
  };
  const failingFirst: RecordStage = {
    name: "broken",
    accept: () => {
      throw new Error("always");
    },
  };
  const fanOut = new RecordsFanOut([failingFirst, delivery, file], logger);
  for (let n = 1; n <= 3; n++) fanOut.accept(record(n));
  full = true;
  for (let n = 4; n <= 10; n++) fanOut.accept(record(n));
  t.same(delivered, ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"], "every record delivered");
  t.same(filed, ["m1", "m2", "m3"], "the file got what it could take");
  const lines = messages().filter((m) => /could not take a record/.test(m));
  t.equal(lines.length, 2, "one line per failing stage, not one per record");
  t.ok(lines.some((m) => /records file/.test(m) && /ENOSPC/.test(m)));
});
