import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { TARGET_KINDS, type TargetKind } from "./targets.js";

/** Everything a run is parameterised by; `--quick` picks the smoke-run sizes, flags override. */
export interface BenchOptions {
  quick: boolean;
  scenarios: number[];
  targets: TargetKind[];
  /** Seconds of each throughput measurement. */
  durationS: number;
  /** Seconds of warm-up load before each measurement. */
  warmupS: number;
  /** Times each (scenario, target) measurement is repeated, target order rotating every round. */
  rounds: number;
  /** Scenario 3: messages per run, spread over `wsConnections`. */
  wsMessages: number;
  wsConnections: number;
  /** Scenario 4: idle WebSockets held open. */
  idleSockets: number;
  /** Scenario 5: routes added. */
  routes: number;
  /** Scenario 7: soak length and the length of each proxy's turn under load. */
  soakS: number;
  sliceS: number;
  /** Run ltictr-proxy under `node --cpu-prof` and print its hot spots at the end. */
  profile: boolean;
  /** Launcher of another build to run as the `baseline` target (`<dir>/bin/ltictr-proxy.js`). */
  baselineBin?: string;
}

export const ALL_SCENARIOS = [1, 2, 3, 4, 5, 6, 7, 8];

const FULL: Omit<BenchOptions, "quick" | "scenarios" | "targets" | "profile" | "baselineBin"> = {
  durationS: 6,
  warmupS: 2,
  rounds: 2,
  wsMessages: 200_000,
  wsConnections: 50,
  idleSockets: 5000,
  routes: 10_000,
  soakS: 300,
  sliceS: 15,
};

const QUICK: typeof FULL = {
  durationS: 3,
  warmupS: 1,
  rounds: 1,
  wsMessages: 50_000,
  wsConnections: 50,
  idleSockets: 1000,
  routes: 1000,
  soakS: 20,
  sliceS: 5,
};

export const USAGE = `usage: npm run bench -- [options]
  --quick              short smoke run (~1-2 min): fewer rounds, smaller sizes, 20 s soak
  --scenarios 1,2,...  which scenarios to run (default all: ${ALL_SCENARIOS.join(",")})
  --targets a,b,...    subset of ${TARGET_KINDS.join(",")} (default all; baseline only with --baseline)
  --baseline <dir>     also run the ltictr-proxy build checked out (and compiled) in <dir>, as target
                       "baseline", with a ltictr÷baseline column
  --duration <s>       seconds per throughput measurement (default 6, quick 3)
  --rounds <n>         repetitions per measurement, alternating target order (default 2, quick 1)
  --soak <s>           scenario 7 soak length (default 300, quick 20)
  --profile            run ltictr-proxy under node --cpu-prof and print its hottest functions
  --help`;

function positiveNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} must be a positive number, got '${raw}'`);
  return value;
}

function list<T>(name: string, raw: string | undefined, allowed: readonly T[], parse: (s: string) => T): T[] {
  if (raw === undefined) return [...allowed];
  const items = raw.split(",").map((s) => parse(s.trim()));
  const bad = items.filter((i) => !allowed.includes(i));
  if (bad.length || items.length === 0) throw new Error(`--${name}: choose from ${allowed.join(",")}`);
  return allowed.filter((a) => items.includes(a));
}

/** Parses the bench's command line; throws with a one-line message on bad input. */
export function parseBenchOptions(argv: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: "boolean" },
      scenarios: { type: "string" },
      targets: { type: "string" },
      duration: { type: "string" },
      rounds: { type: "string" },
      soak: { type: "string" },
      profile: { type: "boolean" },
      baseline: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return "help";
  const quick = values.quick === true;
  const preset = quick ? QUICK : FULL;
  const baselineBin = values.baseline === undefined ? undefined : baselineLauncher(values.baseline);
  const kinds = baselineBin ? TARGET_KINDS : TARGET_KINDS.filter((k) => k !== "baseline");
  return {
    ...preset,
    quick,
    scenarios: list("scenarios", values.scenarios, ALL_SCENARIOS, Number),
    targets: list("targets", values.targets, kinds, (s) => s as TargetKind),
    durationS: positiveNumber("duration", values.duration, preset.durationS),
    rounds: Math.round(positiveNumber("rounds", values.rounds, preset.rounds)),
    soakS: positiveNumber("soak", values.soak, preset.soakS),
    profile: values.profile === true,
    baselineBin,
  };
}

/** `<dir>/bin/ltictr-proxy.js` of a compiled checkout, or an error naming what is missing. */
function baselineLauncher(dir: string): string {
  const bin = path.resolve(dir, "bin", "ltictr-proxy.js");
  if (!existsSync(bin)) throw new Error(`--baseline: ${bin} does not exist`);
  if (!existsSync(path.resolve(dir, "dist", "src")))
    throw new Error(`--baseline: ${dir} is not compiled (no dist/src; run tsc there)`);
  return bin;
}
