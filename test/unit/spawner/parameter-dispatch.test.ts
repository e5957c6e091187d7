import t from "tap";
import { dispatchLaunch } from "../../../src/spawner/plan/parameter-dispatch.js";

const dispatch = (entries: Array<[string, string]>) => dispatchLaunch(new Map(entries));
const values = (map: ReadonlyMap<string, { value: string }>) =>
  [...map].map(([key, { value }]) => [key, value]);

t.test("standard fields by exact name", async (t) => {
  const commands = dispatch([
    ["context_id", "219"],
    ["user_id", "76"],
    ["lis_outcome_service_url", "https://m.example/x"],
    ["roles", "Instructor"],
    ["context_id_x", "1"],
  ]);
  t.strictSame(commands.contextId, { field: "context_id", value: "219" });
  t.strictSame(commands.userId, { field: "user_id", value: "76" });
  t.strictSame(commands.hostSources, [
    { field: "lis_outcome_service_url", value: "https://m.example/x", kind: "outcome-url" },
  ]);
});

t.test("exact and prefix commands", async (t) => {
  const commands = dispatch([
    ["custom_lms_teachersX", "t1"],
    ["custom_lms_image_x", "evil"],
    ["custom_lms_defurl_x", "/evil"],
    ["custom_lms_users2", "u2"],
    ["custom_lms_cpulimit_old", "3"],
    ["custom_lms_memlimitX", "1G"],
    ["custom_lms_actlimit2", "60"],
    ["custom_lms_sessioninfoX", "1,2"],
    ["custom_lms_coursename", "C"],
    ["custom_lms_ltinameX", "L"],
    ["custom_lms_optionsX", "o"],
    ["custom_lms_cpugrntX", "0.5"],
    ["custom_lms_memgrntX", "1"],
    ["lms_image", "bare names are not custom parameters"],
  ]);
  t.strictSame(
    Object.fromEntries(Object.entries(commands.scalars).map(([name, { field }]) => [name, field])),
    {
      teachers: "custom_lms_teachersX",
      cpuLimit: "custom_lms_cpulimit_old",
      memLimit: "custom_lms_memlimitX",
      actLimit: "custom_lms_actlimit2",
      sessionInfo: "custom_lms_sessioninfoX",
      course: "custom_lms_coursename",
      ltiName: "custom_lms_ltinameX",
      options: "custom_lms_optionsX",
      cpuGuarantee: "custom_lms_cpugrntX",
      memGuarantee: "custom_lms_memgrntX",
    },
    "lms_image_x, lms_defurl_x and lms_users2 ignored",
  );
});

t.test("a later parameter for the same command replaces an earlier one", async (t) => {
  const commands = dispatch([
    ["custom_lms_cpulimit", "1"],
    ["custom_lms_cpulimit_2", "2"],
    ["custom_lms_image", "a"],
    ["custom_custom_lms_image", "b"],
    ["custom_lms_vol_x", "first"],
    ["custom_lms_vol_y", "Y"],
    ["custom_lms_vol_custom_x", "second"],
  ]);
  t.equal(commands.scalars.cpuLimit?.value, "2");
  t.equal(commands.scalars.image?.value, "b");
  t.strictSame(
    values(commands.taskVolumes),
    [
      ["lms_vol_x", "second"],
      ["lms_vol_y", "Y"],
    ],
    "custom_ is removed everywhere in the name; the volume keeps its first place",
  );
  t.equal(
    commands.taskVolumes.get("lms_vol_x")?.field,
    "custom_lms_vol_custom_x",
    "refusals name the later field",
  );
});

t.test("extension fields with ext_ removed everywhere", async (t) => {
  const commands = dispatch([
    ["ext_user_userid", "1001"],
    ["ext_user_groupid", "100"],
    ["ext_ext_user_groupname", "staff"],
    ["ext_user_username", "bob"],
    ["ext_lms", "moodle"],
  ]);
  t.strictSame(
    Object.fromEntries(Object.entries(commands.extension).map(([name, { value }]) => [name, value])),
    { extUserId: "1001", extGroupId: "100", extGroupName: "staff" },
  );
});

t.test("volumes and close times", async (t) => {
  const commands = dispatch([
    ["custom_lms_vol_", "EmptyName"],
    ["custom_lms_vol_rsa", "-RSA"],
    ["custom_lms_vol_rsa_close", "1700000000"],
    ["custom_lms_prs_rsa", "Mine"],
    ["custom_lms_prs_rsa_close", "1700000000"],
    ["custom_lms_sub_rep", "Report"],
    ["custom_lms_sub_rep_close", "1700000000"],
    ["custom_lms_sub_close", "A volume named close"],
    ["custom_lms_sub_close_close", "1800000000"],
    ["custom_lms_sub__close", "underscore"],
  ]);
  t.strictSame(
    values(commands.taskVolumes),
    [
      ["lms_vol_", "EmptyName"],
      ["lms_vol_rsa", "-RSA"],
    ],
    "an empty name is a volume; a task volume's _close is reserved, not a volume",
  );
  t.strictSame(values(commands.personalVolumes), [["lms_prs_rsa", "Mine"]]);
  t.strictSame(values(commands.submitVolumes), [
    ["lms_sub_rep", "Report"],
    ["lms_sub_close", "A volume named close"],
    ["lms_sub__close", "underscore"],
  ]);
  t.strictSame(values(commands.submitCloses), [
    ["rep", "1700000000"],
    ["close", "1800000000"],
  ]);
});

t.test("parameters the plan does not use", async (t) => {
  const commands = dispatch([
    ["custom_lms_iframe", "1"],
    ["custom_lms_rpctoken", "abcdef"],
    ["custom_lms_serverpath", "/moodle"],
    ["custom_lms_serverurl", "https://m.example:443"],
    ["custom_other", "x"],
  ]);
  t.strictSame(commands.scalars, {});
  t.strictSame(commands.hostSources, [
    { field: "custom_lms_serverurl", value: "https://m.example:443", kind: "server-url" },
  ]);
  t.equal(commands.taskVolumes.size + commands.submitVolumes.size + commands.personalVolumes.size, 0);
});
