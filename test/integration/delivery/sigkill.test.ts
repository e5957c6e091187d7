import t from "tap";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { DeliveryService } from "../../../src/delivery/delivery-service.js";
import { MoodleStandIn } from "../../support/moodle-stand-in.js";
import { startProcess } from "../../support/proxy-process.js";

const TOKEN = "0123456789abcdef0123456789abcdef";
const CHILD = fileURLToPath(new URL("../../support/delivery-child.js", import.meta.url));

t.test("a SIGKILLed process loses no accepted record; the next one delivers them all", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN] });
  t.teardown(() => standIn.close());
  await standIn.setMode("503");
  const dataDir = mkdtempSync(join(tmpdir(), "ltictr-sigkill-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  const progressFile = join(dataDir, "progress.txt");
  const child = startProcess(process.execPath, [CHILD, dataDir, standIn.baseUrl, TOKEN, progressFile]);
  t.teardown(() => child.stop(0));
  const progress = () => (existsSync(progressFile) ? readFileSync(progressFile, "utf8") : "");
  while (!progress().includes("accepted 1500\n")) {
    if (child.child.exitCode !== null) throw new Error(`child exited: ${child.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.child.kill("SIGKILL");
  t.equal(await child.exited(), "SIGKILL");
  const accepted = [...progress().matchAll(/^accepted (\d+)$/gm)].map((m) => Number(m[1]));
  t.ok(accepted.length >= 1500, `${accepted.length} records reported accepted`);
  t.ok(standIn.received > 0, "the child was trying to deliver (Moodle answered 503)");

  await standIn.setMode("up");
  const service = await DeliveryService.open({
    dataDir,
    moodle: { baseUrl: standIn.baseUrl, token: TOKEN },
    allowOrigins: [],
    batchSize: 50,
    batchAgeMs: 10,
    concurrency: 8,
    spoolMaxBytes: 50_000_000,
    multiRecord: false,
    requestTimeoutMs: 5000,
    logger: pino({ level: "silent" }),
    fsyncIntervalMs: 0,
  });
  t.teardown(() => service.close());
  t.ok(service.depth >= accepted.length, `${service.depth} records recovered`);
  service.start();
  t.equal(await service.flush(60_000), true);
  const delivered = standIn.clientData.map((row) => row.message);
  const missing = accepted.filter((n) => !delivered.includes(`m${n}`));
  t.same(missing, [], "every accepted record reached Moodle");
  t.equal(new Set(delivered).size, delivered.length, "none twice");
  for (let s = 0; s < 7; s++) {
    const order = standIn.clientData
      .filter((row) => row.session === `s${s}`)
      .map((row) => Number(row.message.slice(1)));
    t.same(
      order,
      [...order].sort((a, b) => a - b),
      `stream s${s} delivered in capture order`,
    );
  }
});
