/**
 * LTIContainerSpawner 1.4.4's test vectors: launches run through the real Python spawner (with DockerSpawner and
 * docker-py against a stub engine), and the container it asked for. Each row states its differences from the
 * default output; where the plan deliberately differs (a weakness of the Python spawner fixed), the comment
 * says what differs and why.
 */
import t, { type Test } from "tap";
import { LaunchRefused } from "../../../src/spawner/plan/launch-refused.js";
import {
  HOST,
  SUFFIX,
  comparedFields,
  defaultOutput,
  envOf,
  launch,
  plan,
  volumeBind,
  withoutUnset,
  type ExpectedOutput,
  type PlanOptions,
} from "../../support/spawner-launch.js";
import type { LaunchParameters } from "../../../src/lti/lti-launch.js";

function check(
  t: Test,
  user: string,
  parameters: LaunchParameters,
  expected: ExpectedOutput,
  options: PlanOptions = {},
): void {
  t.strictSame(comparedFields(plan(user, parameters, options)), withoutUnset(expected));
}

function refusal(user: string, parameters: LaunchParameters, options: PlanOptions = {}): LaunchRefused {
  try {
    plan(user, parameters, options);
  } catch (error) {
    if (error instanceof LaunchRefused) return error;
    throw error;
  }
  throw new Error("the launch was not refused");
}

const RSA = `lms_vol_rsa_219_${HOST}`;
const REP = `lms_sub_rep_219_${HOST}`;

t.test("T01: the base launch gives exactly the default output", async (t) => {
  check(t, "student1", launch(), defaultOutput("student1", 76));
});

t.test("T02: a teacher with a task volume", async (t) => {
  const expected = defaultOutput("teacher1", 5);
  expected.env.NB_TEACHER = "teacher1";
  expected.env.NB_UMASK = "0033";
  expected.Binds.push(volumeBind("teacher1", RSA));
  expected.env.NB_VOLUMES = `.volumes/${RSA}:-RSA`;
  check(
    t,
    "teacher1",
    launch([
      ["user_id", "5"],
      ["lms_teachers", "teacher1, teacher2"],
      ["lms_vol_rsa", "-RSA"],
    ]),
    expected,
  );
});

t.test("T03: another image escapes the user name in the container name", async (t) => {
  // Fix: the image must pass the policy's filter. mod_lticontainer's default filter `jupyterhub` would not have
  // listed this image in Moodle either; a policy whose filter names `jupyter/` allows it.
  const allowJupyter = { policy: { imageFilter: "jupyter/" } };
  const expected = defaultOutput("s.tanaka", 76);
  expected.name = `jupyterhub-219-12-${HOST}-${SUFFIX}-s-2etanaka`;
  expected.Image = expected.env.JUPYTER_IMAGE_SPEC = "jupyter/datascience-notebook:latest";
  check(
    t,
    "s.tanaka",
    launch([["lms_image", "jupyter/datascience-notebook : latest"]]),
    expected,
    allowJupyter,
  );

  const unchanged = defaultOutput("s.tanaka", 76);
  check(
    t,
    "s.tanaka",
    launch([["lms_image", "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser"]]),
    unchanged,
  );

  const refused = refusal("s.tanaka", launch([["lms_image", "jupyter/datascience-notebook : latest"]]));
  t.equal(refused.code, "LAUNCH_IMAGE_NOT_ALLOWED", "the default policy refuses it");
  t.equal(refused.field, "custom_lms_image");
});

t.test("T04: CPU and memory limits", async (t) => {
  const expected = defaultOutput("student1", 76);
  expected.Memory = 2147483648;
  expected.CpuQuota = 50000;
  expected.env.MEM_LIMIT = "2147483648";
  expected.env.CPU_LIMIT = "0.5";
  check(
    t,
    "student1",
    launch([
      ["lms_cpulimit", "0.5"],
      ["lms_memlimit", "2,147,483,648"],
    ]),
    expected,
  );
});

t.test("T05: no limits", async (t) => {
  const expected = defaultOutput("student1", 76);
  expected.Memory = 0;
  expected.CpuQuota = undefined;
  expected.env.MEM_LIMIT = undefined;
  expected.env.CPU_LIMIT = undefined;
  expected.env.NB_ACTLIMIT = "0";
  check(
    t,
    "student1",
    launch([
      ["lms_cpulimit", "0.0"],
      ["lms_memlimit", "0"],
      ["lms_actlimit", "0"],
    ]),
    expected,
  );
});

t.test("T06: the CPU quota is truncated as Python does", async (t) => {
  const expected = defaultOutput("student1", 76);
  expected.CpuQuota = 28999;
  expected.env.CPU_LIMIT = "0.29";
  check(t, "student1", launch([["lms_cpulimit", "0.29"]]), expected);
});

