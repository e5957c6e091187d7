import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { MachineInfo } from "./machine.js";
import type { BenchOptions } from "./options.js";
import type { TargetKind } from "./targets.js";
import { verdict, type ScenarioResult } from "./results.js";
import { renderRatioChart } from "./svg-chart.js";
import { renderMarkdownTable } from "./table.js";

/** One whole run, as written to `bench/results/*.json`. */
export interface BenchRun {
  startedAt: string;
  finishedAt: string;
  options: BenchOptions;
  machine: MachineInfo;
  /** The commit of each ltictr-proxy build measured (`ltictr`, and `baseline` with --baseline). */
  builds: Partial<Record<TargetKind, string>>;
  scenarios: ScenarioResult[];
}

function summary(run: BenchRun): string {
  const m = run.machine;
  const rows = run.scenarios.flatMap((s) => s.rows);
  const withGoal = rows.filter((r) => r.goal);
  const met = withGoal.filter((r) => verdict(r) === "met").length;
  const notes = run.scenarios.flatMap((s) => s.notes.map((n) => `- ${s.id}. ${n}`));
  return [
    `Run ${run.startedAt} → ${run.finishedAt}${run.options.quick ? " (--quick)" : ""}`,
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryMiB} MiB, Linux ${m.kernel}, Node ${m.node}, ` +
      `proxy pinned to its own core: ${m.pinned ? "yes" : "no"}, load average at start ${m.loadAverage.join(" / ")}`,
    `Builds: ${Object.entries(run.builds)
      .map(([kind, commit]) => `${kind} ${commit}`)
      .join(", ")}`,
    `Goals met: ${met} of ${withGoal.length}`,
    "",
    renderMarkdownTable(run.scenarios),
    "",
    ...(notes.length ? ["Notes:", ...notes] : []),
  ].join("\n");
}

/** Writes `bench-<time>[-quick].{json,svg}` plus `latest.{json,svg,md}`; returns the paths written. */
export async function writeReport(run: BenchRun, directory: string): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  const stamp = run.startedAt.replace(/[:.]/g, "-");
  const base = `bench-${stamp}${run.options.quick ? "-quick" : ""}`;
  const json = JSON.stringify(run, null, 2) + "\n";
  const svg = renderRatioChart(
    run.scenarios.flatMap((s) => s.rows),
    `ltictr-proxy vs CHP 5.3.0 — ${run.startedAt.slice(0, 10)}${run.options.quick ? " (quick)" : ""}`,
  );
  const files: Array<[string, string]> = [
    [`${base}.json`, json],
    [`${base}.svg`, svg],
    ["latest.json", json],
    ["latest.svg", svg],
    ["latest.md", summary(run) + "\n"],
  ];
  for (const [name, text] of files) await writeFile(path.join(directory, name), text);
  return files.map(([name]) => path.join(directory, name));
}
