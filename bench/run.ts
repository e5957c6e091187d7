import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startBackend, type Backend } from "./lib/backend.js";
import { installCleanup, pinSelf, stopAll } from "./lib/children.js";
import { summarizeProfiles } from "./lib/cpu-profile.js";
import { checkoutCommit, machineInfo } from "./lib/machine.js";
import { USAGE, parseBenchOptions, type BenchOptions } from "./lib/options.js";
import { RESULTS_DIR } from "./lib/paths.js";
import { writeReport, type BenchRun } from "./lib/report-files.js";
import { PROXY_BIN } from "../test/support/proxy-process.js";
import type { ScenarioResult } from "./lib/results.js";
import type { BenchContext, Scenario } from "./lib/scenario.js";
import { renderTextTable } from "./lib/table.js";
import { LTICTR_BUILDS, startTarget, type TargetKind, type TargetOptions } from "./lib/targets.js";
import { httpSmall } from "./scenarios/http-small.js";
import { httpLarge } from "./scenarios/http-large.js";
import { kernelWsStream } from "./scenarios/kernel-ws-stream.js";
import { idleWebSockets } from "./scenarios/idle-websockets.js";
import { manyRoutes } from "./scenarios/many-routes.js";
import { moodleDelivery } from "./scenarios/moodle-delivery.js";
import { memorySoak } from "./scenarios/memory-soak.js";
import { redisStore } from "./scenarios/redis-store.js";

/**
 * `npm run bench`: one backend, CHP 5.3.0, ltictr-proxy (and another build of it with `--baseline`) and the
 * direct path, every scenario on all of them in one run, then a table on stdout and JSON + SVG (+ a Markdown summary) in bench/results/.
 */
const SCENARIOS: readonly Scenario[] = [
  httpSmall,
  httpLarge,
  kernelWsStream,
  idleWebSockets,
  manyRoutes,
  moodleDelivery,
  memorySoak,
  redisStore,
];

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** A build of ltictr-proxy is dropped (with the reason) when it cannot start, so the others still run. */
async function usableTargets(
  options: BenchOptions,
  targetOptions: TargetOptions,
  backend: Backend,
): Promise<TargetKind[]> {
  const usable: TargetKind[] = [];
  for (const kind of options.targets) {
    if (!LTICTR_BUILDS.includes(kind)) {
      usable.push(kind);
      continue;
    }
    try {
      const probe = await startTarget(kind, backend.url, { ...targetOptions, readyTimeoutMs: 15_000 });
      await probe.stop();
      usable.push(kind);
    } catch (err) {
      const reason = err instanceof Error ? err.message.split("\n").slice(0, 6).join("\n  ") : String(err);
      log(`${kind} does not start, benchmarking without it:\n  ${reason}`);
    }
  }
  return usable;
}

async function main(): Promise<number> {
  let options: BenchOptions | "help";
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 1;
  }
  if (options === "help") {
    log(USAGE);
    return 0;
  }
  installCleanup();
  pinSelf();
  const machine = machineInfo();
  const builds: BenchRun["builds"] = { ltictr: checkoutCommit(path.dirname(path.dirname(PROXY_BIN))) };
  if (options.baselineBin) builds.baseline = checkoutCommit(path.dirname(path.dirname(options.baselineBin)));
  const startedAt = new Date().toISOString();
  log(
    `ltictr-proxy bench ${options.quick ? "(quick) " : ""}— ${machine.cpus} CPUs, ${machine.cpuModel}, Node ${machine.node}`,
  );
  if (!machine.pinned)
    log("warning: cannot pin processes to cores (needs ≥ 2 CPUs and taskset); figures are noisier");

  const targetOptions: TargetOptions = { baselineBin: options.baselineBin };
  if (options.profile)
    targetOptions.profileDir = await mkdtemp(path.join(tmpdir(), "ltictr-bench-profiles-"));
  const backend = await startBackend({ msgsPerRequest: 100, contentBytes: 1024 });
  const results: ScenarioResult[] = [];
  try {
    const kinds = await usableTargets(options, targetOptions, backend);
    const ctx: BenchContext = { options, backend, kinds, targetOptions, log };
    for (const scenario of SCENARIOS.filter((s) => options.scenarios.includes(s.id))) {
      log(`\n[${scenario.id}] ${scenario.title}`);
      const began = Date.now();
      try {
        results.push(await scenario.run(ctx));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log(`  failed: ${message}`);
        results.push({
          id: scenario.id,
          title: scenario.title,
          rows: [],
          notes: [`failed: ${message.split("\n")[0]}`],
        });
      }
      log(`  (${((Date.now() - began) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await backend.stop();
    await stopAll();
  }

  log(`\n${renderTextTable(results)}`);
  for (const r of results) for (const note of r.notes) log(`note ${r.id}: ${note}`);
  const files = await writeReport(
    { startedAt, finishedAt: new Date().toISOString(), options, machine, builds, scenarios: results },
    RESULTS_DIR,
  );
  log(`\nwrote ${files.join(", ")}`);
  if (targetOptions.profileDir) {
    log(`\nltictr-proxy CPU profiles (self time):\n${await summarizeProfiles(targetOptions.profileDir)}`);
  }
  return 0;
}

process.exitCode = await main();
