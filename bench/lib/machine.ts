import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { pinningEnabled } from "./children.js";

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryMiB: number;
  kernel: string;
  node: string;
  /** Whether proxies ran on their own core (taskset), so that their CPU time is theirs alone. */
  pinned: boolean;
  /** 1, 5 and 15-minute load averages when the run began: others' work on the shared cores shows here. */
  loadAverage: number[];
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return match?.[1].trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function machineInfo(): MachineInfo {
  return {
    // Not availableParallelism(): the orchestrator has pinned itself to one core by now.
    cpus: cpus().length,
    cpuModel: cpuModel(),
    memoryMiB: Math.round(totalmem() / 1024 ** 2),
    kernel: release(),
    node: process.version,
    pinned: pinningEnabled(),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The commit a checkout is at (short form, `+` when it has uncommitted changes), or undefined outside git. */
export function checkoutCommit(dir: string): string | undefined {
  try {
    const git = (...args: string[]) =>
      execFileSync("git", ["-C", dir, ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? "+" : ""}`;
  } catch {
    return undefined;
  }
}
