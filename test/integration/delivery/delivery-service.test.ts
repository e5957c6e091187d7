import t, { type Test } from "tap";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyNbLog, type CapturedRecord, type NbLog } from "../../../src/capture/nb-log-record.js";
import type { MoodleDestination } from "../../../src/lti/launch-context.js";
import { DeliveryService, type DeliveryOptions } from "../../../src/delivery/delivery-service.js";
import { ProxyMetrics } from "../../../src/metrics/metrics.js";
import { MoodleStandIn } from "../../support/moodle-stand-in.js";
import { captureLogger } from "../../support/log-capture.js";

const TOKEN = "0123456789abcdef0123456789abcdef";

async function setup(t: Test, standIn: MoodleStandIn, options: Partial<DeliveryOptions> = {}) {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "ltictr-delivery-"));
  if (!options.dataDir) t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const capture = captureLogger();
  const metrics = new ProxyMetrics({ defaultMetrics: false });
  const service = await DeliveryService.open({
    dataDir,
    moodle: { baseUrl: standIn.baseUrl, token: TOKEN },
    allowOrigins: [],
    batchSize: 10,
    batchAgeMs: 20,
    concurrency: 4,
    spoolMaxBytes: 10_000_000,
    multiRecord: false,
    requestTimeoutMs: 2000,
    logger: capture.logger,
    backoff: { baseMs: 20, maxMs: 100 },
    fsyncIntervalMs: 0,
    ...options,
  });
  metrics.observe({ deliveryQueue: () => ({ depth: service.depth, oldestCapturedAt: undefined }) });
  t.teardown(() => {
    metrics.close();
    return service.close();
  });
  return { service, metrics, dataDir, ...capture };
}

/** A kernel session's three records: the WebSocket open, an execute_request and its execute_reply. */
function sessionRecords(session: string, n: number, destination?: MoodleDestination): CapturedRecord[] {
  const at = Date.now();
  const make = (log: Partial<NbLog> & Pick<NbLog, "host">): CapturedRecord => ({
    log: { ...emptyNbLog(log.host), session, ...log },
    stream: session,
    capturedAt: at,
    destination,
  });
  return [
    make({ host: "ltictr", inst_id: "6", lti_id: "13" }),
    make({
      host: "client",
      message: `${session}-m${n}`,
      cell_id: `cell${n}`,
      tags: `["filename:a.ipynb","codenum:${n}"]`,
      date: new Date(at).toISOString(),
    }),
    make({
      host: "server",
      message: `${session}-m${n}`,
      status: "ok",
      username: `user${n}`,
      date: new Date(at + n).toISOString(),
    }),
  ];
}

const counter = async (
  metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> },
  labels: Record<string, string> = {},
) =>
  (await metric.get()).values
    .filter((v) => Object.entries(labels).every(([key, value]) => v.labels[key] === value))
    .reduce((sum, v) => sum + v.value, 0);

t.test("order per stream under concurrency: no /nc, every record once", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN], lti: { 13: 7 } });
  t.teardown(() => standIn.close());
  standIn.setDelay(3);
  const { service, metrics } = await setup(t, standIn);
  service.start();
  const streams = Array.from({ length: 30 }, (_, i) => `session-${i}`);
  const perStream = streams.map((s, i) => sessionRecords(s, i));
  // Interleave streams the way concurrent kernels produce records.
  for (let step = 0; step < 3; step++) for (const records of perStream) service.accept(records[step]);
  t.equal(await service.flush(20_000), true);
  t.equal(standIn.processed.length, 90);
  for (const session of streams) {
    t.same(
      standIn.processed.filter((p) => p.log.session === session).map((p) => p.log.host),
      ["ltictr", "client", "server"],
      `${session} in capture order`,
    );
  }
  t.same(
    standIn.serverData.filter((row) => row.status !== "ok"),
    [],
    "no /nc statuses",
  );
  t.equal(standIn.chartRows({ course: 7, instId: 6, start: 0, end: 4_000_000_000 }).length, 30);
  t.equal(await counter(metrics.delivered), 90);
  t.equal((await metrics.queueDepth.get()).values[0].value, 0);
});

t.test("Moodle down, then 503, then back: nothing lost, nothing twice", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN], lti: { 13: 7 } });
  t.teardown(() => standIn.close());
  await standIn.setMode("down");
  const { service, metrics, messages } = await setup(t, standIn);
  service.start();
  const all: CapturedRecord[] = [];
  const feed = (from: number, to: number) => {
    for (let i = from; i < to; i++)
      for (const record of sessionRecords(`s${i}`, i)) {
        all.push(record);
        service.accept(record);
      }
  };
  feed(0, 10);
  t.equal(await service.flush(300), false, "cannot drain while Moodle is down");
  t.ok((await counter(metrics.deliveryRetries)) > 0, "failures are counted as retries");
  t.equal((await metrics.queueDepth.get()).values[0].value, 30);
  await standIn.setMode("503");
  feed(10, 20);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok(
    standIn.calls.some((call) => call.status === 503),
    "503s were answered",
  );
  t.equal(standIn.processed.length, 0);
  await standIn.setMode("up");
  feed(20, 25);
  t.equal(await service.flush(20_000), true);
  const messagesSeen = standIn.processed.map((p) => `${p.log.host}:${p.log.session}`);
  t.equal(messagesSeen.length, all.length, "every record arrived");
  t.equal(new Set(messagesSeen).size, all.length, "none twice");
  t.same(
    standIn.serverData.filter((row) => row.status !== "ok"),
    [],
    "order kept through the outage",
  );
  t.equal(
    messages().filter((m) => /retrying with backoff/.test(m)).length,
    1,
    "one warning for the outage, not one per retry",
  );
  t.ok(messages().some((m) => /reachable again/.test(m)));
});

