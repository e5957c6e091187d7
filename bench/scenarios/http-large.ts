import { closedLoopRounds, errorNotes, samplesBy } from "../lib/closed-loop.js";
import { rowFromSamples, type ScenarioResult } from "../lib/results.js";
import type { BenchContext, Scenario } from "../lib/scenario.js";
import { median } from "../lib/stats.js";
import { startTargets, stopTargets } from "../lib/targets.js";

const CONNECTIONS = 50;
/** The backend answers paths ending in /1mb with 1 MiB. */
const PATH = "/user/bench/files/1mb";
const MIB = 1024 * 1024;

export const httpLarge: Scenario = {
  id: 2,
  title: "HTTP, 1 MiB responses, 50 keep-alive client connections",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const targets = await startTargets(ctx.kinds, ctx.backend.url, ctx.targetOptions);
    try {
      const closed = await closedLoopRounds(ctx, targets, PATH, CONNECTIONS);
      return {
        id: this.id,
        title: this.title,
        notes: errorNotes(closed, "the 1 MiB runs"),
        rows: [
          rowFromSamples(
            {
              scenario: 2,
              label: "throughput, 1 MiB responses",
              unit: "MiB/s",
              better: "higher",
              goal: { kind: "vs-chp", atLeast: 1.5, text: "≥ 1.5× CHP" },
            },
            samplesBy(closed, (s) => s.wrk.bytesPerSecond / MIB),
            median,
          ),
          rowFromSamples(
            { scenario: 2, label: "proxy CPU per 1 MiB response", unit: "µs", better: "lower" },
            samplesBy(closed, (s) => s.cpuMicrosPerRequest),
            median,
          ),
        ],
      };
    } finally {
      await stopTargets(targets);
    }
  },
};
