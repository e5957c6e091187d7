import { startCpuMeter } from "../../test/support/proc-stats.js";
import { alternatingOrder, type BenchContext } from "./scenario.js";
import type { Target, TargetKind } from "./targets.js";
import { runWrk, type WrkResult } from "./wrk.js";

export interface ClosedLoopSample {
  kind: TargetKind;
  wrk: WrkResult;
  /** Proxy CPU (user+system) per request; undefined for the direct path. */
  cpuMicrosPerRequest?: number;
}

/**
 * wrk at full speed against every target, `rounds` times in rotating order, each run preceded by a
 * warm-up so JIT and connection pools are hot; the proxy's CPU time is metered over the measured run only.
 */
export async function closedLoopRounds(
  ctx: BenchContext,
  targets: Map<TargetKind, Target>,
  path: string,
  connections: number,
  script?: string,
): Promise<ClosedLoopSample[]> {
  const samples: ClosedLoopSample[] = [];
  for (let round = 0; round < ctx.options.rounds; round++) {
    for (const kind of alternatingOrder([...targets.keys()], round)) {
      const target = targets.get(kind);
      if (!target) continue;
      const url = target.url + path;
      await runWrk({ url, connections, durationS: ctx.options.warmupS, script });
      const cpu = startCpuMeter(target.pid);
      const wrk = await runWrk({ url, connections, durationS: ctx.options.durationS, script });
      const used = cpu();
      const sample: ClosedLoopSample = { kind, wrk };
      if (used !== undefined && wrk.requests > 0) sample.cpuMicrosPerRequest = used / wrk.requests;
      samples.push(sample);
      ctx.log(
        `  ${kind}: ${Math.round(wrk.requestsPerSecond)} req/s, p99 ${wrk.latencyMs.p99.toFixed(2)} ms` +
          (sample.cpuMicrosPerRequest === undefined
            ? ""
            : `, ${sample.cpuMicrosPerRequest.toFixed(0)} µs CPU/req`) +
          (wrk.errors ? `, ${wrk.errors} errors` : ""),
      );
    }
  }
  return samples;
}

/** Groups one number per sample by target, for `rowFromSamples`. */
export function samplesBy(
  samples: readonly ClosedLoopSample[],
  pick: (s: ClosedLoopSample) => number | undefined,
): Map<TargetKind, number[]> {
  const grouped = new Map<TargetKind, number[]>();
  for (const s of samples) {
    const value = pick(s);
    if (value === undefined) continue;
    grouped.set(s.kind, [...(grouped.get(s.kind) ?? []), value]);
  }
  return grouped;
}

/** A note for every target whose runs saw errors, so a fast-but-failing proxy is not mistaken for a fast one. */
export function errorNotes(samples: readonly ClosedLoopSample[], what: string): string[] {
  const errors = samplesBy(samples, (s) => s.wrk.errors || undefined);
  return [...errors].map(
    ([kind, counts]) =>
      `${kind}: ${counts.reduce((a, b) => a + b, 0)} socket errors or non-2xx responses in ${what}`,
  );
}
