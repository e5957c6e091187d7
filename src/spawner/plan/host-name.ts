import { LaunchRefused, quoted } from "./launch-refused.js";
import { DOCKER_NAME_PART } from "./names.js";
import type { HostSource } from "./parameter-dispatch.js";

/**
 * The LMS host name that goes into container and volume names (so volumes of the same course on two Moodles
 * stay apart). Taken in launch order: `lis_outcome_service_url` always sets it; `custom_lms_serverurl` only
 * while no host is known yet (still `localhost`), so the outcome URL wins whatever the order. Lower case, as
 * volume names are created by Moodle.
 */
export function resolveHostName(sources: readonly HostSource[]): string {
  let host = "localhost";
  for (const source of sources) {
    if (source.kind === "outcome-url" || host === "localhost") host = hostOf(source);
  }
  return host;
}

function hostOf({ field, value }: HostSource): string {
  let hostname: string;
  try {
    hostname = new URL(value).hostname.toLowerCase();
  } catch {
    hostname = "";
  }
  if (hostname === "") {
    throw new LaunchRefused("LAUNCH_INVALID_VALUE", field, `${quoted(value)} is not a URL with a host name`);
  }
  if (!DOCKER_NAME_PART.test(hostname)) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      field,
      `the host ${quoted(hostname)} cannot be part of container and volume names (use a DNS name or IPv4 address)`,
    );
  }
  return hostname;
}
