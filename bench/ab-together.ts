/**
 * This build and another proxy under the same load at the same moment (not part of `npm test` or `npm run bench`):
 * the build in `--baseline <checkout dir>`, or CHP (`--against chp`). Both run on the proxy core, each with its own
 * load: scenario 1's `wrk -t1 -c25` on small responses (`--load http`), or scenario 3's kernel streams, 1 % of them
 * execute_reply, on `--sockets` kernel sockets in either wire format (`--load v1`, `--load legacy`), paced for
 * `--rate` messages/s each. Loaded at once, they share whatever else the host runs, so each round's ratio of their
 * CPU per request (or per kernel message) is the ratio of their costs; consecutive runs of one build on these shared
 * machines differ by up to ±15 %, which a
 * column of `npm run bench` cannot tell from a change. Each round starts both processes afresh: two processes
 * sharing a core feed back on each other (the one that runs ahead reads bigger batches per wake-up, which makes each
 * request cheaper, which keeps it ahead), so rounds of the same two processes are not independent — one such run of
 * two builds gave 0.85, the next 0.97. Kernel streams are paced for the same reason: streamed as fast as each proxy
 * goes, the one that falls behind reads bigger batches and pays less per message (two runs of the same relay code
 * gave 0.94 and 0.95 at 0.80 of the other's rate), so unpaced ratios favour the slower proxy. The order in which the
 * two are started and loaded alternates every round.
 * Printed: each round, and the median of the rounds' ratios.
 *
 *   npm run build && node dist/bench/ab-together.js --baseline ../old-checkout [--rounds 6] [--duration 6]
 *   node dist/bench/ab-together.js --against chp --load legacy [--sockets 50] [--messages 100000] [--rate 20000]
 */
import { parseArgs } from "node:util";
import path from "node:path";
import { startBackend } from "./lib/backend.js";
import { installCleanup, pinSelf, stopAll } from "./lib/children.js";
import { loadTogether, streamTogether } from "./lib/load-together.js";
import { failFor, positiveWholeNumbers } from "./lib/script-args.js";
import { median } from "./lib/stats.js";
import { startTargets, stopTargets, type Target, type TargetKind } from "./lib/targets.js";

const LOADS = ["http", "v1", "legacy"] as const;
type Load = (typeof LOADS)[number];

const { values } = parseArgs({
  options: {
    baseline: { type: "string" },
    against: { type: "string", default: "baseline" },
    load: { type: "string", default: "http" },
    sockets: { type: "string", default: "1" },
    messages: { type: "string", default: "100000" },
    rate: { type: "string", default: "20000" },
    rounds: { type: "string", default: "6" },
    duration: { type: "string", default: "6" },
  },
});

const fail = failFor("ab-together");

const other: TargetKind =
  values.against === "chp"
    ? "chp"
    : values.against === "baseline"
      ? "baseline"
      : fail(`--against must be baseline or chp, got '${values.against}'`);
if (other === "baseline" && values.baseline === undefined)
  fail("--baseline <checkout dir> is required (a compiled checkout of another build), or --against chp");
const load: Load = (LOADS as readonly string[]).includes(values.load)
  ? (values.load as Load)
  : fail(`--load must be one of ${LOADS.join(", ")}, got '${values.load}'`);
const baselineBin =
  values.baseline === undefined ? undefined : path.resolve(values.baseline, "bin", "ltictr-proxy.js");
const {
  rounds,
  duration: durationS,
  sockets,
  messages,
  rate,
} = positiveWholeNumbers(
  {
    rounds: values.rounds,
    duration: values.duration,
    sockets: values.sockets,
    messages: values.messages,
    rate: values.rate,
  },
  fail,
);

const CONNECTIONS_EACH = 25;
const WARMUP_S = 2;
/** Each execute_request is answered by 99 iopub outputs and one shell reply, as in scenario 3. */
const MSGS_PER_REQUEST = 100;
const unit = load === "http" ? "req" : "msg";

/** What one target did in a round: requests or kernel messages relayed per second, and CPU µs per one. */
interface Measured {
  perSecond: number;
  cpuPerUnit: number | undefined;
}

/** Both loaded at once for `seconds` (HTTP) or `count` messages (kernel streams), in the given order. */
async function measure(targets: Target[], seconds: number, count: number): Promise<Measured[]> {
  if (load === "http") {
    const loaded = await loadTogether(targets, { connections: CONNECTIONS_EACH, durationS: seconds });
    return loaded.map((l) => ({ perSecond: l.requestsPerSecond, cpuPerUnit: l.cpuPerRequest }));
  }
  const streamed = await streamTogether(targets, {
    format: load,
    sockets,
    requests: Math.max(1, Math.round(count / sockets / MSGS_PER_REQUEST)),
    msgsPerRequest: MSGS_PER_REQUEST,
    rate,
  });
  return streamed.map((s) => ({ perSecond: s.messagesPerSecond, cpuPerUnit: s.cpuPerMessage }));
}

/** One round: both started afresh, warmed up together, then measured together; the answer is [ltictr, other]. */
async function freshRound(backendUrl: string, swap: boolean): Promise<Measured[]> {
  const kinds: TargetKind[] = swap ? [other, "ltictr"] : ["ltictr", other];
  const targets = await startTargets(kinds, backendUrl, { baselineBin });
  try {
    const ordered = kinds.map((kind) => targets.get(kind) as Target);
    await measure(ordered, WARMUP_S, messages / 10);
    const loaded = await measure(ordered, durationS, messages);
    return swap ? [loaded[1], loaded[0]] : loaded;
  } finally {
    await stopTargets(targets);
  }
}

function describe(loaded: Measured): string {
  const cpu = loaded.cpuPerUnit === undefined ? "" : `, ${loaded.cpuPerUnit.toFixed(1)} µs CPU/${unit}`;
  return `${Math.round(loaded.perSecond)} ${unit}/s${cpu}`;
}

installCleanup();
pinSelf();
const backend = await startBackend({ msgsPerRequest: MSGS_PER_REQUEST, contentBytes: 1024 });
try {
  const what =
    load === "http"
      ? "small HTTP requests"
      : `${load} kernel streams on ${sockets} socket(s), ${rate} msg/s each`;
  console.log(`ltictr-proxy and ${other} loaded at once: ${what}, ${rounds} rounds`);
  const cpuRatios: number[] = [];
  const rateRatios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const [mine, theirs] = await freshRound(backend.url, i % 2 === 1);
    const cpuRatio = (mine.cpuPerUnit ?? NaN) / (theirs.cpuPerUnit ?? NaN);
    cpuRatios.push(cpuRatio);
    rateRatios.push(mine.perSecond / theirs.perSecond);
    console.log(
      `round ${i + 1}: ltictr ${describe(mine)} | ${other} ${describe(theirs)} | CPU/${unit} ÷ ${other} ${cpuRatio.toFixed(3)}`,
    );
  }
  const cpu = median(cpuRatios)?.toFixed(3) ?? "–";
  const rates = median(rateRatios)?.toFixed(3) ?? "–";
  console.log(`median of ${rounds} rounds: CPU per ${unit} ÷ ${other} ${cpu}, ${unit}/s ÷ ${other} ${rates}`);
} finally {
  await backend.stop();
  await stopAll();
}
