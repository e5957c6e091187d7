/**
 * The shapes of the values that end up in container names, volume names, paths and the command line. Values
 * outside them are refused, never rewritten.
 */

/** A part of a container or volume name: Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
export const DOCKER_NAME_PART = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/u;

/**
 * A user or group name that is safe as a path segment and for the image's `useradd`/`groupadd`: no `/`, no
 * `:`, no whitespace, not starting with `-` or `.` (so never `..`). Moodle user names (`[a-z0-9_.@-]`, lower
 * case) fit, as long as they start with a letter, digit or `_`.
 */
export const ACCOUNT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/u;

/**
 * An image reference (`repo/name:tag`, `name@sha256:…`, an image ID): what `docker images` lists. Upper case is
 * allowed for tags; the engine checks the rest.
 */
export const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/u;

/** The notebook server's start page: an absolute path of plain characters (it is a command-line argument). */
export const NOTEBOOK_PATH = /^\/[A-Za-z0-9._~/-]*$/u;

/** An environment variable name. */
export const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/u;

/** The most uid or gid a Linux account can have (2^32 − 1 is reserved). */
export const MAX_ACCOUNT_ID = 4294967294;
