import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { pinningEnabled } from "./children.js";

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryMiB: number;
  kernel: string;
  node: string;
  /** Whether proxies ran on their own core (taskset), as the anchors were measured. */
  pinned: boolean;
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
  };
}
