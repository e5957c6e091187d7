import type { Backend } from "./backend.js";
import type { BenchOptions } from "./options.js";
import type { ScenarioResult } from "./results.js";
import type { TargetKind, TargetOptions } from "./targets.js";

export interface BenchContext {
  options: BenchOptions;
  backend: Backend;
  /** Targets that can run in this checkout (ltictr-proxy drops out when its binary does not start). */
  kinds: TargetKind[];
  /** Passed to every target a scenario starts (profiling). */
  targetOptions: TargetOptions;
  log(message: string): void;
}

export interface Scenario {
  id: number;
  title: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

/** Round `round`'s target order: rotated each round so slow drift (thermal, neighbours) hits all targets alike. */
export function alternatingOrder<T>(kinds: readonly T[], round: number): T[] {
  const shift = round % Math.max(1, kinds.length);
  return [...kinds.slice(shift), ...kinds.slice(0, shift)];
}

export function pushSample<K>(samples: Map<K, number[]>, key: K, value: number | undefined): void {
  if (value === undefined || !Number.isFinite(value)) return;
  const list = samples.get(key) ?? [];
  list.push(value);
  samples.set(key, list);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
