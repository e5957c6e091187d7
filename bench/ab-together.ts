/**
 * Two builds of ltictr-proxy under scenario 1's HTTP load at the same moment (not part of `npm test` or `npm run
 * bench`): this checkout and the build in `--baseline <checkout dir>`, both on the proxy core, each with its own
 * `wrk -t1 -c25` on small responses. Loaded at once, they share whatever else the host runs, so each round's ratio of
 * their CPU per request is the ratio of their costs; consecutive runs of one build on these shared machines differ
 * by up to ±15 %, which a `--baseline` column of `npm run bench` cannot tell from a change. Each round starts both
 * processes afresh: two processes sharing a core feed back on each other (the one that runs ahead reads bigger
 * batches per wake-up, which makes each request cheaper, which keeps it ahead), so rounds of the same two processes
 * are not independent — one such run of two builds gave 0.85, the next 0.97. The order in which the two are started
 * and named alternates every round. Printed: each round, and the median of the rounds' ratios.
 *
 *   npm run build && node dist/bench/ab-together.js --baseline ../old-checkout [--rounds 6] [--duration 6]
 */
import { parseArgs } from "node:util";
import path from "node:path";
import { startBackend } from "./lib/backend.js";
import { installCleanup, pinSelf, stopAll } from "./lib/children.js";
import { describeLoad, loadTogether, type Loaded } from "./lib/load-together.js";
import { median } from "./lib/stats.js";
import { startTargets, stopTargets, type Target } from "./lib/targets.js";

const { values } = parseArgs({
  options: {
    baseline: { type: "string" },
    rounds: { type: "string", default: "6" },
    duration: { type: "string", default: "6" },
  },
});
if (values.baseline === undefined) {
  console.error("ab-together: --baseline <checkout dir> is required (a compiled checkout of another build)");
  process.exit(1);
}
const baselineBin = path.resolve(values.baseline, "bin", "ltictr-proxy.js");
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const CONNECTIONS_EACH = 25;
const WARMUP_S = 2;

/** Both loaded at once, named in either order; the answer is always [ltictr, baseline]. */
async function measureTogether(
  ltictr: Target,
  baseline: Target,
  swap: boolean,
  seconds: number,
): Promise<Loaded[]> {
  const targets = swap ? [baseline, ltictr] : [ltictr, baseline];
  const loaded = await loadTogether(targets, { connections: CONNECTIONS_EACH, durationS: seconds });
  return swap ? [loaded[1], loaded[0]] : loaded;
}

/** One round: both builds started afresh, warmed up together, then measured together. */
async function freshRound(backendUrl: string, swap: boolean): Promise<Loaded[]> {
  const kinds = swap ? (["baseline", "ltictr"] as const) : (["ltictr", "baseline"] as const);
  const targets = await startTargets(kinds, backendUrl, { baselineBin });
  try {
    const ltictr = targets.get("ltictr") as Target;
    const baseline = targets.get("baseline") as Target;
    await measureTogether(ltictr, baseline, swap, WARMUP_S);
    return await measureTogether(ltictr, baseline, swap, durationS);
  } finally {
    await stopTargets(targets);
  }
}

installCleanup();
pinSelf();
const backend = await startBackend({ msgsPerRequest: 100, contentBytes: 1024 });
try {
  const cpuRatios: number[] = [];
  const rateRatios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const [mine, theirs] = await freshRound(backend.url, i % 2 === 1);
    const cpuRatio = (mine.cpuPerRequest ?? NaN) / (theirs.cpuPerRequest ?? NaN);
    cpuRatios.push(cpuRatio);
    rateRatios.push(mine.requestsPerSecond / theirs.requestsPerSecond);
    console.log(
      `round ${i + 1}: ltictr ${describeLoad(mine)} | baseline ${describeLoad(theirs)} | CPU/req ÷ baseline ${cpuRatio.toFixed(3)}`,
    );
  }
  const cpu = median(cpuRatios)?.toFixed(3) ?? "–";
  const rate = median(rateRatios)?.toFixed(3) ?? "–";
  console.log(`median of ${rounds} rounds: CPU per request ÷ baseline ${cpu}, requests/s ÷ baseline ${rate}`);
} finally {
  await backend.stop();
  await stopAll();
}
