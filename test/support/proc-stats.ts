import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

// /proc/<pid>/stat counts CPU time in clock ticks; USER_HZ is 100 on every Linux we run on, but ask once anyway.
const TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** utime + stime of the whole process (all threads) in microseconds; undefined once the process is gone. */
export function cpuMicros(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1e6) / TICKS_PER_SECOND;
}

/** Resident set size in bytes (VmRSS); undefined once the process is gone. */
export function rssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Starts a CPU-time meter; the returned function gives the microseconds used since, or undefined. */
export function startCpuMeter(pid: number | undefined): () => number | undefined {
  const start = pid === undefined ? undefined : cpuMicros(pid);
  return () => {
    if (pid === undefined || start === undefined) return undefined;
    const now = cpuMicros(pid);
    return now === undefined ? undefined : now - start;
  };
}

/** Average of `count` RSS samples `intervalMs` apart, to smooth over a GC in flight. */
export async function settledRss(pid: number, count = 5, intervalMs = 200): Promise<number | undefined> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const rss = rssBytes(pid);
    if (rss !== undefined) samples.push(rss);
    if (i < count - 1) await new Promise((r) => setTimeout(r, intervalMs));
  }
  return samples.length ? samples.reduce((s, v) => s + v, 0) / samples.length : undefined;
}
