import type { LaunchParameters } from "../../src/lti/lti-launch.js";
import { MemoryAccounts, type AccountResolver } from "../../src/spawner/host/account-resolver.js";
import { planContainer, type ContainerPlan, type PlanInput } from "../../src/spawner/plan/plan-container.js";
import { DEFAULT_SPAWNER_POLICY, type SpawnerPolicy } from "../../src/spawner/policy/spawner-policy.js";

/**
 * Launches and plans in the shape of LTIContainerSpawner's test vectors: a base launch from Moodle course 219 on
 * el.mml.tuis.ac.jp (mod_lticontainer instance 3, LTI activity 12), a host without accounts for the test users,
 * without the group `others`, and without notice files unless asked.
 */
export const HOST = "el.mml.tuis.ac.jp";
export const SUFFIX = "Ab3dE5g7";
/** 2026-06-24, when the vectors were run. */
export const VECTOR_TIME_MS = Date.UTC(2026, 5, 24, 12);

export const BASE_LAUNCH: ReadonlyArray<readonly [string, string]> = [
  ["context_id", "219"],
  ["user_id", "76"],
  ["lis_outcome_service_url", `https://${HOST}/mod/lti/service.php`],
  ["custom_lms_sessioninfo", "3,12"],
];

/**
 * The base launch with `extra` applied in order: a key of the base is replaced in place, `null` removes it, a
 * new key is appended. `lms_*` keys get their `custom_` prefix, as the vectors write them without it.
 */
export function launch(
  extra: ReadonlyArray<readonly [string, string | null]> = [],
  base: ReadonlyArray<readonly [string, string]> = BASE_LAUNCH,
): LaunchParameters {
  const parameters = new Map<string, string>(base);
  for (const [key, value] of extra) {
    const name = key.startsWith("lms_") ? `custom_${key}` : key;
    if (value === null) parameters.delete(name);
    else parameters.set(name, value);
  }
  return parameters;
}

export interface PlanOptions {
  policy?: Partial<SpawnerPolicy>;
  accounts?: AccountResolver;
  noticeFiles?: boolean;
  nowMs?: number;
  hub?: PlanInput["hub"];
}

export function plan(
  userName: string,
  parameters: LaunchParameters,
  options: PlanOptions = {},
): ContainerPlan {
  return planContainer({
    parameters,
    userName,
    policy: { ...DEFAULT_SPAWNER_POLICY, ...options.policy },
    accounts: options.accounts ?? new MemoryAccounts(),
    hostFiles: { isFile: () => options.noticeFiles ?? false },
    now: () => options.nowMs ?? VECTOR_TIME_MS,
    randomSuffix: () => SUFFIX,
    hub: options.hub,
  });
}

/** A plan's `Env` as a record, failing on a repeated name. */
export function envOf(plan: ContainerPlan): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of plan.create.Env) {
    const at = entry.indexOf("=");
    const name = entry.slice(0, at);
    if (name in env) throw new Error(`${name} appears twice in Env`);
    env[name] = entry.slice(at + 1);
  }
  return env;
}

/** The work folder's volume mount point. */
export const volumeTarget = (user: string, volume: string) =>
  `/home/others/${user}/jupyter/works/.volumes/${volume}`;

/** The bind of a named volume, as LTIContainerSpawner writes it. */
export const volumeBind = (user: string, volume: string) => `${volume}:${volumeTarget(user, volume)}:rw`;

/**
 * The vectors' default output "D" for user `user` with LTI user id `userId`: what every row of the vector table
 * changes, as the fields the plan must reproduce.
 */
export function defaultOutput(user: string, userId: number) {
  const home = `/home/others/${user}`;
  return {
    name: `jupyterhub-219-12-${HOST}-${SUFFIX}-${user}`,
    Image: "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser",
    Cmd: [
      "start-notebook.sh",
      "--SingleUserNotebookApp.default_url=/lab",
      "--ContentsManager.allow_hidden=True",
      "--ServerApp.allow_hidden=True",
      '--ServerApp.tornado_settings={"page_config_data":{"jnotice":{"path":"jupyter/works/.jnotice.txt","stickyPath":"jupyter/works/.jnotice.sticky.txt","pollMs":60000}}}',
    ],
    Binds: [`${home}:${home}:rw`],
    Memory: 1073741824,
    CpuPeriod: 100000,
    CpuQuota: 100000 as number | undefined,
    env: {
      MEM_LIMIT: "1073741824",
      CPU_LIMIT: "1.0",
      JUPYTERHUB_ROOT_DIR: home,
      JUPYTERHUB_DEFAULT_URL: "/lab",
      GRANT_SUDO: "no",
      PRJCT_DIR: "jupyter",
      WORK_DIR: "works",
      VOLUME_DIR: ".volumes",
      NB_UMASK: "0037",
      CONDA_DIR: "/opt/conda",
      CHOWN_HOME: "yes",
      CHOWN_HOME_OPTS: "-R",
      USER_HOME: home,
      JUPYTER_CONFIG_DIR: `${home}/.jupyter`,
      JUPYTER_DATA_DIR: `${home}/.local/share/jupyter`,
      JUPYTER_RUNTIME_DIR: `${home}/.local/share/jupyter/runtime`,
      XDG_CACHE_HOME: `${home}/.cache`,
      XDG_RUNTIME_DIR: `${home}/.local/share/jupyter/runtime`,
      TZ: "JST-9",
      JUPYTER_IMAGE_SPEC: "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser",
      NB_UID: String(30000 + userId),
      NB_USER: user,
      NB_GID: "30000",
      NB_GROUP: "others",
      NB_DIR: home,
      NB_WRKDIR: `${home}/jupyter/works`,
      NB_ACTLIMIT: "6000",
      NB_THRGID: "7000",
      NB_THRGROUP: "TEACHER",
      NB_OPTION: "",
      NB_HOSTNAME: HOST,
      NB_TEACHER: "",
      NB_VOLUMES: "",
      NB_SUBMITS: "",
      NB_PRSNALS: "",
      LTI_CTR_ID: "3",
      LTI_ID: "12",
      LTI_COURSE: "",
      LTI_NAME: "",
    } as Record<string, string | undefined>,
  };
}

export type ExpectedOutput = ReturnType<typeof defaultOutput>;

/** The fields of a plan that the vectors compare, in the shape of `defaultOutput`. */
export function comparedFields(result: ContainerPlan): ExpectedOutput {
  return {
    name: result.name,
    Image: result.create.Image,
    Cmd: result.create.Cmd,
    Binds: result.create.HostConfig.Binds,
    Memory: result.create.HostConfig.Memory,
    CpuPeriod: result.create.HostConfig.CpuPeriod,
    CpuQuota: result.create.HostConfig.CpuQuota,
    env: envOf(result),
  };
}

/** `expected` without the variables set to `undefined` (the variables that must be absent). */
export function withoutUnset(expected: ExpectedOutput): ExpectedOutput {
  const env = Object.fromEntries(Object.entries(expected.env).filter(([, value]) => value !== undefined));
  return { ...expected, env };
}
