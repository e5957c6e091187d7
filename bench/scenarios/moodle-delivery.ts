import { randomBytes } from "node:crypto";
import { MoodleStandIn } from "../../test/support/moodle-stand-in.js";
import { runAgent } from "../lib/agent-io.js";
import { startBackend } from "../lib/backend.js";
import { awaitRecords, countRecords } from "../lib/captured-records.js";
import { rowFromSamples, type Row, type ScenarioResult } from "../lib/results.js";
import { alternatingOrder, pushSample, sleep, type BenchContext, type Scenario } from "../lib/scenario.js";
import { median } from "../lib/stats.js";
import { LTICTR_BUILDS, startTarget, wsUrl, type TargetKind } from "../lib/targets.js";

/** Kernel sockets = ordering streams (records of one session are delivered in order). */
const CONNECTIONS = 50;
const POLL_MS = 50;
/** Give up when Moodle has seen no new record for this long. */
const STALL_MS = 10_000;

interface DeliveryCase {
  label: string;
  delayMs: number;
  requests: number;
  extraArgs: string[];
  goal?: Row["goal"];
}

interface Delivered {
  records: number;
  captured: number;
  failed: number;
  recordsPerSecond: number;
}

/** Waits until Moodle has processed `expected` records (or stalls); rate from its first to its last record. */
async function watchDelivery(moodle: MoodleStandIn, expected: number): Promise<Omit<Delivered, "captured">> {
  let first: number | undefined;
  let last = performance.now();
  let seen = 0;
  while (moodle.processed.length < expected && performance.now() - last < STALL_MS) {
    await sleep(POLL_MS);
    const now = performance.now();
    if (first === undefined && moodle.received > 0) first = now;
    if (moodle.processed.length !== seen) {
      seen = moodle.processed.length;
      last = now;
    }
  }
  const records = moodle.processed.length;
  const failed = moodle.processed.filter((p) => p.outcome !== "ok").length;
  const seconds = first === undefined ? 0 : (last - first) / 1000;
  return { records, failed, recordsPerSecond: seconds > 0 ? records / seconds : 0 };
}

async function deliver(
  ctx: BenchContext,
  kind: TargetKind,
  backendUrl: string,
  c: DeliveryCase,
): Promise<Delivered> {
  const token = randomBytes(16).toString("hex");
  const moodle = await MoodleStandIn.start({ tokens: [token], pathPrefix: "/moodle" });
  moodle.setDelay(c.delayMs);
  const target = await startTarget(kind, backendUrl, {
    ...ctx.targetOptions,
    ltictrArgs: ["--moodle-url", moodle.baseUrl, ...c.extraArgs],
    env: { LTICTR_MOODLE_TOKEN: token },
  });
  try {
    const recordsFile = target.recordsFile ?? "";
    await runAgent("ws-stream-client", {
      url: wsUrl(target),
      connections: CONNECTIONS,
      requests: Math.max(1, Math.round(c.requests / CONNECTIONS)),
      "msgs-per-request": 1,
      format: "v1",
    });
    // Every request yields a client and a server record; wait until the proxy has captured them all.
    await awaitRecords(recordsFile, "server", c.requests);
    const captured = await countRecordsOfAllKinds(recordsFile);
    const delivered = await watchDelivery(moodle, captured);
    ctx.log(
      `  ${kind}, ${c.label}: ${delivered.records}/${captured} records delivered` +
        `${delivered.failed ? ` (${delivered.failed} refused by Moodle)` : ""}, ` +
        `${Math.round(delivered.recordsPerSecond)} records/s`,
    );
    return { ...delivered, captured };
  } finally {
    await target.stop();
    await moodle.close();
  }
}

async function countRecordsOfAllKinds(file: string): Promise<number> {
  const counts = await Promise.all(
    (["ltictr", "client", "server"] as const).map((kind) => countRecords(file, kind)),
  );
  return counts.reduce((a, b) => a + b, 0);
}

export const moodleDelivery: Scenario = {
  id: 6,
  title: "Delivery of captured records to the Moodle stand-in",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const builds = ctx.kinds.filter((k) => LTICTR_BUILDS.includes(k));
    if (builds.length === 0) {
      return {
        id: this.id,
        title: this.title,
        rows: [],
        notes: ["needs ltictr-proxy (CHP delivers nothing)"],
      };
    }
    const requests = ctx.options.quick ? 1000 : 5000;
    const cases: DeliveryCase[] = [
      {
        label: "Moodle answering at once",
        delayMs: 0,
        requests,
        extraArgs: [],
        goal: { kind: "min", value: 2000, text: "≥ 2,000/s" },
      },
      {
        label: "50 ms per Moodle call",
        delayMs: 50,
        requests: requests / 5,
        extraArgs: [],
        goal: { kind: "min", value: 500, text: "≥ 500/s" },
      },
      {
        label: "50 ms per call, --delivery-concurrency 64",
        delayMs: 50,
        requests: requests / 5,
        extraArgs: ["--delivery-concurrency", "64"],
      },
    ];
    // Only the shell reply per request: this scenario is about records, not kernel traffic.
    const backend = await startBackend({ msgsPerRequest: 1, contentBytes: 0 });
    const rows: Row[] = [];
    const notes: string[] = [];
    try {
      for (const [i, c] of cases.entries()) {
        // One delivery is a few seconds and moves by tens of percent with the host's load: medians over rounds.
        const rates = new Map<TargetKind, number[]>();
        for (let round = 0; round < ctx.options.rounds; round++) {
          for (const kind of alternatingOrder(builds, i + round)) {
            const d = await deliver(ctx, kind, backend.url, c);
            // Nothing delivered is "no data" (e.g. delivery not configured), not a rate of zero.
            if (d.records > 0) pushSample(rates, kind, d.recordsPerSecond);
            if (d.records < d.captured)
              notes.push(`${kind}, ${c.label}: only ${d.records} of ${d.captured} records delivered`);
            if (d.failed) notes.push(`${kind}, ${c.label}: Moodle refused ${d.failed} records`);
          }
        }
        rows.push(
          rowFromSamples(
            {
              scenario: 6,
              label: `records/s delivered, ${c.label}`,
              unit: "rec/s",
              better: "higher",
              goal: c.goal,
            },
            rates,
            median,
          ),
        );
      }
    } finally {
      await backend.stop();
    }
    return { id: this.id, title: this.title, rows, notes };
  },
};
