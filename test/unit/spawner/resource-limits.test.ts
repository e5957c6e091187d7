import t from "tap";
import { parseByteSize } from "../../../src/spawner/plan/byte-size.js";
import { LaunchRefused } from "../../../src/spawner/plan/launch-refused.js";
import { dispatchLaunch } from "../../../src/spawner/plan/parameter-dispatch.js";
import { readResourceLimits } from "../../../src/spawner/plan/resource-limits.js";
import { DEFAULT_SPAWNER_POLICY, type SpawnerPolicy } from "../../../src/spawner/policy/spawner-policy.js";

const GiB = 1024 ** 3;

function limits(entries: Array<[string, string]>, policy: Partial<SpawnerPolicy> = {}) {
  const commands = dispatchLaunch(new Map(entries.map(([key, value]) => [`custom_${key}`, value])));
  return readResourceLimits(commands.scalars, { ...DEFAULT_SPAWNER_POLICY, ...policy });
}

function refusal(entries: Array<[string, string]>, policy: Partial<SpawnerPolicy> = {}): LaunchRefused {
  try {
    limits(entries, policy);
  } catch (error) {
    if (error instanceof LaunchRefused) return error;
    throw error;
  }
  throw new Error("not refused");
}

t.test("byte sizes", async (t) => {
  const cases: Array<[string, number | undefined]> = [
    ["2,147,483,648", 2147483648],
    ["314572800", 314572800],
    ["300MiB", 300 * 1024 ** 2],
    ["300 MB", 300 * 1024 ** 2],
    ["2G", 2 * GiB],
    ["2g", 2 * GiB],
    ["1.5GiB", 1.5 * GiB],
    ["512k", 512 * 1024],
    ["1T", 1024 * GiB],
    ["7b", 7],
    [" 1024 ", 1024],
    ["", undefined],
    ["abc", undefined],
    ["1.2.3", undefined],
    ["2 GB extra", undefined],
    ["-1", undefined],
    ["2P", undefined],
    [",5", undefined],
  ];
  for (const [text, bytes] of cases) t.equal(parseByteSize(text), bytes, JSON.stringify(text));
});

t.test("defaults when absent or empty", async (t) => {
  t.strictSame(limits([]), { cpuLimit: 1, memLimit: GiB, actLimit: 6000, cpuGuarantee: 0, memGuarantee: 0 });
  t.strictSame(
    limits([
      ["lms_cpulimit", ""],
      ["lms_memlimit", " "],
      ["lms_actlimit", ""],
    ]),
    limits([]),
  );
  t.strictSame(limits([], { cpuLimit: 2, memLimit: 2 * GiB, actLimit: 60 }).memLimit, 2 * GiB);
});

t.test("values Moodle's menus send", async (t) => {
  for (const cpus of ["0.1", "0.2", "0.3", "0.5", "1", "2", "10", ".5", "1."]) {
    t.equal(limits([["lms_cpulimit", cpus]]).cpuLimit, Number(cpus), cpus);
  }
  t.equal(limits([["lms_memlimit", "17,179,869,184"]]).memLimit, 16 * GiB);
  t.equal(limits([["lms_actlimit", "2419200"]]).actLimit, 2419200);
  t.equal(limits([["lms_actlimit", "30min"]]).actLimit, 1800);
  t.equal(limits([["lms_actlimit", "2h"]]).actLimit, 7200);
  t.equal(limits([["lms_actlimit", "1 d"]]).actLimit, 86400);
  t.strictSame(
    limits([
      ["lms_cpugrnt", "0.25"],
      ["lms_memgrnt", "256MiB"],
    ]),
    { cpuLimit: 1, memLimit: GiB, actLimit: 6000, cpuGuarantee: 0.25, memGuarantee: 256 * 1024 ** 2 },
  );
});

t.test("0 is no limit unless the policy forbids it", async (t) => {
  t.strictSame(
    limits([
      ["lms_cpulimit", "0"],
      ["lms_memlimit", "0"],
      ["lms_actlimit", "0"],
    ]),
    { cpuLimit: 0, memLimit: 0, actLimit: 0, cpuGuarantee: 0, memGuarantee: 0 },
  );
  for (const key of ["lms_cpulimit", "lms_memlimit", "lms_actlimit"]) {
    const error = refusal([[key, "0"]], { allowUnlimited: false });
    t.strictSame([error.field, error.code], [`custom_${key}`, "LAUNCH_OUT_OF_RANGE"]);
  }
  t.equal(limits([["lms_cpugrnt", "0"]], { allowUnlimited: false }).cpuGuarantee, 0, "no guarantee is fine");
});

t.test("bounds", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["lms_cpulimit", "10.5", "above the spawner policy's maximum of 10 CPUs"],
    ["lms_cpulimit", "1000000", "maximum"],
    ["lms_cpulimit", "0.001", "below the minimum of 0.01 CPUs"],
    ["lms_memlimit", "99999999999999999999", "maximum of 17179869184 bytes"],
    ["lms_memlimit", "17,179,869,185", "maximum"],
    ["lms_memlimit", "300", "below the minimum of 6291456 bytes"],
    ["lms_actlimit", "2419201", "maximum of 2419200 seconds"],
    ["lms_actlimit", "99999999999999999999999", "maximum"],
    ["lms_cpugrnt", "11", "maximum"],
    ["lms_memgrnt", "17G", "maximum"],
  ];
  for (const [key, value, reason] of cases) {
    const error = refusal([[key, value]]);
    t.strictSame([error.field, error.code], [`custom_${key}`, "LAUNCH_OUT_OF_RANGE"], `${key}=${value}`);
    t.match(error.message, reason);
  }
  t.equal(limits([["lms_cpulimit", "16"]], { cpuLimitMax: 16 }).cpuLimit, 16, "the policy sets the maximum");
});

t.test("values that are not numbers", async (t) => {
  const cases: Array<[string, string]> = [
    ["lms_cpulimit", "1.2.3"],
    ["lms_cpulimit", "."],
    ["lms_cpulimit", "-1"],
    ["lms_cpulimit", "1e3"],
    ["lms_cpulimit", "two"],
    ["lms_cpulimit", "0x10"],
    ["lms_memlimit", "abc"],
    ["lms_memlimit", "1;rm -rf /"],
    ["lms_actlimit", "1.5h"],
    ["lms_actlimit", "forever"],
    ["lms_cpugrnt", "a"],
    ["lms_memgrnt", "b"],
  ];
  for (const [key, value] of cases) {
    const error = refusal([[key, value]]);
    t.strictSame([error.field, error.code], [`custom_${key}`, "LAUNCH_INVALID_VALUE"], `${key}=${value}`);
    t.match(error.message, `custom_${key}: ${JSON.stringify(value)} is not`);
  }
});