t.test("T07: guarantees only reach the environment", async (t) => {
  const expected = defaultOutput("student1", 76);
  expected.env.CPU_GUARANTEE = "0.5";
  expected.env.MEM_GUARANTEE = "536870912";
  check(
    t,
    "student1",
    launch([
      ["lms_cpugrnt", "0.5"],
      ["lms_memgrnt", "536,870,912"],
    ]),
    expected,
  );
});

t.test("T08: activity limit, start page, memory with a unit", async (t) => {
  const expected = defaultOutput("student1", 76);
  expected.env.NB_ACTLIMIT = "3600";
  expected.Cmd[1] = "--SingleUserNotebookApp.default_url=/tree";
  expected.env.JUPYTERHUB_DEFAULT_URL = "/tree";
  // Fix: LTIContainerSpawner dropped the unit (Memory 300, which Docker refuses); 300MiB is 314572800 bytes.
  expected.Memory = 314572800;
  expected.env.MEM_LIMIT = "314572800";
  check(
    t,
    "student1",
    launch([
      ["lms_actlimit", "3600 s"],
      ["lms_defurl", "/tree"],
      ["lms_memlimit", "300MiB"],
    ]),
    expected,
  );
});

t.test("T09: task, personal and submit volumes for everyone", async (t) => {
  const expected = defaultOutput("student1", 76);
  expected.Binds.push(volumeBind("student1", RSA), volumeBind("student1", REP));
  expected.env.NB_VOLUMES = `.volumes/${RSA}:-RSA課題用`;
  expected.env.NB_SUBMITS = `.volumes/${REP}:Report`;
  expected.env.NB_PRSNALS = `.volumes/lms_prs_rsa_219_${HOST}:RSA課題用`;
  check(
    t,
    "student1",
    launch([
      ["lms_users", "*"],
      ["lms_vol_rsa", "-RSA課題用"],
      ["lms_prs_rsa", "RSA課題用"],
      ["lms_sub_rep", "Report"],
    ]),
    expected,
  );
});

t.test("T10: a student not in lms_users sees no volume", async (t) => {
  const expected = defaultOutput("student9", 99);
  check(
    t,
    "student9",
    launch([
      ["user_id", "99"],
      ["lms_users", "student1,student2"],
      ["lms_vol_rsa", "RSA"],
      ["lms_sub_rep", "Report"],
    ]),
    expected,
  );
});

t.test("T11: another Moodle, and volumes with their own user lists", async (t) => {
  const lms = "lms.example.org";
  const expected = defaultOutput("teacher1", 5);
  expected.name = `jupyterhub-7-31-${lms}-${SUFFIX}-teacher1`;
  expected.env.NB_HOSTNAME = lms;
  expected.env.LTI_CTR_ID = "4";
  expected.env.LTI_ID = "31";
  expected.env.NB_TEACHER = "teacher1";
  expected.env.NB_UMASK = "0033";
  // Fix: LTIContainerSpawner hid `a` (listed for alice and bob only) from the teacher; teachers see every volume.
  expected.Binds.push(
    volumeBind("teacher1", `lms_vol_a_7_${lms}`),
    volumeBind("teacher1", `lms_vol_b_7_${lms}`),
    volumeBind("teacher1", `lms_vol_c_7_${lms}`),
  );
  expected.env.NB_VOLUMES = [
    `.volumes/lms_vol_a_7_${lms}:DataA`,
    `.volumes/lms_vol_b_7_${lms}:DataB`,
    `.volumes/lms_vol_c_7_${lms}:DataC`,
  ].join(" ");
  check(
    t,
    "teacher1",
    launch([
      ["context_id", "7"],
      ["user_id", "5"],
      ["lis_outcome_service_url", `http://${lms}:8080/moodle/mod/lti/service.php`],
      ["lms_sessioninfo", "4,31"],
      ["lms_teachers", "teacher1"],
      ["lms_vol_a", "DataA:alice,bob"],
      ["lms_vol_b", "DataB:*"],
      ["lms_vol_c", "DataC"],
    ]),
    expected,
  );
  const alice = plan(
    "alice",
    launch([
      ["lms_vol_a", "DataA:alice,bob"],
      ["lms_vol_c", "DataC"],
    ]),
  );
  t.same(
    alice.create.HostConfig.Binds.slice(1),
    [volumeBind("alice", `lms_vol_a_219_${HOST}`)],
    "a student named in a volume's own list sees it without lms_users",
  );
});

t.test("T12: a submit volume past its close time is hidden from students", async (t) => {
  const fin = `lms_sub_fin_219_${HOST}`;
  const expected = defaultOutput("student1", 76);
  expected.Binds.push(volumeBind("student1", fin));
  expected.env.NB_SUBMITS = `.volumes/${fin}:Final`;
  check(
    t,
    "student1",
    launch([
      ["lms_users", "*"],
      ["lms_sub_rep", "Report"],
      ["lms_sub_rep_close", "1700000000"],
      ["lms_sub_fin", "Final"],
      ["lms_sub_fin_close", "4102444800"],
    ]),
    expected,
  );
});

