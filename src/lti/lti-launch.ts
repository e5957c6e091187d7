import type { IncomingHttpHeaders } from "node:http";
import { launchContextOf, type LaunchContext } from "./launch-context.js";

/** Launch forms are a few KiB; the forwarder buffers at most this much of a candidate body. */
export const LAUNCH_BODY_LIMIT = 256 * 1024;

/**
 * The parameters of an LTI 1.1 launch as JupyterHub's LTI authenticator keeps them in `auth_state`: every form
 * field except the `oauth_*` ones, the first value of a repeated field, in the order the form sent them (the
 * spawner's rules depend on that order). Names keep their `custom_` prefix.
 */
export type LaunchParameters = ReadonlyMap<string, string>;

/** A parsed launch form: its parameters, and whether it carried OAuth fields (only signed launches count). */
export interface LtiLaunch {
  parameters: LaunchParameters;
  signed: boolean;
}

/** Whether a request could be an LTI 1.1 launch, i.e. whether its body is worth buffering and parsing. */
export function isLaunchCandidate(method: string | undefined, headers: IncomingHttpHeaders): boolean {
  const type = headers["content-type"];
  return (
    method === "POST" &&
    typeof type === "string" &&
    type.trim().toLowerCase().startsWith("application/x-www-form-urlencoded")
  );
}

/** Reads an `application/x-www-form-urlencoded` launch body (as Moodle posts it). */
export function parseLaunchForm(body: Buffer | string): LtiLaunch {
  const form = new URLSearchParams(typeof body === "string" ? body : body.toString("utf8"));
  const parameters = new Map<string, string>();
  let signed = false;
  for (const [name, value] of form) {
    if (name.startsWith("oauth_")) {
      signed = true;
      continue;
    }
    if (!parameters.has(name)) parameters.set(name, value);
  }
  return { parameters, signed };
}

/**
 * A mod_lticontainer custom parameter: LTI prefixes custom parameters with `custom_`; the C proxy matched the
 * bare names too.
 */
export function customParameter(parameters: LaunchParameters, name: string): string | undefined {
  return parameters.get(`custom_${name}`) ?? parameters.get(name);
}

/** The records' destination named by a launch, when it carries mod_lticontainer's session info. */
export function launchContextFromParameters(parameters: LaunchParameters): LaunchContext | undefined {
  return launchContextOf({
    sessionInfo: customParameter(parameters, "lms_sessioninfo"),
    serverUrl: customParameter(parameters, "lms_serverurl"),
    serverPath: customParameter(parameters, "lms_serverpath"),
    rpcToken: customParameter(parameters, "lms_rpctoken"),
  });
}

/**
 * Reads an LTI 1.1 launch form posted by Moodle: it must carry OAuth parameters (JupyterHub checks the
 * signature; the proxy only needs to know it is a launch) and mod_lticontainer's `custom_lms_sessioninfo`.
 */
export function parseLaunchBody(body: Buffer): LaunchContext | undefined {
  if (body.length > LAUNCH_BODY_LIMIT) return undefined;
  const launch = parseLaunchForm(body);
  return launch.signed ? launchContextFromParameters(launch.parameters) : undefined;
}
