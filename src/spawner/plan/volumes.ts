import { parseCourseVolumeName } from "../course-volume-name.js";
import { LaunchRefused, quoted } from "./launch-refused.js";
import {
  PERSONAL_PREFIX,
  SUBMIT_PREFIX,
  TASK_PREFIX,
  type LaunchCommands,
  type LaunchValue,
} from "./parameter-dispatch.js";
import { CONTROL_CHARACTERS, parseUserList } from "./sanitisers.js";

/** A volume this user sees: its engine name and the link name the image's start script shows it under. */
export interface VisibleVolume {
  name: string;
  link: string;
}

/** The volumes a launch gives this user, each list in launch order. */
export interface UserVolumes {
  /** Named volumes shared by the course (students read, teachers write). */
  task: VisibleVolume[];
  /** Named volumes students hand work in to. */
  submit: VisibleVolume[];
  /** Folders inside the user's home, seeded from the task volume of the same name: no engine volume. */
  personal: VisibleVolume[];
}

export interface VolumeInput {
  commands: LaunchCommands;
  userName: string;
  teacher: boolean;
  /** `lms_users`: who sees the volumes that carry no list of their own (`*` = everyone). */
  users: readonly string[];
  courseId: string;
  host: string;
  nowSeconds: number;
}

/** Moodle reduces volume names to `[a-z0-9]`; its core maps launch keys to `[a-z0-9_]`. */
const VOLUME_NAME = /^[a-z0-9_]*$/u;

/**
 * Link names are file names in the user's work folder. Moodle removes these characters from them (and
 * LTIContainerSpawner the `/`, which Moodle keeps); anything from this set in a launch was not made by Moodle.
 */
const LINK_UNSAFE = /[*; $!"'&+=|<>?^%~`(){}[\]]/u;

/**
 * Which task, submit and personal volumes the user sees. A volume's value is `<link>[:<users>]`; an empty link
 * hides it. It is visible to teachers, to everyone its own user list names (`*` = all), and — without a list
 * of its own — to everyone `lms_users` names. A submit volume past its `lms_sub_<name>_close` time (Unix
 * seconds, strictly later) is hidden from students. Volume names are `<command>_<course>_<host>`, e.g.
 * `lms_vol_rsa_219_moodle.example.org`, as mod_lticontainer creates them.
 */
export function visibleVolumes(input: VolumeInput): UserVolumes {
  const closes = closeTimes(input.commands.submitCloses);
  const openToStudents = (key: string) => {
    const closeAt = closes.get(squeezed(key.slice(SUBMIT_PREFIX.length)));
    return closeAt === undefined || input.nowSeconds <= closeAt;
  };
  return {
    task: visible(input, input.commands.taskVolumes, TASK_PREFIX),
    submit: visible(
      input,
      input.commands.submitVolumes,
      SUBMIT_PREFIX,
      (key) => input.teacher || openToStudents(key),
    ),
    personal: visible(input, input.commands.personalVolumes, PERSONAL_PREFIX),
  };
}

function visible(
  input: VolumeInput,
  volumes: ReadonlyMap<string, LaunchValue>,
  prefix: string,
  open: (key: string) => boolean = () => true,
): VisibleVolume[] {
  const result: VisibleVolume[] = [];
  for (const [key, launchValue] of volumes) {
    checkVolumeName(key.slice(prefix.length), launchValue.field);
    const [rawLink = "", userList] = launchValue.value.split(":");
    const link = readLink(rawLink, launchValue);
    const audience = userList === undefined ? [] : parseUserList(userList);
    if (link === "" || !open(key) || !sees(input, audience)) continue;
    result.push({ name: courseVolume(`${key}_${input.courseId}_${input.host}`, launchValue), link });
  }
  return result;
}

/** The volume name, checked with the rules the Engine API driver applies before it creates or removes one. */
function courseVolume(name: string, launchValue: LaunchValue): string {
  try {
    return parseCourseVolumeName(name).name;
  } catch (error) {
    throw new LaunchRefused("LAUNCH_UNSAFE_VALUE", launchValue.field, (error as Error).message);
  }
}

function sees({ teacher, userName, users }: VolumeInput, audience: readonly string[]): boolean {
  // LTIContainerSpawner hid a volume with its own user list from teachers not on that list.
  if (teacher) return true;
  const allowed = audience.length > 0 ? audience : users;
  return allowed.includes("*") || allowed.includes(userName);
}

function checkVolumeName(name: string, field: string): void {
  if (!VOLUME_NAME.test(name)) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      field,
      `the volume name ${quoted(name)} may only contain a-z, 0-9 and _`,
    );
  }
}

function readLink(rawLink: string, { field, value }: LaunchValue): string {
  if (LINK_UNSAFE.test(rawLink) || CONTROL_CHARACTERS.test(rawLink) || /[\t\n\r]/u.test(rawLink)) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      field,
      `${quoted(value)}: the link name may not contain spaces, control characters or any of * ; $ ! " ' & + = | < > ? ^ % ~ \` ( ) { } [ ]`,
    );
  }
  const link = rawLink.replaceAll("/", "");
  if (link === "." || link === "..") {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      field,
      `${quoted(value)}: the link name may not be . or ..`,
    );
  }
  return link;
}

/**
 * Deadlines by volume name without underscores. Moodle names the deadline key after the volume's raw name
 * mapped by its core (`Report-1` → `lms_sub_report_1_close`) but the volume after the name with everything
 * outside `[a-z0-9]` removed (`lms_sub_report1`); comparing both without `_` pairs them again.
 */
function closeTimes(closes: ReadonlyMap<string, LaunchValue>): Map<string, number> {
  const times = new Map<string, number>();
  for (const [name, { field, value }] of closes) {
    checkVolumeName(name, field);
    const text = value.trim();
    if (!/^-?[0-9]+$/u.test(text)) {
      const problem = text === "" ? "is empty" : "is not a time in Unix seconds";
      throw new LaunchRefused("LAUNCH_INVALID_VALUE", field, `the close date ${quoted(value)} ${problem}`);
    }
    times.set(squeezed(name), Number(text));
  }
  return times;
}

function squeezed(name: string): string {
  return name.replaceAll("_", "");
}
