import path from "node:path";
import { parseArgs } from "node:util";
import type { RunningProcess } from "../../test/support/proxy-process.js";
import { AGENT_DIR } from "./paths.js";
import { LOAD_CORE, spawnTracked } from "./children.js";

/**
 * The small protocol between the orchestrator and its agent processes (backend, load clients):
 * options as `--name value`, progress as plain stdout lines, the outcome as one `RESULT <json>` line.
 */
const RESULT_PREFIX = "RESULT ";

export type AgentName = "backend-server" | "ws-stream-client" | "open-loop-client" | "idle-ws-client";

/** Agent side: the `--name value` options, all as strings. */
export function agentOptions(names: readonly string[]): Record<string, string | undefined> {
  const { values } = parseArgs({
    options: Object.fromEntries(names.map((n) => [n, { type: "string" as const }])),
    strict: true,
  });
  return values as Record<string, string | undefined>;
}

/** Agent side: a required numeric option, or exit with a clear message. */
export function numberOption(
  values: Record<string, string | undefined>,
  name: string,
  fallback?: number,
): number {
  const raw = values[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (value === undefined || !Number.isFinite(value)) {
    process.stderr.write(`--${name} must be a number\n`);
    process.exit(1);
  }
  return value;
}

/**
 * Writes the outcome; resolves once it is handed to the pipe. An agent that exits must wait for it: a write to a
 * pipe the orchestrator has not drained yet is queued, and `process.exit` drops what is queued (scenario 3 lost its
 * 50-socket result that way while agent and orchestrator shared a busy core).
 */
export function printResult(result: unknown): Promise<void> {
  return new Promise((resolve) =>
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`, () => resolve()),
  );
}

/** Agent side: leave when the orchestrator is gone (even after SIGKILL), so no agent outlives a run. */
export function exitWithParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
}

/** Orchestrator side: starts an agent pinned to the load core. */
export function startAgent(name: AgentName, options: Record<string, string | number>): RunningProcess {
  const args = Object.entries(options).flatMap(([k, v]) => [`--${k}`, String(v)]);
  return spawnTracked(process.execPath, [path.join(AGENT_DIR, `${name}.js`), ...args], { core: LOAD_CORE });
}

/** Orchestrator side: the parsed `RESULT` line of a finished agent. */
export function agentResult(proc: RunningProcess): unknown {
  const line = proc
    .stdout()
    .split("\n")
    .find((l) => l.startsWith(RESULT_PREFIX));
  if (line === undefined)
    throw new Error(
      `agent gave no result; stdout:\n${proc.stdout().slice(-2000)}\nstderr:\n${proc.stderr()}`,
    );
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as unknown;
}

/** Orchestrator side: runs an agent to completion and returns its result. */
export async function runAgent(name: AgentName, options: Record<string, string | number>): Promise<unknown> {
  const proc = startAgent(name, options);
  const code = await proc.exited();
  if (code !== 0) throw new Error(`${name} exited with ${code}: ${proc.stderr().trim()}`);
  return agentResult(proc);
}

/** Orchestrator side: a numeric field of an agent result (nested with dots), or an error naming it. */
export function resultNumber(result: unknown, key: string): number {
  let value: unknown = result;
  for (const part of key.split(".")) {
    value =
      typeof value === "object" && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value !== "number")
    throw new Error(`agent result has no number at ${key}: ${JSON.stringify(result)}`);
  return value;
}
