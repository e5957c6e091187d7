import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import { LaunchRefused, quoted } from "./launch-refused.js";
import { COURSE_ID } from "../course-volume-name.js";
import { NOTEBOOK_PATH } from "./names.js";
import type { LaunchCommands, LaunchValue } from "./parameter-dispatch.js";
import { CONTROL_CHARACTERS, withoutLineBreaks } from "./sanitisers.js";

/** The launch's plain values, checked. */
export interface LaunchFields {
  /** Moodle's course id (`context_id`), part of container and volume names; `0` when absent. */
  courseId: string;
  /** `lms_sessioninfo`: the mod_lticontainer instance id and the LTI activity id (`0` when absent). */
  instanceId: string;
  ltiId: string;
  /** The notebook server's start page. */
  defaultUrl: string;
  /** `lms_options`, for the image (`doubleargs`). */
  options: string;
  /** Course and activity names, for the image's notebook conversion tools. */
  courseName: string;
  activityName: string;
}

const SESSION_INFO = /^[ \t]*(?<instance>[0-9]+)[ \t]*,[ \t]*(?<lti>[0-9]+)[ \t]*$/u;
const OPTIONS = /^[A-Za-z0-9_.,-]*$/u;

export function readLaunchFields(commands: LaunchCommands, policy: SpawnerPolicy): LaunchFields {
  const { scalars } = commands;
  const sessionInfo = readSessionInfo(scalars.sessionInfo);
  return {
    courseId: readCourseId(commands.contextId),
    instanceId: sessionInfo.instance,
    ltiId: sessionInfo.lti,
    defaultUrl: readDefaultUrl(scalars.defaultUrl, policy),
    options: readOptions(scalars.options),
    courseName: readName(scalars.course),
    activityName: readName(scalars.ltiName),
  };
}

function readCourseId(contextId: LaunchValue | undefined): string {
  if (!contextId) return "0";
  if (!COURSE_ID.test(contextId.value) || contextId.value.includes("..")) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      contextId.field,
      `${quoted(contextId.value)} cannot be part of container and volume names (letters, digits, . -)`,
    );
  }
  return contextId.value;
}

function readSessionInfo(sessionInfo: LaunchValue | undefined): { instance: string; lti: string } {
  if (!sessionInfo) return { instance: "0", lti: "0" };
  const groups = SESSION_INFO.exec(sessionInfo.value)?.groups;
  if (!groups) {
    throw new LaunchRefused(
      "LAUNCH_INVALID_VALUE",
      sessionInfo.field,
      `${quoted(sessionInfo.value)} is not "<instance id>,<LTI id>"`,
    );
  }
  return { instance: groups.instance!, lti: groups.lti! };
}

function readDefaultUrl(defaultUrl: LaunchValue | undefined, policy: SpawnerPolicy): string {
  if (!defaultUrl || defaultUrl.value === "") return policy.defaultUrl;
  if (!NOTEBOOK_PATH.test(defaultUrl.value)) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      defaultUrl.field,
      `${quoted(defaultUrl.value)} is not a notebook path such as /lab or /tree`,
    );
  }
  return defaultUrl.value;
}

function readOptions(options: LaunchValue | undefined): string {
  if (!options) return "";
  if (!OPTIONS.test(options.value)) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      options.field,
      `${quoted(options.value)}: options are words of letters, digits and _ . , -`,
    );
  }
  return options.value;
}

/** Line breaks removed (as LTIContainerSpawner does); other control characters refused. Backslashes stay. */
function readName(name: LaunchValue | undefined): string {
  if (!name) return "";
  const text = withoutLineBreaks(name.value);
  if (CONTROL_CHARACTERS.test(text)) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      name.field,
      `${quoted(name.value)} contains control characters`,
    );
  }
  return text;
}
