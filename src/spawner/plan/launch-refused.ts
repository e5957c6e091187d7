/**
 * Why a launch cannot become a container plan. Stable codes for callers (the spawner endpoint maps them to an
 * answer for JupyterHub; the CLI prints the message):
 * - `LAUNCH_INVALID_VALUE`: the value has the wrong shape (not a number, one number where two are needed, …);
 * - `LAUNCH_UNSAFE_VALUE`: characters that have no place in that field (shell metacharacters, path separators);
 * - `LAUNCH_OUT_OF_RANGE`: above the spawner policy's maximum, or below what the container engine accepts;
 * - `LAUNCH_IMAGE_NOT_ALLOWED`: an image outside the policy's allow-list and name filter;
 * - `LAUNCH_MISSING_VALUE`: a value the plan cannot do without.
 */
export type LaunchRefusedCode =
  | "LAUNCH_INVALID_VALUE"
  | "LAUNCH_UNSAFE_VALUE"
  | "LAUNCH_OUT_OF_RANGE"
  | "LAUNCH_IMAGE_NOT_ALLOWED"
  | "LAUNCH_MISSING_VALUE";

/**
 * A launch refused before anything is created. `field` is the launch parameter as posted (e.g.
 * `custom_lms_cpulimit`), or `user` for the JupyterHub user name; the message is one line that starts with it.
 * Only values of the refused field appear in the message, quoted and shortened — never a token.
 */
export class LaunchRefused extends Error {
  override readonly name = "LaunchRefused";

  constructor(
    readonly code: LaunchRefusedCode,
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

const SHOWN_VALUE_LENGTH = 60;

/** A value as it appears in a refusal: JSON-quoted (so control characters stay on one line), shortened. */
export function quoted(value: string): string {
  const shown = value.length > SHOWN_VALUE_LENGTH ? `${value.slice(0, SHOWN_VALUE_LENGTH)}…` : value;
  return JSON.stringify(shown);
}