t.test("T13: teachers ignore close times", async (t) => {
  const expected = defaultOutput("teacher1", 5);
  expected.env.NB_TEACHER = "teacher1";
  expected.env.NB_UMASK = "0033";
  expected.Binds.push(volumeBind("teacher1", REP));
  expected.env.NB_SUBMITS = `.volumes/${REP}:Report`;
  check(
    t,
    "teacher1",
    launch([
      ["user_id", "5"],
      ["lms_teachers", "teacher1"],
      ["lms_sub_rep", "Report"],
      ["lms_sub_rep_close", "1700000000"],
    ]),
    expected,
  );
});

t.test("T15: without an outcome or server URL the host is localhost", async (t) => {
  const volume = "lms_vol_x_219_localhost";
  const expected = defaultOutput("student1", 76);
  expected.name = `jupyterhub-219-12-localhost-${SUFFIX}-student1`;
  expected.env.NB_HOSTNAME = "localhost";
  expected.Binds.push(volumeBind("student1", volume));
  expected.env.NB_VOLUMES = `.volumes/${volume}:X`;
  check(
    t,
    "student1",
    launch([
      ["lis_outcome_service_url", null],
      ["lms_users", "*"],
      ["lms_vol_x", "X"],
    ]),
    expected,
  );
});

t.test("T16: the outcome URL's host wins over lms_serverurl in either order", async (t) => {
  const before = launch(
    [["lms_serverurl", "https://other.example.org:443"]],
    [
      ["context_id", "219"],
      ["user_id", "76"],
      ["custom_lms_serverurl", "https://other.example.org:443"],
      ["lis_outcome_service_url", `https://${HOST}/mod/lti/service.php`],
      ["custom_lms_sessioninfo", "3,12"],
    ],
  );
  const after = launch([["lms_serverurl", "https://other.example.org:443"]]);
  check(t, "student1", before, defaultOutput("student1", 76));
  check(t, "student1", after, defaultOutput("student1", 76));
  const onlyServerUrl = plan(
    "student1",
    launch([
      ["lis_outcome_service_url", null],
      ["lms_serverurl", "https://Other.Example.org:443"],
    ]),
  );
  t.equal(onlyServerUrl.name, `jupyterhub-219-12-other.example.org-${SUFFIX}-student1`, "lower-cased");
});

t.test("T18: hostile values", async (t) => {
  const hostile: Array<[string, string]> = [
    ["lms_users", "alice; rm -rf /, student1"],
    ["lms_vol_d", "My Data/$(id):student1"],
    ["lms_options", "doubleargs"],
    ["lms_course", "C\\S 101\n(2024)"],
    ["lms_ltiname", "Lab 1"],
    ["lms_iframe", "1"],
    ["lms_rpctoken", "abcdef"],
    ["lms_serverpath", "/moodle"],
  ];
  // Fix: LTIContainerSpawner mangled the link into `MyDataid`; a space, `$` or parentheses in a link name are
  // not something Moodle sends (it removes them), so the launch is refused.
  const refused = refusal("student1", launch(hostile));
  t.equal(refused.code, "LAUNCH_UNSAFE_VALUE");
  t.equal(refused.field, "custom_lms_vol_d");

  // The same volume as Moodle sends it (Moodle removed the space, `$`, `(` and `)`; the spawner removes `/`)
  // gives LTIContainerSpawner's output.
  const volume = `lms_vol_d_219_${HOST}`;
  const expected = defaultOutput("student1", 76);
  expected.Binds.push(volumeBind("student1", volume));
  expected.env.NB_VOLUMES = `.volumes/${volume}:MyDataid`;
  expected.env.NB_OPTION = "doubleargs";
  expected.env.LTI_COURSE = "C\\S 101(2024)";
  expected.env.LTI_NAME = "Lab 1";
  const asMoodleSends = hostile.map(([key, value]): [string, string] =>
    key === "lms_vol_d" ? [key, "MyData/id:student1"] : [key, value],
  );
  check(t, "student1", launch(asMoodleSends), expected);
});

t.test("T19: notice files on the host are bound read-only", async (t) => {
  const expected = defaultOutput("student1", 76);
  for (const file of ["notice_memory.txt", "notice_active.txt", "notice_sticky.txt"]) {
    expected.Binds.push(`/usr/local/etc/ltictr/${file}:/home/others/student1/jupyter/works/.${file}:ro`);
  }
  check(t, "student1", launch(), expected, { noticeFiles: true });
});

