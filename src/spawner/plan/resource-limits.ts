import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import { parseByteSize } from "./byte-size.js";
import { LaunchRefused, quoted } from "./launch-refused.js";
import type { LaunchCommands, LaunchValue } from "./parameter-dispatch.js";

/** The container's resources; 0 means "no limit" (limits) or "none" (guarantees). */
export interface ResourceLimits {
  /** CPUs. */
  cpuLimit: number;
  /** Bytes. */
  memLimit: number;
  cpuGuarantee: number;
  memGuarantee: number;
  /** Seconds of activity before the image's health check stops the container. */
  actLimit: number;
}

/** Docker refuses a CPU quota under 1 ms per 100 ms period. */
export const MIN_CPUS = 0.01;
/** Docker (and Podman) refuse a memory limit under 6 MiB. */
export const MIN_MEMORY = 6 * 1024 ** 2;

const CPUS = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/u;
const DURATION = /^(?<amount>[0-9]+)[ \t]*(?<unit>s|sec|min|h|d)?$/iu;
const SECONDS_PER: Readonly<Record<string, number>> = { s: 1, sec: 1, min: 60, h: 3600, d: 86400 };

/**
 * The launch's limits and guarantees, each within the policy's bounds; an absent or empty value takes the
 * policy's default (guarantees: none). Moodle's menus send CPUs as `0.5`, memory as bytes with thousands
 * commas, the activity limit as seconds; units (`300MiB`, `2G`, `3600 s`, `2h`) are understood.
 */
export function readResourceLimits(
  scalars: LaunchCommands["scalars"],
  policy: SpawnerPolicy,
): ResourceLimits {
  const cpuLimit = present(scalars.cpuLimit);
  const memLimit = present(scalars.memLimit);
  const actLimit = present(scalars.actLimit);
  const cpuGuarantee = present(scalars.cpuGuarantee);
  const memGuarantee = present(scalars.memGuarantee);
  const cpus = { max: policy.cpuLimitMax, min: MIN_CPUS, unit: "CPUs" };
  const bytes = { max: policy.memLimitMax, min: MIN_MEMORY, unit: "bytes" };
  const seconds = { max: policy.actLimitMax, min: 1, unit: "seconds" };
  return {
    cpuLimit: cpuLimit ? checkLimit(cpuLimit, readCpus(cpuLimit), cpus, policy) : policy.cpuLimit,
    memLimit: memLimit ? checkLimit(memLimit, readBytes(memLimit), bytes, policy) : policy.memLimit,
    actLimit: actLimit ? checkLimit(actLimit, readSeconds(actLimit), seconds, policy) : policy.actLimit,
    cpuGuarantee: cpuGuarantee ? checkGuarantee(cpuGuarantee, readCpus(cpuGuarantee), cpus) : 0,
    memGuarantee: memGuarantee ? checkGuarantee(memGuarantee, readBytes(memGuarantee), bytes) : 0,
  };
}

interface Bounds {
  max: number;
  min: number;
  unit: string;
}

/** A value that says something: absent and empty values leave the default in place. */
function present(launchValue: LaunchValue | undefined): LaunchValue | undefined {
  return launchValue && launchValue.value.trim() !== "" ? launchValue : undefined;
}

function readCpus({ field, value }: LaunchValue): number {
  const text = value.trim();
  if (!CPUS.test(text)) throw invalid(field, value, "a number of CPUs (e.g. 0.5 or 2)");
  return Number(text);
}

function readBytes({ field, value }: LaunchValue): number {
  const bytes = parseByteSize(value);
  if (bytes === undefined) throw invalid(field, value, "a memory size (bytes, or e.g. 300MiB, 2G)");
  return bytes;
}

function readSeconds({ field, value }: LaunchValue): number {
  const match = DURATION.exec(value.trim());
  if (!match?.groups) throw invalid(field, value, "a number of seconds (or e.g. 30min, 2h)");
  const { amount, unit } = match.groups;
  return Number(amount) * SECONDS_PER[unit?.toLowerCase() ?? "s"]!;
}

function checkLimit(
  { field, value }: LaunchValue,
  amount: number,
  bounds: Bounds,
  policy: SpawnerPolicy,
): number {
  if (amount === 0) {
    if (policy.allowUnlimited) return 0;
    throw new LaunchRefused(
      "LAUNCH_OUT_OF_RANGE",
      field,
      "0 (no limit) is not allowed by the spawner policy",
    );
  }
  if (amount < bounds.min) {
    throw new LaunchRefused(
      "LAUNCH_OUT_OF_RANGE",
      field,
      `${quoted(value)} is below the minimum of ${bounds.min} ${bounds.unit}`,
    );
  }
  if (amount > bounds.max) throw aboveMaximum(field, value, bounds);
  return amount;
}

function checkGuarantee({ field, value }: LaunchValue, amount: number, bounds: Bounds): number {
  if (amount > bounds.max) throw aboveMaximum(field, value, bounds);
  return amount;
}

function aboveMaximum(field: string, value: string, bounds: Bounds): LaunchRefused {
  return new LaunchRefused(
    "LAUNCH_OUT_OF_RANGE",
    field,
    `${quoted(value)} is above the spawner policy's maximum of ${bounds.max} ${bounds.unit}`,
  );
}

function invalid(field: string, value: string, expected: string): LaunchRefused {
  return new LaunchRefused("LAUNCH_INVALID_VALUE", field, `${quoted(value)} is not ${expected}`);
}
