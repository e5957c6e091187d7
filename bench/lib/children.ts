import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { startProcess, type RunningProcess } from "../../test/support/proxy-process.js";

/**
 * Every process the bench starts goes through here, so that all of them are stopped when the run ends,
 * fails or is interrupted. Placement keeps the proxy's CPU apart from the load's, so its CPU time is its own:
 * the proxy under test alone on core 1; load generators, backend and this orchestrator on core 0.
 */
export const PROXY_CORE = 1;
export const LOAD_CORE = 0;

const running = new Set<RunningProcess>();
const canPin = availableParallelism() >= 2 && hasTaskset();

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function pinningEnabled(): boolean {
  return canPin;
}

export interface SpawnOptions {
  /** CPU core to pin to (ignored when the machine has one core or no taskset). */
  core?: number;
  env?: NodeJS.ProcessEnv;
}

/** Starts a tracked process; taskset execs the command, so the pid is the command's own. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): RunningProcess {
  const pinned = canPin && options.core !== undefined;
  const proc = startProcess(
    pinned ? "taskset" : command,
    pinned ? ["-c", String(options.core), command, ...args] : args,
    { env: options.env ?? process.env },
  );
  running.add(proc);
  void proc.exited().then(() => running.delete(proc));
  return proc;
}

/** Runs a command to completion and returns its stdout; rejects on a non-zero exit. */
export async function runTool(command: string, args: string[], options: SpawnOptions = {}): Promise<string> {
  const proc = spawnTracked(command, args, options);
  const code = await proc.exited();
  if (code !== 0) throw new Error(`${command} exited with ${code}: ${proc.stderr().trim()}`);
  return proc.stdout();
}

/** Pins this orchestrator (all its threads) to the load core, so its own work never lands on the proxy's core. */
export function pinSelf(): void {
  if (!canPin) return;
  execFileSync("taskset", ["-a", "-p", "-c", String(LOAD_CORE), String(process.pid)], { stdio: "ignore" });
}

export async function stopAll(graceMs = 2000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(graceMs)));
}

/** Stops every tracked process on normal exit, on an uncaught failure and on Ctrl-C / SIGTERM. */
export function installCleanup(): void {
  process.on("exit", () => {
    for (const p of running) p.child.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping ${running.size} bench process(es)\n`);
      void stopAll(500).finally(() => process.exit(130));
    });
  }
}
