import { startCpuMeter } from "../../test/support/proc-stats.js";
import type { Target } from "./targets.js";
import { runWrk } from "./wrk.js";

export interface Loaded {
  requestsPerSecond: number;
  cpuPerRequest: number | undefined;
}

/**
 * wrk on several targets at the same moment, each with its own `connections`; with each target's CPU per request.
 * Targets that share the proxy core and are loaded at once see the same host drift, so their ratio is that of
 * their per-request costs (consecutive runs on these shared VMs differ by up to ±15 %).
 */
export async function loadTogether(
  targets: Target[],
  options: { connections: number; durationS: number; path?: string; script?: string },
): Promise<Loaded[]> {
  const meters = targets.map((target) => startCpuMeter(target.pid));
  const results = await Promise.all(
    targets.map((target) =>
      runWrk({
        url: target.url + (options.path ?? ""),
        connections: options.connections,
        durationS: options.durationS,
        script: options.script,
      }),
    ),
  );
  return results.map((result, i) => {
    if (result.errors) throw new Error(`${targets[i].kind}: ${result.errors} errors under wrk`);
    const used = meters[i]();
    return {
      requestsPerSecond: result.requestsPerSecond,
      cpuPerRequest: used === undefined ? undefined : used / result.requests,
    };
  });
}

export function describeLoad(loaded: Loaded): string {
  const cpu = loaded.cpuPerRequest === undefined ? "" : `, ${loaded.cpuPerRequest.toFixed(0)} µs CPU/req`;
  return `${Math.round(loaded.requestsPerSecond)} req/s${cpu}`;
}
