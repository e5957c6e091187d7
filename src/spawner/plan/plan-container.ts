import type { LaunchParameters } from "../../lti/lti-launch.js";
import type { AccountResolver } from "../host/account-resolver.js";
import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import type { PlannedCreateBody } from "../container-create.js";
import { containerName, randomNameSuffix } from "./container-name.js";
import { containerEnvironment } from "./environment.js";
import { resolveHostName } from "./host-name.js";
import { resolveIdentity, type Identity } from "./identity.js";
import { chooseImage } from "./image-choice.js";
import { readLaunchFields } from "./launch-fields.js";
import { mountPoints, planBinds, type HostFiles } from "./mounts.js";
import { notebookCommand } from "./notebook-command.js";
import { dispatchLaunch } from "./parameter-dispatch.js";
import { readResourceLimits } from "./resource-limits.js";
import { parseUserList } from "./sanitisers.js";
import { visibleVolumes } from "./volumes.js";

/** What JupyterHub itself hands a spawner. */
export interface HubSpawnInput {
  /** `Spawner.get_env()`: API token, OAuth client, URLs, … */
  environment: Readonly<Record<string, string>>;
  /** `Spawner.cmd`, when set; else the policy's command. */
  command?: readonly string[];
  /** `Spawner.args`. */
  args?: readonly string[];
}

export interface PlanInput {
  /** The launch as JupyterHub's LTI authenticator keeps it (every field but `oauth_*`, in form order). */
  parameters: LaunchParameters;
  /** The JupyterHub user name (Moodle's user name, lower-cased). */
  userName: string;
  policy: SpawnerPolicy;
  accounts: AccountResolver;
  /** Which notice files the host has. */
  hostFiles: HostFiles;
  /** Milliseconds since the epoch (submit deadlines). */
  now: () => number;
  /** 8 letters and digits for the container name; random by default. */
  randomSuffix?: () => string;
  hub?: HubSpawnInput;
}

/** A host folder to create, when missing, before the container starts (its home is bound from the host). */
export interface HostDirectory {
  path: string;
  uid: number;
  gid: number;
  mode: number;
}

export interface ContainerPlan {
  /** The `?name=` of `POST /containers/create`. */
  name: string;
  create: PlannedCreateBody;
  /** In this order: the group's folder (the home's parent), the home, `jupyter`, `jupyter/works`. */
  hostDirectories: HostDirectory[];
}

const CPU_PERIOD_MICROSECONDS = 100_000;

/**
 * The container LTIContainerSpawner would create for this launch, computed from the policy and this launch
 * only. Throws `LaunchRefused` (nothing is created) for a value it cannot use safely.
 */
export function planContainer(input: PlanInput): ContainerPlan {
  const { policy } = input;
  const commands = dispatchLaunch(input.parameters);
  const fields = readLaunchFields(commands, policy);
  const host = resolveHostName(commands.hostSources);
  const users = parseUserList(commands.scalars.users?.value ?? "");
  const teachers = parseUserList(commands.scalars.teachers?.value ?? "");
  const identity = resolveIdentity({
    userName: input.userName,
    commands,
    teachers,
    accounts: input.accounts,
    policy,
  });
  const limits = readResourceLimits(commands.scalars, policy);
  const { image, changed: imageChanged } = chooseImage(commands.scalars.image, policy);
  const volumes = visibleVolumes({
    commands,
    userName: identity.userName,
    teacher: identity.teacher,
    users,
    courseId: fields.courseId,
    host,
    nowSeconds: Math.floor(input.now() / 1000),
  });
  const binds = planBinds(identity, volumes, policy, input.hostFiles);
  const port = `${policy.notebookPort}/tcp`;
  return {
    name: containerName({
      courseId: fields.courseId,
      ltiId: fields.ltiId,
      host,
      suffix: (input.randomSuffix ?? randomNameSuffix)(),
      userName: identity.userName,
      imageChanged,
    }),
    create: {
      Image: image,
      Cmd: notebookCommand({
        hubCommand: input.hub?.command,
        hubArgs: input.hub?.args,
        defaultUrl: fields.defaultUrl,
        policy,
      }),
      Env: containerEnvironment({
        hubEnvironment: input.hub?.environment ?? {},
        policy,
        identity,
        limits,
        image,
        fields,
        host,
        volumes,
      }),
      User: policy.runAsRoot ? "root" : `${identity.uid}:${identity.gid}`,
      ExposedPorts: { [port]: {} },
      Volumes: mountPoints(binds),
      HostConfig: {
        Binds: binds,
        Memory: limits.memLimit,
        CpuPeriod: CPU_PERIOD_MICROSECONDS,
        ...(limits.cpuLimit ? { CpuQuota: Math.trunc(limits.cpuLimit * CPU_PERIOD_MICROSECONDS) } : {}),
        PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
        NetworkMode: policy.networkMode,
        Privileged: policy.privileged,
        AutoRemove: true,
      },
    },
    hostDirectories: hostDirectories(identity),
  };
}

function hostDirectories({ home, workDir, uid, gid }: Identity): HostDirectory[] {
  return [
    { path: home.slice(0, home.lastIndexOf("/")) || "/", uid: 0, gid, mode: 0o755 },
    { path: home, uid, gid, mode: 0o700 },
    { path: workDir.slice(0, workDir.lastIndexOf("/")), uid, gid, mode: 0o700 },
    { path: workDir, uid, gid, mode: 0o700 },
  ];
}
