import { InvalidNameError } from "./engine/engine-errors.js";

/**
 * Course volume names, `lms_<role>_<name>_<course>_<host>`, shared by Moodle's mod_lticontainer (which creates,
 * lists and removes them) and the spawner (which mounts them):
 * - role `vol` (task volume: teachers write, students read), `sub` (submit volume: everyone hands in), `prs`
 *   (personal copy of a task volume);
 * - name: what Moodle makes of the teacher's volume name, lower-case letters and digits only, possibly empty;
 * - course: the Moodle course ID (LTI `context_id`), letters, digits, `.` and `-` (no `_`, so a name splits
 *   one way only);
 * - host: the Moodle host name, letters, digits, `.`, `-` and `_`.
 * Neither course nor host may hold `/`, `..`, `{`, `}`, `:` or white space: such names would reach file system
 * paths, templates and bind specifications on the engine's host.
 */
export type CourseVolumeRole = "task" | "submit" | "personal";

export interface CourseVolumeName {
  /** The full volume name. */
  name: string;
  role: CourseVolumeRole;
  /** The name part between role and course (what Moodle shows). */
  shortName: string;
  course: string;
  host: string;
}

const ROLE_PREFIXES: Readonly<Record<CourseVolumeRole, string>> = {
  task: "vol",
  submit: "sub",
  personal: "prs",
};
const ROLES_BY_PREFIX: Readonly<Record<string, CourseVolumeRole>> = {
  vol: "task",
  sub: "submit",
  prs: "personal",
};

const SHORT_NAME = /^[a-z0-9]*$/;
/** A course id as it may appear in volume and container names (Moodle's are numbers). */
export const COURSE_ID = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;
const HOST = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const FULL_NAME = /^lms_(vol|sub|prs)_([a-z0-9]*)_([A-Za-z0-9][A-Za-z0-9.-]*)_([A-Za-z0-9][A-Za-z0-9_.-]*)$/;
/** A volume's name is a folder name on the engine's host. */
const MAX_NAME_LENGTH = 255;

const SHAPE = "lms_(vol|sub|prs)_<name>_<course>_<host>";

/** Parses and checks a full course volume name; throws {@link InvalidNameError} naming what is wrong. */
export function parseCourseVolumeName(name: string): CourseVolumeName {
  const match = FULL_NAME.exec(name);
  if (!match || name.includes("..") || name.length > MAX_NAME_LENGTH) {
    throw new InvalidNameError(
      `${JSON.stringify(name)} is not a course volume name: expected ${SHAPE}, the name of lower-case letters and digits, ` +
        "the course of letters, digits, '.' and '-', the host of letters, digits, '.', '-' and '_', no '..', at most " +
        `${MAX_NAME_LENGTH} characters`,
    );
  }
  const [, prefix = "", shortName = "", course = "", host = ""] = match;
  return { name, role: ROLES_BY_PREFIX[prefix] as CourseVolumeRole, shortName, course, host };
}

/** The name of a course volume from its parts, each checked; the host is lower-cased as the spawner does. */
export function courseVolumeName(parts: Omit<CourseVolumeName, "name">): CourseVolumeName {
  checkPart("role", parts.role, (role) => Object.hasOwn(ROLE_PREFIXES, role), "task, submit or personal");
  checkPart("name", parts.shortName, (v) => SHORT_NAME.test(v), "lower-case letters and digits");
  checkScope(parts.course, parts.host);
  const host = parts.host.toLowerCase();
  return parseCourseVolumeName(`lms_${ROLE_PREFIXES[parts.role]}_${parts.shortName}_${parts.course}_${host}`);
}

/** Checks a course and host before they select volumes; throws {@link InvalidNameError}. */
export function checkScope(course: string, host: string): void {
  checkPart(
    "course",
    course,
    (v) => COURSE_ID.test(v) && !v.includes(".."),
    "letters, digits, '.' and '-', no '..'",
  );
  checkPart(
    "host",
    host,
    (v) => HOST.test(v) && !v.includes(".."),
    "letters, digits, '.', '-' and '_', no '..'",
  );
}

/** Whether `name` is a course volume of `course` on `host` (host compared without regard to case). */
export function belongsToScope(volume: CourseVolumeName, course: string, host: string): boolean {
  return volume.course === course && volume.host.toLowerCase() === host.toLowerCase();
}

function checkPart(label: string, value: string, valid: (v: string) => boolean, expected: string): void {
  if (!valid(value)) {
    throw new InvalidNameError(
      `invalid course volume ${label} ${JSON.stringify(value)}: expected ${expected}`,
    );
  }
}
