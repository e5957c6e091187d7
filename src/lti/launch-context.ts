/**
 * What an LTI 1.1 launch from mod_lticontainer tells the proxy about where its results go: the
 * `custom_lms_sessioninfo`, `custom_lms_serverurl`, `custom_lms_serverpath` and `custom_lms_rpctoken` parameters.
 */
export interface LaunchContext {
  /** lticontainer activity id (`custom_lms_sessioninfo` = `<inst_id>,<lti_id>`). */
  instId: string;
  /** LTI activity id. */
  ltiId: string;
  /** `custom_lms_serverurl`, decoded, e.g. `https://moodle.example:443`. */
  serverUrl: string;
  /** `custom_lms_serverpath`, decoded, e.g. `/moodle` or empty. */
  serverPath: string;
  /** `custom_lms_rpctoken`: the Moodle web-service token. Never sent to a browser in clear. */
  rpcToken: string;
}

/** A Moodle site and the web-service token used to write to it. */
export interface MoodleDestination {
  /** `custom_lms_serverurl` + `custom_lms_serverpath`, decoded, without a trailing slash, e.g. `https://moodle.example:443/moodle`. */
  baseUrl: string;
  token: string;
}

/** The four mod_lticontainer values as they arrive (already URL-decoded), before validation. */
export interface LaunchContextFields {
  sessionInfo: string | undefined;
  serverUrl: string | undefined;
  serverPath: string | undefined;
  rpcToken: string | undefined;
}

/**
 * Validates decoded launch values. `sessionInfo` (`<lticontainer id>,<lti id>`, both database ids) is
 * required; a server URL that is not http(s) or a path that is not absolute is dropped rather than
 * trusted, which leaves the record to the proxy's configured Moodle.
 */
export function launchContextOf(fields: LaunchContextFields): LaunchContext | undefined {
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
