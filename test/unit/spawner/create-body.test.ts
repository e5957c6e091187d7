import t from "tap";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SUFFIX, launch, plan } from "../../support/spawner-launch.js";

interface Capture {
  name: string;
  hubEnvironment: Record<string, string>;
  body: Record<string, unknown> & { HostConfig: Record<string, unknown> };
}

const capture = JSON.parse(
  readFileSync(
    fileURLToPath(
      new URL("../../../../test/fixtures/lticontainerspawner-plan/create-teacher1.json", import.meta.url),
    ),
    "utf8",
  ),
) as Capture;

/**
 * docker-py fills every create field; these are its "not set" values (null, false, empty), the engine's
 * defaults, which the plan leaves out. `AttachStdout`/`AttachStderr` only matter to `docker run`'s attach.
 */
const UNSET_BY_THE_PLAN = {
  Hostname: null,
  Domainname: null,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  AttachStdin: false,
  AttachStdout: true,
  AttachStderr: true,
  NetworkDisabled: false,
  Entrypoint: null,
  WorkingDir: null,
  NetworkingConfig: null,
  MacAddress: null,
  Labels: null,
  StopSignal: null,
  Healthcheck: null,
  StopTimeout: null,
  Runtime: null,
};
const HOST_CONFIG_UNSET_BY_THE_PLAN = { Links: [], Mounts: [] };

t.test("the whole create request LTIContainerSpawner made for a teacher's launch", async (t) => {
  const result = plan(
    "teacher1",
    launch([
      ["user_id", "5"],
      ["lms_teachers", "teacher1"],
      ["lms_users", "*"],
      ["lms_vol_rsa", "-RSA"],
      ["lms_sub_rep", "Report"],
      ["lms_prs_rsa", "MyRSA"],
      ["lms_image", "jupyter/minimal-notebook : latest"],
      ["lms_cpulimit", "2"],
      ["lms_memlimit", "2,147,483,648"],
      ["lms_actlimit", "5400"],
      ["lms_defurl", "/lab"],
      ["lms_course", "Crypto 2026"],
      ["lms_ltiname", "RSA Lab"],
    ]),
    {
      // The LTIContainer deployment: root (its start script needs it), privileged, and this image listed.
      policy: { runAsRoot: true, privileged: true, imageAllowList: ["jupyter/minimal-notebook:latest"] },
      noticeFiles: true,
      hub: { environment: capture.hubEnvironment },
    },
  );
  // The image changed, so the user name is escaped — `teacher1` stays `teacher1`.
  t.equal(result.name, capture.name.replace("<R8>", SUFFIX));

  const { HostConfig: expectedHostConfig, ExposedPorts: expectedPorts, ...expectedBody } = capture.body;
  const { HostConfig, ExposedPorts, ...body } = result.create;
  t.strictSame({ ...body, ...UNSET_BY_THE_PLAN }, expectedBody, "Image, Cmd, Env (in order), User, Volumes");
  // docker-py writes an exposed port as null; the Engine API documents an empty object.
  t.strictSame(Object.keys(ExposedPorts), Object.keys(expectedPorts as object));
  t.strictSame(ExposedPorts, { "8888/tcp": {} });
  t.strictSame({ ...HostConfig, ...HOST_CONFIG_UNSET_BY_THE_PLAN }, expectedHostConfig, "HostConfig");
});