t.test("a slow Moodle does not slow accept", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN], lti: { 13: 7 } });
  t.teardown(() => standIn.close());
  standIn.setDelay(200);
  const { service } = await setup(t, standIn, { concurrency: 2 });
  service.start();
  for (const record of sessionRecords("first", 0)) service.accept(record);
  while (standIn.received === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  // A call is now held by the stand-in for 200 ms; accept must still return at once and be durable.
  for (let i = 0; i < 100; i++) for (const record of sessionRecords(`s${i}`, i)) service.accept(record);
  t.equal(standIn.processed.length, 0, "the first call has not been answered yet");
  t.equal(service.depth, 303, "all accepted records are spooled");
  await service.close();
});

t.test("invalid token: dead letter, one log line without the token, replay", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [], lti: { 13: 7 } });
  t.teardown(() => standIn.close());
  const { service, metrics, lines, messages, dataDir } = await setup(t, standIn);
  service.start();
  for (let i = 0; i < 3; i++) for (const record of sessionRecords(`s${i}`, i)) service.accept(record);
  t.equal(await service.flush(10_000), true, "dead-lettered records leave the spool");
  t.equal(await counter(metrics.deadLetters), 9);
  const deadLines = messages().filter((m) => /refused records for good/.test(m));
  t.equal(deadLines.length, 1, "one log line");
  t.match(deadLines[0], /invalidtoken/);
  t.match(deadLines[0], /replay-dead-letters/);
  t.notOk(
    lines.some((line) => line.includes(TOKEN)),
    "the token is in no log line",
  );
  t.equal(readFileSync(join(dataDir, "dead-letters.jsonl"), "utf8").trim().split("\n").length, 9);
  t.equal(standIn.clientData.length, 0);

  standIn.addToken(TOKEN);
  t.same(service.replayDeadLetters(), { replayed: 9, kept: 0 });
  t.equal(await service.flush(10_000), true);
  t.equal(standIn.processed.filter((p) => p.outcome === "ok").length, 9);
  t.same(
    standIn.serverData.filter((row) => row.status !== "ok"),
    [],
    "replayed in order",
  );
});

t.test("allow-list: other Moodles are refused and never contacted", async (t) => {
  const main = await MoodleStandIn.start({ tokens: [TOKEN], lti: { 13: 7 } });
  t.teardown(() => main.close());
  const launchToken = "feedfacefeedfacefeedfacefeedface";
  const allowed = await MoodleStandIn.start({ tokens: [launchToken], lti: { 13: 9 }, pathPrefix: "/lms" });
  t.teardown(() => allowed.close());
  const stranger = await MoodleStandIn.start({ tokens: [launchToken], lti: { 13: 9 } });
  t.teardown(() => stranger.close());
  const { service, metrics, messages } = await setup(t, main, { allowOrigins: [allowed.origin] });
  service.start();
  for (const record of sessionRecords("to-stranger", 1, { baseUrl: stranger.baseUrl, token: launchToken }))
    service.accept(record);
  for (const record of sessionRecords("to-allowed", 2, { baseUrl: allowed.baseUrl, token: launchToken }))
    service.accept(record);
  for (const record of sessionRecords("to-main", 3)) service.accept(record);
  t.equal(await service.flush(10_000), true);
  t.equal(stranger.calls.length, 0, "no request to an origin outside the allow-list");
  t.equal(await counter(metrics.refusedRecords, { reason: "moodle_not_allowed" }), 3);
  t.equal(messages().filter((m) => m.includes(stranger.origin)).length, 1);
  t.same(
    allowed.processed.map((p) => p.log.session),
    ["to-allowed", "to-allowed", "to-allowed"],
  );
  t.same(
    main.processed.map((p) => p.log.session),
    ["to-main", "to-main", "to-main"],
    "not re-routed to the configured Moodle",
  );
});

t.test("multi-record mode: fewer calls, same rows, same order", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN], lti: { 13: 7 }, multiRecord: true });
  t.teardown(() => standIn.close());
  const { service } = await setup(t, standIn, { multiRecord: true, batchSize: 20, concurrency: 1 });
  for (let i = 0; i < 20; i++) for (const record of sessionRecords(`s${i}`, i)) service.accept(record);
  service.start();
  t.equal(await service.flush(10_000), true);
  t.equal(standIn.processed.length, 60);
  t.ok(standIn.calls.length <= 6, `${standIn.calls.length} calls for 60 records`);
  t.match(standIn.calls[0].body, /nb_logs\[19\]\[host\]=/);
  t.same(
    standIn.serverData.filter((row) => row.status !== "ok"),
    [],
    "stream order kept inside and across calls",
  );
});

t.test("bad settings are configuration errors", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN] });
  t.teardown(() => standIn.close());
  await t.rejects(setup(t, standIn, { concurrency: 0 }), /invalid delivery setting concurrency/);
  await t.rejects(setup(t, standIn, { moodle: { baseUrl: "moodle", token: "t" } }), /invalid Moodle URL/);
});

t.test("records of a previous run are delivered after a restart", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN], lti: { 13: 7 } });
  t.teardown(() => standIn.close());
  const dataDir = mkdtempSync(join(tmpdir(), "ltictr-delivery-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await setup(t, standIn, { dataDir });
  for (const record of sessionRecords("s", 1)) first.service.accept(record);
  await first.service.close();
  t.equal(standIn.calls.length, 0, "not started: nothing sent");
  const second = await setup(t, standIn, { dataDir });
  t.equal(second.service.depth, 3);
  second.service.start();
  t.equal(await second.service.flush(10_000), true);
  t.same(
    standIn.processed.map((p) => p.log.host),
    ["ltictr", "client", "server"],
  );
});
