import { parseArgs } from "node:util";

/**
 * The micro-benchmarks' common runner: each case does `ops` operations per call and returns a number derived from
 * their results (checked to be the same in every round, so the work cannot be optimised away or go wrong
 * silently). A round calls a case until it has used at least 20 ms of CPU, so the JIT has optimised it by the
 * measured rounds. Time is the process's CPU time (user + system), which other load on a shared machine disturbs
 * less than wall time; the figure is the median over rounds after three warm-up rounds, in ns per operation.
 */
export interface MicroCase {
  name: string;
  /** Operations one call performs (messages parsed, lookups, routes serialised …). */
  ops: number;
  run(): number;
}

const ROUND_NS = 20e6;

function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** `--rounds <n>` (default 15) and `--only <substring>` from the command line. */
export function microOptions(): { rounds: number; only: string | undefined } {
  const { values } = parseArgs({
    options: { rounds: { type: "string", default: "15" }, only: { type: "string" } },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer`);
  return { rounds, only: values.only };
}

/** Runs every case `rounds` times (cases interleaved, so drift hits all alike) and prints ns per operation. */
export function runMicro(title: string, cases: readonly MicroCase[]): void {
  const { rounds, only } = microOptions();
  const selected = only === undefined ? cases : cases.filter((c) => c.name.includes(only));
  const samples = new Map<MicroCase, number[]>(selected.map((c) => [c, []]));
  const checks = new Map<MicroCase, number>();
  for (let round = -3; round < rounds; round++) {
    for (const c of selected) {
      const start = cpuNs();
      let calls = 0;
      let elapsed = 0;
      do {
        const check = c.run();
        calls++;
        const expected = checks.get(c);
        if (expected === undefined) checks.set(c, check);
        else if (expected !== check)
          throw new Error(`${c.name}: result changed between calls (${expected} → ${check})`);
        elapsed = cpuNs() - start;
      } while (elapsed < ROUND_NS);
      if (round >= 0) samples.get(c)?.push(elapsed / (calls * c.ops));
    }
  }
  process.stdout.write(`${title} — node ${process.version}, CPU time, median of ${rounds} rounds\n`);
  const width = Math.max(...selected.map((c) => c.name.length));
  for (const c of selected) {
    const ns = median(samples.get(c) ?? []);
    process.stdout.write(`  ${c.name.padEnd(width)}  ${ns.toFixed(ns < 10 ? 2 : 0).padStart(10)} ns/op\n`);
  }
}
