import { runAgent, resultNumber } from "../lib/agent-io.js";
import { closedLoopRounds, errorNotes, samplesBy } from "../lib/closed-loop.js";
import { rowFromSamples, type ScenarioResult } from "../lib/results.js";
import { alternatingOrder, pushSample, type BenchContext, type Scenario } from "../lib/scenario.js";
import { median } from "../lib/stats.js";
import { startTargets, stopTargets, type TargetKind } from "../lib/targets.js";

const CONNECTIONS = 50;
const PATH = "/user/bench/api/status";
/** The fixed rate for the latency comparison, as a share of CHP's measured capacity: busy, not saturated. */
const OFFERED_SHARE = 0.6;
const FALLBACK_RATE = 1000;

export const httpSmall: Scenario = {
  id: 1,
  title: "HTTP, small responses, 50 keep-alive client connections",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const targets = await startTargets(ctx.kinds, ctx.backend.url, ctx.targetOptions);
    try {
      ctx.log(`  closed loop: wrk -t1 -c${CONNECTIONS}, ${ctx.options.durationS} s per run`);
      const closed = await closedLoopRounds(ctx, targets, PATH, CONNECTIONS);
      const chpCapacity = median(closed.filter((s) => s.kind === "chp").map((s) => s.wrk.requestsPerSecond));
      const rate = Math.round(chpCapacity ? chpCapacity * OFFERED_SHARE : FALLBACK_RATE);

      ctx.log(`  open loop: ${rate} req/s offered to every target`);
      const p50 = new Map<TargetKind, number[]>();
      const p99 = new Map<TargetKind, number[]>();
      const notes: string[] = errorNotes(closed, "the closed-loop runs");
      for (let round = 0; round < ctx.options.rounds; round++) {
        for (const kind of alternatingOrder([...targets.keys()], round)) {
          const target = targets.get(kind);
          if (!target) continue;
          const result = await runAgent("open-loop-client", {
            url: target.url + PATH,
            rate,
            duration: ctx.options.durationS,
            warmup: ctx.options.warmupS,
            connections: CONNECTIONS,
          });
          pushSample(p50, kind, resultNumber(result, "latencyMs.p50"));
          pushSample(p99, kind, resultNumber(result, "latencyMs.p99"));
          const errors = resultNumber(result, "errors");
          if (errors > 0) notes.push(`${kind}: ${errors} failed requests at ${rate} req/s`);
          ctx.log(
            `  ${kind}: p50 ${resultNumber(result, "latencyMs.p50").toFixed(2)} ms, ` +
              `p99 ${resultNumber(result, "latencyMs.p99").toFixed(2)} ms at ${rate} req/s`,
          );
        }
      }
      if (!chpCapacity) notes.push(`CHP not measured: latency compared at a fixed ${FALLBACK_RATE} req/s`);
      return {
        id: this.id,
        title: this.title,
        notes,
        rows: [
          rowFromSamples(
            {
              scenario: 1,
              label: "requests/s, small responses, 50 conns",
              unit: "req/s",
              better: "higher",
              goal: { kind: "vs-chp", atLeast: 5, text: "≥ 5× CHP" },
            },
            samplesBy(closed, (s) => s.wrk.requestsPerSecond),
            median,
          ),
          rowFromSamples(
            { scenario: 1, label: "proxy CPU per request", unit: "µs", better: "lower" },
            samplesBy(closed, (s) => s.cpuMicrosPerRequest),
            median,
          ),
          rowFromSamples(
            { scenario: 1, label: `p50 latency at ${rate} req/s offered`, unit: "ms", better: "lower" },
            p50,
            median,
          ),
          rowFromSamples(
            {
              scenario: 1,
              label: `p99 latency at ${rate} req/s offered`,
              unit: "ms",
              better: "lower",
              goal: { kind: "vs-chp", atLeast: 5, text: "≤ 0.2× CHP" },
            },
            p99,
            median,
          ),
        ],
      };
    } finally {
      await stopTargets(targets);
    }
  },
};
