import t, { type Test } from "tap";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runPlanCommand } from "../../../src/spawner/cli/plan-command.js";
import { tempDir } from "../../support/temp-dir.js";

/** A user name no test host has, so the plan derives its uid from the launch's user_id. */
const USER = "ltictr-plan-student";

const FORM =
  "oauth_version=1.0&oauth_nonce=3c1f2a&oauth_consumer_key=jupyter&user_id=76&roles=Learner&context_id=219" +
  "&lis_outcome_service_url=https%3A%2F%2Fel.mml.tuis.ac.jp%2Fmod%2Flti%2Fservice.php" +
  `&ext_user_username=${USER}&custom_lms_sessioninfo=3%2C12&custom_lms_cpulimit=0.5` +
  "&custom_lms_memlimit=2%2C147%2C483%2C648&custom_lms_cpulimit=9&oauth_signature=abc%3D";

async function run(argv: string[], stdin = "") {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPlanCommand(argv, {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    stdin: async () => stdin,
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

interface PrintedPlan {
  name: string;
  create: { Image: string; Env: string[]; HostConfig: { Memory: number; CpuQuota?: number } };
  hostDirectories: unknown[];
}

function oneErrorLine(t: Test, result: { code: number; stdout: string; stderr: string }, pattern: RegExp) {
  t.equal(result.code, 1, "exit 1");
  t.equal(result.stdout, "", "nothing on stdout");
  t.match(result.stderr, /^error: [^\n]+\n$/, "one line");
  t.match(result.stderr, pattern);
}

t.test("a form body as Moodle posts it", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "launch.form");
  writeFileSync(file, FORM);
  const result = await run(["--user", USER, "--launch", file]);
  t.equal(result.code, 0);
  t.equal(result.stderr, "");
  const printed = JSON.parse(result.stdout) as PrintedPlan;
  t.strictSame(Object.keys(printed), ["name", "create", "hostDirectories"]);
  t.match(printed.name, new RegExp(`^jupyterhub-219-12-el\\.mml\\.tuis\\.ac\\.jp-[A-Za-z0-9]{8}-${USER}$`));
  t.equal(printed.create.Image, "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser");
  t.equal(printed.create.HostConfig.Memory, 2147483648);
  t.equal(printed.create.HostConfig.CpuQuota, 50000, "the first of a repeated form field wins");
  t.ok(printed.create.Env.includes("NB_UID=30076"));
  t.ok(printed.create.Env.includes(`NB_USER=${USER}`));
});

t.test("a JSON object of parameters, on stdin", async (t) => {
  const launch = {
    oauth_signature: "ignored",
    context_id: "7",
    user_id: 5,
    lis_outcome_service_url: "https://lms.example.org/mod/lti/service.php",
    custom_lms_sessioninfo: "4,31",
    custom_lms_teachers: USER,
    custom_lms_vol_a: "DataA",
  };
  const result = await run(["--user", USER, "--launch", "-"], JSON.stringify(launch));
  t.equal(result.code, 0, result.stderr);
  const printed = JSON.parse(result.stdout) as PrintedPlan;
  t.match(printed.name, /^jupyterhub-7-31-lms\.example\.org-/);
  t.ok(printed.create.Env.includes(`NB_TEACHER=${USER}`));
  t.ok(printed.create.Env.includes("NB_VOLUMES=.volumes/lms_vol_a_7_lms.example.org:DataA"));
});

t.test("a policy file", async (t) => {
  const dir = tempDir(t);
  const policy = join(dir, "policy.json");
  writeFileSync(
    policy,
    JSON.stringify({ imageAllowList: ["jupyter/minimal-notebook:latest"], memLimit: "2GiB" }),
  );
  const launch =
    FORM.replace("&custom_lms_memlimit=2%2C147%2C483%2C648", "") +
    "&custom_lms_image=jupyter%2Fminimal-notebook+%3A+latest";
  const result = await run(["--user", USER, "--launch", "-", "--policy", policy], launch);
  t.equal(result.code, 0, result.stderr);
  const printed = JSON.parse(result.stdout) as PrintedPlan;
  t.equal(printed.create.Image, "jupyter/minimal-notebook:latest");
  t.equal(printed.create.HostConfig.Memory, 2 * 1024 ** 3);

  const withoutPolicy = await run(["--user", USER, "--launch", "-"], launch);
  oneErrorLine(
    t,
    withoutPolicy,
    /custom_lms_image: the image "jupyter\/minimal-notebook:latest" is not allowed/,
  );
});

t.test("bad input: exit 1 with one line", async (t) => {
  const dir = tempDir(t);
  const badPolicy = join(dir, "bad-policy.json");
  writeFileSync(badPolicy, JSON.stringify({ cpuLimitMax: "many" }));
  const badJson = join(dir, "bad.json");
  writeFileSync(badJson, "{ not json");

  oneErrorLine(
    t,
    await run(["--user", USER, "--launch", "-"], "user_id=1&custom_lms_cpulimit=1.2.3"),
    /^error: custom_lms_cpulimit: "1\.2\.3" is not a number of CPUs/,
  );
  oneErrorLine(
    t,
    await run(["--user", USER, "--launch", "-"], "user_id=1&custom_lms_vol_..%2F..%2Fetc=x"),
    /custom_lms_vol_\.\.\/\.\.\/etc: the volume name/,
  );
  oneErrorLine(
    t,
    await run(["--user", USER, "--launch", "-"], "user_id=1&custom_lms_memlimit=99999999999999999999"),
    /custom_lms_memlimit: .* maximum/,
  );
  oneErrorLine(
    t,
    await run(["--user", USER, "--launch", "-"], "user_id=1&custom_lms_course=a%0Ab%00c"),
    /custom_lms_course: .*control characters/,
  );
  oneErrorLine(t, await run(["--user", "../root", "--launch", "-"], "user_id=1"), /^error: user: /);
  oneErrorLine(
    t,
    await run(["--user", USER, "--launch", "-"], "context_id=1"),
    /^error: user_id: the launch has no user_id/,
  );
  oneErrorLine(t, await run(["--user", USER, "--launch", badJson]), /the launch is not valid JSON/);
  oneErrorLine(
    t,
    await run(["--user", USER, "--launch", "-"], '{"user_id": ["1"]}'),
    /launch\.user_id: must be a string or a number/,
  );
  oneErrorLine(
    t,
    await run(["--user", USER, "--launch", join(dir, "missing")]),
    /cannot read the launch .*missing/,
  );
  oneErrorLine(
    t,
    await run(["--user", USER, "--launch", "-", "--policy", badPolicy], "user_id=1"),
    /bad-policy\.json: cpuLimitMax must be a number/,
  );
  oneErrorLine(t, await run(["--launch", "-"], "user_id=1"), /required option '--user <name>' not specified/);
  oneErrorLine(t, await run(["--user", USER]), /required option '--launch <file>' not specified/);
  oneErrorLine(t, await run(["--user", USER, "--launch", "-", "--force"]), /unknown option '--force'/);
  oneErrorLine(t, await run(["--user", USER, "--launch", "-", "extra"]), /too many arguments/);
});

t.test("--help", async (t) => {
  const result = await run(["--help"]);
  t.equal(result.code, 0);
  t.match(result.stdout, /Usage: ltictr-proxy spawner plan \[options\]/);
  t.match(result.stdout, /--policy <file>/);
});
