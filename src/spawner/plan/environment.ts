import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import type { Identity } from "./identity.js";
import type { LaunchFields } from "./launch-fields.js";
import { LaunchRefused, quoted } from "./launch-refused.js";
import { ENVIRONMENT_NAME } from "./names.js";
import type { ResourceLimits } from "./resource-limits.js";
import type { UserVolumes, VisibleVolume } from "./volumes.js";

/**
 * Variables the plan computes. JupyterHub's own values for them (from its spawner settings) are dropped: the
 * plan's limits, home, start page and image are the ones the container gets.
 */
const HUB_VARIABLES_THE_PLAN_SETS = new Set([
  "MEM_LIMIT",
  "MEM_GUARANTEE",
  "CPU_LIMIT",
  "CPU_GUARANTEE",
  "JUPYTERHUB_ROOT_DIR",
  "JUPYTERHUB_DEFAULT_URL",
  "JUPYTER_IMAGE_SPEC",
]);

/** Variables of the policy's environment that the plan sets from its own settings. */
export const POLICY_VARIABLES_THE_PLAN_SETS = new Set([
  ...HUB_VARIABLES_THE_PLAN_SETS,
  "PRJCT_DIR",
  "WORK_DIR",
  "VOLUME_DIR",
  "NB_UID",
  "NB_USER",
  "NB_GID",
  "NB_GROUP",
  "NB_DIR",
  "NB_WRKDIR",
  "NB_ACTLIMIT",
  "NB_THRGID",
  "NB_THRGROUP",
  "NB_OPTION",
  "NB_HOSTNAME",
  "NB_TEACHER",
  "NB_VOLUMES",
  "NB_SUBMITS",
  "NB_PRSNALS",
  "LTI_CTR_ID",
  "LTI_ID",
  "LTI_COURSE",
  "LTI_NAME",
]);

export interface EnvironmentInput {
  /** What JupyterHub passes to a spawner (`Spawner.get_env()`: API token, URLs, OAuth client, …). */
  hubEnvironment: Readonly<Record<string, string>>;
  policy: SpawnerPolicy;
  identity: Identity;
  limits: ResourceLimits;
  image: string;
  fields: LaunchFields;
  host: string;
  volumes: UserVolumes;
}

/**
 * The container's environment, in the order LTIContainerSpawner builds it: JupyterHub's variables with the
 * limits, home and start page; the policy's environment; the image; then the variables the image's start
 * script reads (`NB_*`: account, folders, role, volumes; `LTI_*`: the activity). A later value of the same
 * name replaces the earlier one in place (teachers' `NB_UMASK` is `0033`, students keep the policy's).
 */
export function containerEnvironment(input: EnvironmentInput): string[] {
  const { policy, identity, limits, fields, volumes } = input;
  const env = new Map<string, string>();
  for (const [name, value] of Object.entries(input.hubEnvironment)) {
    checkHubVariable(name, value);
    if (!HUB_VARIABLES_THE_PLAN_SETS.has(name)) env.set(name, value);
  }
  if (limits.memLimit) env.set("MEM_LIMIT", String(limits.memLimit));
  if (limits.memGuarantee) env.set("MEM_GUARANTEE", String(limits.memGuarantee));
  if (limits.cpuLimit) env.set("CPU_LIMIT", pythonFloat(limits.cpuLimit));
  if (limits.cpuGuarantee) env.set("CPU_GUARANTEE", pythonFloat(limits.cpuGuarantee));
  env.set("JUPYTERHUB_ROOT_DIR", identity.home);
  env.set("JUPYTERHUB_DEFAULT_URL", fields.defaultUrl);

  for (const [name, value] of Object.entries(policy.environment)) {
    env.set(name, value.replaceAll("{home}", identity.home));
  }
  env.set("PRJCT_DIR", "jupyter");
  env.set("WORK_DIR", "works");
  env.set("VOLUME_DIR", policy.volumesDir);
  env.set("JUPYTER_IMAGE_SPEC", input.image);

  env.set("NB_UID", String(identity.uid));
  env.set("NB_USER", identity.userName);
  env.set("NB_GID", String(identity.gid));
  env.set("NB_GROUP", identity.groupName);
  env.set("NB_DIR", identity.home);
  env.set("NB_WRKDIR", identity.workDir);
  env.set("NB_ACTLIMIT", String(limits.actLimit));
  env.set("NB_THRGID", String(policy.teacherGid));
  env.set("NB_THRGROUP", policy.teacherGroup);
  env.set("NB_OPTION", fields.options);
  env.set("NB_HOSTNAME", input.host);
  if (identity.teacher) env.set("NB_UMASK", "0033");
  env.set("NB_TEACHER", identity.teacher ? identity.userName : "");
  env.set("NB_VOLUMES", volumeList(volumes.task, policy));
  env.set("NB_SUBMITS", volumeList(volumes.submit, policy));
  env.set("NB_PRSNALS", volumeList(volumes.personal, policy));
  env.set("LTI_CTR_ID", fields.instanceId);
  env.set("LTI_ID", fields.ltiId);
  env.set("LTI_COURSE", fields.courseName);
  env.set("LTI_NAME", fields.activityName);
  return [...env].map(([name, value]) => `${name}=${value}`);
}

/** `<volumes dir>/<volume name>:<link>` for each volume, space-separated, as the start script parses them. */
function volumeList(volumes: readonly VisibleVolume[], policy: SpawnerPolicy): string {
  return volumes.map(({ name, link }) => `${policy.volumesDir}/${name}:${link}`).join(" ");
}

/**
 * A CPU count as Python prints a float (`1.0`, `0.5`, `0.29`): the notebook server's resource display reads
 * these variables as JupyterHub writes them. Within the policy's bounds (0.01 to a few hundred CPUs) Python's
 * and JavaScript's shortest round-trip forms agree apart from the `.0` of whole numbers.
 */
function pythonFloat(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

function checkHubVariable(name: string, value: string): void {
  if (!ENVIRONMENT_NAME.test(name)) {
    throw new LaunchRefused(
      "LAUNCH_INVALID_VALUE",
      "hub environment",
      `${quoted(name)} is not a variable name`,
    );
  }
  // The value may be a token: never quoted.
  if (typeof value !== "string" || value.includes("\0")) {
    throw new LaunchRefused("LAUNCH_INVALID_VALUE", "hub environment", `the value of ${name} is not a text`);
  }
}
