/**
 * Child process for the SIGKILL test:
 * `node dist/test/support/delivery-child.js <dataDir> <moodleUrl> <token> <progressFile>`.
 * Accepts records `m0`, `m1`, … into a DeliveryService as fast as it can and appends `accepted <n>` to the
 * progress file (a regular file: a pipe may refuse a synchronous write) after `accept` returned for record n,
 * until it is killed.
 */
import { openSync, writeSync } from "node:fs";
import { pino } from "pino";
import { emptyNbLog } from "../../src/capture/nb-log-record.js";
import { DeliveryService } from "../../src/delivery/delivery-service.js";

const [dataDir, baseUrl, token, progressFile] = process.argv.slice(2);
const progress = openSync(progressFile, "a");
const service = await DeliveryService.open({
  dataDir,
  moodle: { baseUrl, token },
  allowOrigins: [],
  batchSize: 10,
  batchAgeMs: 10,
  concurrency: 4,
  spoolMaxBytes: 50_000_000,
  multiRecord: false,
  requestTimeoutMs: 1000,
  logger: pino({ level: "silent" }),
  backoff: { baseMs: 10, maxMs: 50 },
});
service.start();

let n = 0;
function burst(): void {
  for (let i = 0; i < 50 && n < 20_000; i++, n++) {
    const stream = `s${n % 7}`;
    service.accept({
      log: { ...emptyNbLog("client"), session: stream, message: `m${n}`, cell_id: "c" },
      stream,
      capturedAt: Date.now(),
    });
    writeSync(progress, `accepted ${n}\n`);
  }
  setImmediate(burst);
}
burst();
