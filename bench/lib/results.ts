import type { TargetKind } from "./targets.js";

/**
 * The shape every scenario reports: rows of one measure on each target, optionally with the goal
 * for ltictr-proxy. Verdicts and ratios are derived here, in one place, from the measured values.
 */
export type Better = "higher" | "lower";

export type Goal =
  /** ltictr-proxy must beat CHP by this factor, oriented so that > 1 is better (inverted for "lower"). */
  | { kind: "vs-chp"; atLeast: number; text: string }
  /** ltictr-proxy's own value must be at most / at least this. */
  | { kind: "max"; value: number; text: string }
  | { kind: "min"; value: number; text: string };

export interface Row {
  scenario: number;
  label: string;
  unit: string;
  better: Better;
  values: Partial<Record<TargetKind, number>>;
  goal?: Goal;
}

export interface ScenarioResult {
  id: number;
  title: string;
  rows: Row[];
  notes: string[];
}

export type Verdict = "met" | "missed" | "no data";

/** ltictr-proxy ÷ CHP, as measured (not oriented). */
export function rawRatio(row: Row): number | undefined {
  const { ltictr, chp } = row.values;
  // Ratios of signed quantities (trends) mean nothing, so only positive pairs get one.
  return ltictr === undefined || chp === undefined || ltictr <= 0 || chp <= 0 ? undefined : ltictr / chp;
}

/** ltictr-proxy ÷ the baseline build, as measured (not oriented); positive pairs only, as `rawRatio`. */
export function baselineRatio(row: Row): number | undefined {
  const { ltictr, baseline } = row.values;
  return ltictr === undefined || baseline === undefined || ltictr <= 0 || baseline <= 0
    ? undefined
    : ltictr / baseline;
}

/** How many times better than CHP `kind` is on this row (> 1 = better, whichever way the measure points). */
export function advantageOverChp(row: Row, kind: TargetKind): number | undefined {
  const value = row.values[kind];
  const chp = row.values.chp;
  if (value === undefined || chp === undefined || value <= 0 || chp <= 0) return undefined;
  return row.better === "higher" ? value / chp : chp / value;
}

export function verdict(row: Row): Verdict | undefined {
  const goal = row.goal;
  if (!goal) return undefined;
  if (goal.kind === "vs-chp") {
    const advantage = advantageOverChp(row, "ltictr");
    return advantage === undefined ? "no data" : advantage >= goal.atLeast ? "met" : "missed";
  }
  const value = row.values.ltictr;
  if (value === undefined) return "no data";
  return (goal.kind === "max" ? value <= goal.value : value >= goal.value) ? "met" : "missed";
}

/** Builds a row from per-target samples (one per round), reducing them with `reduce` (median by default). */
export function rowFromSamples(
  base: Omit<Row, "values">,
  samples: Map<TargetKind, number[]>,
  reduce: (values: number[]) => number | undefined,
): Row {
  const values: Partial<Record<TargetKind, number>> = {};
  for (const [kind, list] of samples) {
    const value = reduce(list);
    if (value !== undefined) values[kind] = value;
  }
  return { ...base, values };
}