t.test("T22: values that crashed LTIContainerSpawner are refused, naming the field", async (t) => {
  const cases: Array<[string, Array<[string, string]>, string, string]> = [
    ["a", [["lms_cpulimit", "1.2.3"]], "custom_lms_cpulimit", "LAUNCH_INVALID_VALUE"],
    ["b", [["lms_sessioninfo", "3"]], "custom_lms_sessioninfo", "LAUNCH_INVALID_VALUE"],
    [
      "c",
      [
        ["lms_users", "*"],
        ["lms_sub_rep", "Report"],
        ["lms_sub_rep_close", ""],
      ],
      "custom_lms_sub_rep_close",
      "LAUNCH_INVALID_VALUE",
    ],
    ["d", [["user_id", "abc"]], "user_id", "LAUNCH_INVALID_VALUE"],
    [
      "e",
      [
        ["context_id", "C{1}"],
        ["lms_users", "*"],
        ["lms_vol_x", "X"],
      ],
      "context_id",
      "LAUNCH_UNSAFE_VALUE",
    ],
  ];
  for (const [label, extra, field, code] of cases) {
    const refused = refusal("student1", launch(extra));
    t.equal(refused.field, field, `(${label}) field`);
    t.equal(refused.code, code, `(${label}) code`);
    t.match(refused.message, new RegExp(`^${field}: `), `(${label}) the message starts with the field`);
    t.notMatch(refused.message, /\n/, `(${label}) one line`);
  }
  // LTIContainerSpawner only parsed the close time for students; a broken deadline is refused for teachers too,
  // so the teacher who set it sees the error.
  const teacher = refusal(
    "teacher1",
    launch([
      ["lms_teachers", "teacher1"],
      ["lms_sub_rep", "Report"],
      ["lms_sub_rep_close", "soon"],
    ]),
  );
  t.equal(teacher.field, "custom_lms_sub_rep_close");
});

t.test("T23: an IPv6 host cannot be part of container and volume names", async (t) => {
  // Fix: LTIContainerSpawner produced the container name `jupyterhub-5-2-::1-…` (refused by Docker) and a
  // volume bind cut at the first `:`.
  const refused = refusal(
    "student1",
    launch([
      ["context_id", "5"],
      ["user_id", "1"],
      ["lms_sessioninfo", "1,2"],
      ["lis_outcome_service_url", "https://[::1]:8443/mod/lti/service.php"],
      ["lms_users", "*"],
      ["lms_vol_q", "Q"],
    ]),
  );
  t.equal(refused.field, "lis_outcome_service_url");
  t.equal(refused.code, "LAUNCH_UNSAFE_VALUE");
});

t.test("T24: a launch without parameters", async (t) => {
  // Fix: without auth state LTIContainerSpawner ran the user as uid 29999 (30000 − 1), shared by every such
  // user. Without a user_id and a host account there is no uid to run as: refused.
  const refused = refusal("student1", new Map());
  t.equal(refused.field, "user_id");
  t.equal(refused.code, "LAUNCH_MISSING_VALUE");

  // With only a user id, the other values take LTIContainerSpawner's launch defaults: course 0, session 0,0 and
  // host localhost (the empty host of the Python output came from skipping the launch entirely).
  const result = plan("student1", new Map([["user_id", "76"]]));
  t.equal(result.name, `jupyterhub-0-0-localhost-${SUFFIX}-student1`);
  t.match(envOf(result), { NB_HOSTNAME: "localhost", LTI_CTR_ID: "0", LTI_ID: "0", NB_UID: "30076" });
});

t.test("T25: every launch starts from the policy's defaults", async (t) => {
  // Fix: LTIContainerSpawner kept the first launch's image, limits, start page and activity limit for the
  // second launch of the same user (another course); each plan depends on its launch only.
  const options = { policy: { imageAllowList: ["jupyter/minimal-notebook"] } };
  const first = plan(
    "student1",
    launch([
      ["lms_image", "jupyter/minimal-notebook"],
      ["lms_memlimit", "314572800"],
      ["lms_cpulimit", "2"],
      ["lms_defurl", "/tree"],
      ["lms_actlimit", "1800"],
    ]),
    options,
  );
  t.equal(first.create.Image, "jupyter/minimal-notebook");
  t.equal(first.create.HostConfig.Memory, 314572800);
  t.equal(first.create.HostConfig.CpuQuota, 200000);
  t.ok(first.create.Env.includes("JUPYTERHUB_DEFAULT_URL=/tree"));
  t.ok(first.create.Env.includes("NB_ACTLIMIT=1800"));

  const second = launch([
    ["context_id", "220"],
    ["lms_sessioninfo", "3,13"],
  ]);
  const expected = defaultOutput("student1", 76);
  expected.name = `jupyterhub-220-13-${HOST}-${SUFFIX}-student1`;
  expected.env.LTI_ID = "13";
  check(t, "student1", second, expected, options);
});
