/** The mod_lticontainer fields of a launch that sends its records to `moodleOrigin` with `token`. */
export function lticontainerLaunch(
  moodleOrigin: string,
  token: string,
  sessionInfo = "6,13",
): Record<string, string> {
  return {
    oauth_version: "1.0",
    oauth_nonce: "n",
    custom_lms_sessioninfo: sessionInfo,
    custom_lms_serverurl: moodleOrigin,
    custom_lms_serverpath: "",
    custom_lms_rpctoken: token,
  };
}

/**
 * Posts an LTI 1.1 launch form to `url` (as Moodle's auto-submitting page does) and returns the proxy's sealed
 * launch cookie as a `name=value` pair for later requests, or undefined when the answer set none.
 */
export async function postLaunch(url: string, fields: Record<string, string>): Promise<string | undefined> {
  const launch = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  await launch.arrayBuffer();
  return launch.headers
    .getSetCookie()
    .find((cookie) => cookie.startsWith("ltictr_launch="))
    ?.split(";")[0];
}
