import type { AccountResolver } from "../host/account-resolver.js";
import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import { LaunchRefused, quoted } from "./launch-refused.js";
import { ACCOUNT_NAME, MAX_ACCOUNT_ID } from "./names.js";
import type { LaunchCommands, LaunchValue } from "./parameter-dispatch.js";

/** Who the container runs for, and where its files live. */
export interface Identity {
  userName: string;
  uid: number;
  gid: number;
  groupName: string;
  /** The home on the host, bound at the same path in the container. */
  home: string;
  /** `<home>/jupyter/works`: the notebooks, the volume links and the notice files. */
  workDir: string;
  teacher: boolean;
}

export const WORK_SUBDIR = "jupyter/works";

export interface IdentityInput {
  userName: string;
  commands: LaunchCommands;
  teachers: readonly string[];
  accounts: AccountResolver;
  policy: SpawnerPolicy;
}

/**
 * The user's uid, gid and group, first from the host's accounts, then from the Moodle server's POSIX account
 * (the `ext_user_*` fields a patched Moodle core sends), then derived: uid `baseUid + user_id`, the default
 * group's gid if the host has that group, else `baseUid`. A teacher is a user named in `lms_teachers` (the LTI
 * roles are not consulted).
 */
export function resolveIdentity({ userName, commands, teachers, accounts, policy }: IdentityInput): Identity {
  if (!ACCOUNT_NAME.test(userName)) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      "user",
      `${quoted(userName)} cannot be a user name in the container (letters, digits, _ . @ -)`,
    );
  }
  const { extension } = commands;
  const hostUser = accounts.userByName(userName);
  // Every value is checked, even one a host account makes unnecessary.
  const moodleUid = commands.userId ? uidOfMoodleUser(commands.userId, policy) : undefined;
  const extensionUid = readAccountId(extension.extUserId);
  const uid = hostUser?.uid ?? extensionUid ?? moodleUid ?? missingUid(userName);
  const extensionGid = readAccountId(extension.extGroupId);
  const extensionGroupName = readGroupName(extension.extGroupName);
  const gid =
    hostUser?.gid ?? extensionGid ?? accounts.groupByName(policy.defaultGroup)?.gid ?? policy.baseUid;
  const groupName = accounts.groupById(gid)?.name ?? extensionGroupName ?? policy.defaultGroup;
  if (!ACCOUNT_NAME.test(groupName)) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      "group",
      `the group name ${quoted(groupName)} cannot be used in the container`,
    );
  }
  const home = policy.homeTemplate.replaceAll("{groupname}", groupName).replaceAll("{username}", userName);
  return {
    userName,
    uid,
    gid,
    groupName,
    home,
    workDir: `${home}/${WORK_SUBDIR}`,
    teacher: teachers.includes(userName),
  };
}

/** `baseUid` + the Moodle user id. */
function uidOfMoodleUser(userId: LaunchValue, policy: SpawnerPolicy): number {
  const uid = policy.baseUid + readNumber(userId);
  if (uid > MAX_ACCOUNT_ID) {
    throw new LaunchRefused(
      "LAUNCH_OUT_OF_RANGE",
      userId.field,
      `${quoted(userId.value)} gives a uid beyond 2^32 − 2`,
    );
  }
  return uid;
}

function missingUid(userName: string): never {
  // LTIContainerSpawner ran every such user as uid baseUid − 1, all sharing one uid.
  throw new LaunchRefused(
    "LAUNCH_MISSING_VALUE",
    "user_id",
    `the launch has no user_id and the host has no account ${quoted(userName)}: no uid to run as`,
  );
}

function readAccountId(launchValue: LaunchValue | undefined): number | undefined {
  if (!launchValue || launchValue.value.trim() === "") return undefined;
  const id = readNumber(launchValue);
  if (id > MAX_ACCOUNT_ID) {
    throw new LaunchRefused(
      "LAUNCH_OUT_OF_RANGE",
      launchValue.field,
      `${quoted(launchValue.value)} is beyond 2^32 − 2`,
    );
  }
  return id;
}

function readNumber({ field, value }: LaunchValue): number {
  const text = value.trim();
  if (!/^[0-9]+$/u.test(text)) {
    throw new LaunchRefused("LAUNCH_INVALID_VALUE", field, `${quoted(value)} is not a number`);
  }
  return Number(text);
}

function readGroupName(launchValue: LaunchValue | undefined): string | undefined {
  const name = launchValue?.value.trim() ?? "";
  if (name === "") return undefined;
  if (!ACCOUNT_NAME.test(name)) {
    throw new LaunchRefused("LAUNCH_UNSAFE_VALUE", launchValue!.field, `${quoted(name)} is not a group name`);
  }
  return name;
}
