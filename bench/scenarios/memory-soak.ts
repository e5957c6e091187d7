import { rssBytes } from "../../test/support/proc-stats.js";
import { rowFromSamples, type ScenarioResult } from "../lib/results.js";
import { alternatingOrder, pushSample, type BenchContext, type Scenario } from "../lib/scenario.js";
import { linearSlope, mean, median } from "../lib/stats.js";
import { startTargets, stopTargets, type TargetKind } from "../lib/targets.js";
import { runWrk } from "../lib/wrk.js";

const CONNECTIONS = 50;
const PATH = "/user/bench/api/status";
const SAMPLE_MS = 1000;
const MIB = 2 ** 20;
/**
 * Samples in the first third of a turn are not counted: a proxy left idle while the others had their turns gives
 * its unused heap back, and the next turn grows it again in its first seconds (measured here: 69.7 → 76.5 → 89.4 MiB
 * over a turn's first 3 s after 30 s idle, then flat within ±1 MiB for the rest of the turn; CHP alike, 56 → 112).
 * Counted, those samples made the trend a matter of where the second half's window cut a turn's regrowth: one build
 * gave −0.1 and 1.34 MiB/min in two full runs and 20 MiB/min in a 150 s run, with no growth from turn to turn.
 */
const TURN_REGROWTH_SHARE = 1 / 3;

interface RssSample {
  /** Seconds since the soak began. */
  t: number;
  mib: number;
}

/**
 * Both proxies live for the whole soak; the scenario-1 load (wrk -c50, small responses) goes to one of
 * them at a time in turns of `sliceS`, so both age equally and drift hits both. RSS is sampled every
 * second and only the samples taken while a proxy was under load, past its turn's regrowth (see
 * TURN_REGROWTH_SHARE), count: the level at the end of the soak ("steady memory") and the least-squares trend over
 * the second half ("no growth").
 */
export const memorySoak: Scenario = {
  id: 7,
  title: "Steady memory under the HTTP load of scenario 1 (soak)",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { soakS, sliceS } = ctx.options;
    const proxies = ctx.kinds.filter((k) => k !== "direct");
    const targets = await startTargets(proxies, ctx.backend.url, ctx.targetOptions);
    const rss = new Map<TargetKind, RssSample[]>(proxies.map((k) => [k, []]));
    const rps = new Map<TargetKind, number[]>();
    const notes: string[] = [];
    let loaded: TargetKind | undefined;
    let countedFrom = 0;
    const began = performance.now();
    const elapsed = () => (performance.now() - began) / 1000;
    const sampler = setInterval(() => {
      if (elapsed() < countedFrom) return;
      const pid = loaded === undefined ? undefined : targets.get(loaded)?.pid;
      const bytes = pid === undefined ? undefined : rssBytes(pid);
      if (loaded !== undefined && bytes !== undefined)
        rss.get(loaded)?.push({ t: elapsed(), mib: bytes / MIB });
    }, SAMPLE_MS);
    try {
      ctx.log(`  ${soakS} s soak, ${sliceS} s turns, wrk -c${CONNECTIONS}`);
      for (let round = 0; elapsed() < soakS; round++) {
        for (const kind of alternatingOrder(proxies, round)) {
          const remaining = soakS - elapsed();
          const target = targets.get(kind);
          if (remaining < 1 || !target) break;
          loaded = kind;
          const durationS = Math.max(1, Math.round(Math.min(sliceS, remaining)));
          countedFrom = elapsed() + durationS * TURN_REGROWTH_SHARE;
          const result = await runWrk({ url: target.url + PATH, connections: CONNECTIONS, durationS });
          loaded = undefined;
          pushSample(rps, kind, result.requestsPerSecond);
          if (result.errors) notes.push(`${kind}: ${result.errors} errors in a soak turn`);
        }
      }
    } finally {
      clearInterval(sampler);
      await stopTargets(targets);
    }

    const steady = new Map<TargetKind, number[]>();
    const trend = new Map<TargetKind, number[]>();
    for (const [kind, samples] of rss) {
      const end = samples.filter((s) => s.t >= soakS * 0.8);
      const late = samples.filter((s) => s.t >= soakS / 2);
      pushSample(steady, kind, mean(end.map((s) => s.mib)));
      pushSample(
        trend,
        kind,
        linearSlope(
          late.map((s) => s.t / 60),
          late.map((s) => s.mib),
        ),
      );
      const first = samples[0]?.mib;
      const last = samples[samples.length - 1]?.mib;
      if (first !== undefined && last !== undefined) {
        ctx.log(
          `  ${kind}: RSS ${first.toFixed(1)} → ${last.toFixed(1)} MiB over ${samples.length} loaded samples, ` +
            `trend ${(trend.get(kind)?.[0] ?? NaN).toFixed(2)} MiB/min in the second half`,
        );
      }
    }
    return {
      id: this.id,
      title: this.title,
      notes,
      rows: [
        rowFromSamples(
          {
            scenario: 7,
            label: `RSS under load, last 20 % of a ${soakS} s soak`,
            unit: "MiB",
            better: "lower",
            goal: { kind: "vs-chp", atLeast: 1, text: "< CHP" },
          },
          steady,
          median,
        ),
        rowFromSamples(
          {
            scenario: 7,
            label: "RSS trend, second half of the soak",
            unit: "MiB/min",
            better: "lower",
            goal: { kind: "max", value: 1, text: "≤ 1 MiB/min (no growth)" },
          },
          trend,
          median,
        ),
        rowFromSamples(
          { scenario: 7, label: "requests/s during the soak", unit: "req/s", better: "higher" },
          rps,
          median,
        ),
      ],
    };
  },
};
