import type { IncomingHttpHeaders } from "node:http";
import type { LaunchContext } from "./launch-context.js";
import type { MoodleDestination } from "./nb-log-record.js";

/** Launch forms are a few KiB; the forwarder buffers at most this much of a candidate body. */
export const LAUNCH_BODY_LIMIT = 256 * 1024;

/** The four mod_lticontainer values as they arrive (already URL-decoded), before validation. */
export interface LaunchFields {
  sessionInfo: string | undefined;
  serverUrl: string | undefined;
  serverPath: string | undefined;
  rpcToken: string | undefined;
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

/**
 * Reads an LTI 1.1 launch form posted by Moodle: it must carry OAuth parameters (JupyterHub checks the
 * signature; the proxy only needs to know it is a launch) and mod_lticontainer's `custom_lms_sessioninfo`.
 */
export function parseLaunchBody(body: Buffer): LaunchContext | undefined {
  if (body.length > LAUNCH_BODY_LIMIT) return undefined;
  const form = new URLSearchParams(body.toString("utf8"));
  let oauth = false;
  for (const key of form.keys()) {
    if (key.startsWith("oauth_")) {
      oauth = true;
      break;
    }
  }
  if (!oauth) return undefined;
  // LTI prefixes custom parameters with `custom_`; the C proxy matched the bare names too.
  const field = (name: string) => form.get(`custom_${name}`) ?? form.get(name) ?? undefined;
  return launchContextOf({
    sessionInfo: field("lms_sessioninfo"),
    serverUrl: field("lms_serverurl"),
    serverPath: field("lms_serverpath"),
    rpcToken: field("lms_rpctoken"),
  });
}

/**
 * Validates decoded launch values. `sessionInfo` (`<lticontainer id>,<lti id>`, both database ids) is
 * required; a server URL that is not http(s) or a path that is not absolute is dropped rather than
 * trusted, which leaves the record to the proxy's configured Moodle.
 */
export function launchContextOf(fields: LaunchFields): LaunchContext | undefined {
  const ids = /^\s*(\d+)\s*,\s*(\d*)\s*$/.exec(fields.sessionInfo ?? "");
  if (!ids) return undefined;
  return {
    instId: ids[1]!,
    ltiId: ids[2]!,
    serverUrl: normaliseServerUrl(fields.serverUrl ?? ""),
    serverPath: normaliseServerPath(fields.serverPath ?? ""),
    rpcToken: (fields.rpcToken ?? "").trim(),
  };
}

/** Where this launch's records go; undefined when the launch named no usable Moodle or no token. */
export function moodleDestinationOf(context: LaunchContext): MoodleDestination | undefined {
  if (context.serverUrl === "" || context.rpcToken === "") return undefined;
  return { baseUrl: `${context.serverUrl}${context.serverPath}`, token: context.rpcToken };
}

function normaliseServerUrl(value: string): string {
  const text = value.trim().replace(/\/+$/, "");
  return /^https?:\/\/[^/?#\s]+$/i.test(text) && URL.canParse(text) ? text : "";
}

function normaliseServerPath(value: string): string {
  const text = value.trim().replace(/\/+$/, "");
  return text.startsWith("/") && !/[?#\s]/.test(text) ? text : "";
}
