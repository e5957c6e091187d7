import { parseLaunchForm, type LaunchParameters } from "../../lti/lti-launch.js";
import { readLaunchObject, SpawnRequestInvalid } from "../service/spawn-request.js";

/** A launch file the CLI cannot read. */
export class LaunchFileError extends Error {
  override readonly name = "LaunchFileError";
  readonly code = "LAUNCH_FILE_INVALID";
}

/**
 * A launch as the form body Moodle posts (`application/x-www-form-urlencoded`) or as a JSON object of
 * parameters (e.g. JupyterHub's `auth_state`). Either way `oauth_*` fields are left out and names keep their
 * `custom_` prefix.
 */
export function readLaunchText(text: string): LaunchParameters {
  if (!text.trimStart().startsWith("{")) return parseLaunchForm(text).parameters;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LaunchFileError(`the launch is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return readLaunchObject(json);
  } catch (error) {
    if (error instanceof SpawnRequestInvalid) throw new LaunchFileError(error.message);
    throw error;
  }
}
