import type { LaunchParameters } from "../../lti/lti-launch.js";

/** One launch value and the parameter that carried it (named in refusals). */
export interface LaunchValue {
  field: string;
  value: string;
}

/** A source of the LMS host name, in launch order (the later rule depends on what came before). */
export interface HostSource extends LaunchValue {
  kind: "outcome-url" | "server-url";
}

/** The scalar mod_lticontainer commands (a later parameter for the same command replaces an earlier one). */
export type ScalarCommand =
  | "image"
  | "users"
  | "teachers"
  | "cpuGuarantee"
  | "memGuarantee"
  | "actLimit"
  | "cpuLimit"
  | "memLimit"
  | "defaultUrl"
  | "options"
  | "sessionInfo"
  | "course"
  | "ltiName";

/** The extension fields Moodle adds when its core is patched to send the Moodle server's POSIX account. */
export type ExtensionCommand = "extUserId" | "extGroupId" | "extGroupName";

/**
 * A launch sorted the way LTIContainerSpawner reads it, before any value is checked. Volume maps are keyed by
 * the command (`lms_vol_rsa`); a repeated key keeps its first position and takes the later value.
 */
export interface LaunchCommands {
  contextId?: LaunchValue;
  userId?: LaunchValue;
  hostSources: HostSource[];
  extension: Partial<Record<ExtensionCommand, LaunchValue>>;
  scalars: Partial<Record<ScalarCommand, LaunchValue>>;
  taskVolumes: Map<string, LaunchValue>;
  submitVolumes: Map<string, LaunchValue>;
  personalVolumes: Map<string, LaunchValue>;
  /** `lms_sub_<name>_close` entries, keyed by `<name>` as sent. */
  submitCloses: Map<string, LaunchValue>;
}

export const TASK_PREFIX = "lms_vol_";
export const SUBMIT_PREFIX = "lms_sub_";
export const PERSONAL_PREFIX = "lms_prs_";
const CLOSE_SUFFIX = "_close";

type CustomCommand =
  ScalarCommand | "taskVolume" | "submitVolume" | "personalVolume" | "serverUrl" | "ignored";

/**
 * Custom commands in the order they are tried; the first match wins. `exact` commands must be the whole
 * command, the others are prefixes — so `lms_teachersX` is a teacher list but `lms_image_x` is ignored.
 * `lms_iframe` and `lms_serverpath` are recognised but change nothing in the plan: the proxy reads them, and
 * framing is configured hub-wide.
 */
const CUSTOM_COMMANDS: ReadonlyArray<{ name: string; exact: boolean; command: CustomCommand }> = [
  { name: "lms_image", exact: true, command: "image" },
  { name: "lms_users", exact: true, command: "users" },
  { name: "lms_teachers", exact: false, command: "teachers" },
  { name: "lms_cpugrnt", exact: false, command: "cpuGuarantee" },
  { name: "lms_memgrnt", exact: false, command: "memGuarantee" },
  { name: "lms_actlimit", exact: false, command: "actLimit" },
  { name: "lms_cpulimit", exact: false, command: "cpuLimit" },
  { name: "lms_memlimit", exact: false, command: "memLimit" },
  { name: "lms_defurl", exact: true, command: "defaultUrl" },
  { name: "lms_options", exact: false, command: "options" },
  { name: TASK_PREFIX, exact: false, command: "taskVolume" },
  { name: PERSONAL_PREFIX, exact: false, command: "personalVolume" },
  { name: SUBMIT_PREFIX, exact: false, command: "submitVolume" },
  { name: "lms_iframe", exact: false, command: "ignored" },
  { name: "lms_sessioninfo", exact: false, command: "sessionInfo" },
  { name: "lms_serverurl", exact: false, command: "serverUrl" },
  { name: "lms_serverpath", exact: false, command: "ignored" },
  { name: "lms_course", exact: false, command: "course" },
  { name: "lms_ltiname", exact: false, command: "ltiName" },
];

const EXTENSION_COMMANDS: Readonly<Record<string, ExtensionCommand>> = {
  user_userid: "extUserId",
  user_groupid: "extGroupId",
  user_groupname: "extGroupName",
};

/**
 * Sorts launch parameters into commands with LTIContainerSpawner's rules: `context_id`, `user_id` and
 * `lis_outcome_service_url` by name; `ext_*` and `custom_*` with every occurrence of `ext_` / `custom_` removed
 * from the name (so `custom_lms_vol_custom_x` is the volume `lms_vol_x`); everything else ignored (`roles`,
 * `lms_rpctoken`, `lms_iframe`, `lms_serverpath`, unknown `lms_*`).
 */
export function dispatchLaunch(parameters: LaunchParameters): LaunchCommands {
  const commands: LaunchCommands = {
    hostSources: [],
    extension: {},
    scalars: {},
    taskVolumes: new Map(),
    submitVolumes: new Map(),
    personalVolumes: new Map(),
    submitCloses: new Map(),
  };
  for (const [field, value] of parameters) {
    const launchValue = { field, value };
    if (field === "context_id") commands.contextId = launchValue;
    else if (field === "user_id") commands.userId = launchValue;
    else if (field === "lis_outcome_service_url")
      commands.hostSources.push({ ...launchValue, kind: "outcome-url" });
    else if (field.startsWith("ext_")) {
      const command = EXTENSION_COMMANDS[field.replaceAll("ext_", "")];
      if (command) commands.extension[command] = launchValue;
    } else if (field.startsWith("custom_"))
      dispatchCustom(commands, field.replaceAll("custom_", ""), launchValue);
  }
  return commands;
}

function dispatchCustom(commands: LaunchCommands, name: string, launchValue: LaunchValue): void {
  const command = CUSTOM_COMMANDS.find((entry) =>
    entry.exact ? name === entry.name : name.startsWith(entry.name),
  )?.command;
  switch (command) {
    case undefined:
    case "ignored":
      return;
    case "taskVolume":
      if (!isCloseCommand(name, TASK_PREFIX)) commands.taskVolumes.set(name, launchValue);
      return;
    case "personalVolume":
      if (!isCloseCommand(name, PERSONAL_PREFIX)) commands.personalVolumes.set(name, launchValue);
      return;
    case "submitVolume":
      if (isCloseCommand(name, SUBMIT_PREFIX)) {
        commands.submitCloses.set(name.slice(SUBMIT_PREFIX.length, -CLOSE_SUFFIX.length), launchValue);
      } else commands.submitVolumes.set(name, launchValue);
      return;
    case "serverUrl":
      commands.hostSources.push({ ...launchValue, kind: "server-url" });
      return;
    default:
      commands.scalars[command] = launchValue;
  }
}

/**
 * `<prefix><name>_close` with a non-empty name is a deadline, never a volume. LTIContainerSpawner also took
 * `lms_sub_close` (a submit volume named `close`) for a deadline of a volume `lms_sub`; here it is the volume.
 * The suffix is reserved for every role (Moodle only sends deadlines for submit volumes; a task or personal
 * `…_close` is ignored rather than mounted as a volume whose link is a date).
 */
function isCloseCommand(name: string, prefix: string): boolean {
  return name.endsWith(CLOSE_SUFFIX) && name.length > prefix.length + CLOSE_SUFFIX.length;
}
