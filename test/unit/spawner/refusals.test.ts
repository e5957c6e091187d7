/**
 * Forged launches: every value the plan would put into a name, a path, the command line or the engine's limits
 * is refused with the field named, before anything is created.
 */
import t from "tap";
import { LaunchRefused } from "../../../src/spawner/plan/launch-refused.js";
import { launch, plan } from "../../support/spawner-launch.js";

function refusal(extra: Array<[string, string | null]>, user = "student1"): LaunchRefused {
  try {
    plan(user, launch(extra));
  } catch (error) {
    if (error instanceof LaunchRefused) return error;
    throw error;
  }
  throw new Error(`not refused: ${JSON.stringify(extra)}`);
}

t.test("shell metacharacters", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["lms_image", "alpine; rm -rf /", "custom_lms_image"],
    ["lms_image", "jupyterhub$(id)", "custom_lms_image"],
    ["lms_defurl", "/lab;reboot", "custom_lms_defurl"],
    ["lms_defurl", "/lab --ServerApp.token=", "custom_lms_defurl"],
    ["lms_defurl", "lab", "custom_lms_defurl"],
    ["lms_options", "$(id)", "custom_lms_options"],
    ["lms_vol_x", "`id`:*", "custom_lms_vol_x"],
    ["lms_sub_x", "a|b", "custom_lms_sub_x"],
    ["lms_prs_x", "a&&b", "custom_lms_prs_x"],
    ["context_id", "219;id", "context_id"],
    ["context_id", "", "context_id"],
    ["lms_sessioninfo", "3,12;id", "custom_lms_sessioninfo"],
    ["lms_sessioninfo", "3,12,13", "custom_lms_sessioninfo"],
    ["lms_course", "Course\u0000x", "custom_lms_course"],
    ["lms_ltiname", "\u001b[31mred", "custom_lms_ltiname"],
    ["lis_outcome_service_url", "https://a.example;id/x", "lis_outcome_service_url"],
    ["lis_outcome_service_url", "not a url", "lis_outcome_service_url"],
    ["ext_user_groupname", "grp;id", "ext_user_groupname"],
  ];
  for (const [key, value, field] of cases) {
    const error = refusal([[key, value]]);
    t.equal(error.field, field, `${key}=${JSON.stringify(value)}`);
    t.match(error.message, new RegExp(`^${field}: [^\\n]+$`));
  }
  t.equal(refusal([], "student1;id").field, "user");
  t.equal(refusal([], "$(id)").field, "user");
});

t.test("path traversal", async (t) => {
  for (const key of ["lms_vol_../../../etc", "lms_sub_..", "lms_prs_../../root", "lms_vol_a/b"]) {
    const error = refusal([
      ["lms_users", "*"],
      [key, "Data"],
    ]);
    t.strictSame([error.field, error.code], [`custom_${key}`, "LAUNCH_UNSAFE_VALUE"], key);
  }
  t.equal(refusal([["lms_vol_x", "..:*"]]).field, "custom_lms_vol_x", "link name ..");
  t.equal(refusal([], "..").field, "user", "user name ..");
  t.equal(refusal([["ext_user_groupname", ".."]]).field, "ext_user_groupname", "group name ..");
});

t.test("huge limits", async (t) => {
  for (const [key, value] of [
    ["lms_cpulimit", "64"],
    ["lms_memlimit", "1,099,511,627,776"],
    ["lms_memlimit", "1TiB"],
    ["lms_actlimit", "31536000"],
    ["lms_cpugrnt", "999"],
    ["user_id", "99999999999999"],
  ] as const) {
    const error = refusal([[key, value]]);
    t.equal(error.code, "LAUNCH_OUT_OF_RANGE", `${key}=${value}`);
  }
});

t.test("unknown images", async (t) => {
  for (const image of [
    "docker.io/library/alpine",
    "evil.example/jupyter-miner:1",
    "jupyter/minimal-notebook",
  ]) {
    const error = refusal([["lms_image", image]]);
    t.strictSame([error.field, error.code], ["custom_lms_image", "LAUNCH_IMAGE_NOT_ALLOWED"], image);
  }
});

t.test("refusals never repeat JupyterHub's token", async (t) => {
  let error: unknown;
  try {
    plan("student1", launch(), { hub: { environment: { "BAD NAME": "secret-token-value" } } });
  } catch (caught) {
    error = caught;
  }
  t.type(error, LaunchRefused);
  t.notMatch((error as Error).message, "secret-token-value");
  try {
    plan("student1", launch(), { hub: { environment: { JUPYTERHUB_API_TOKEN: "secret\u0000token" } } });
  } catch (caught) {
    error = caught;
  }
  t.match((error as Error).message, "JUPYTERHUB_API_TOKEN");
  t.notMatch((error as Error).message, "secret");
});
