import type { CapturedRecord } from "../capture/nb-log-record.js";
import type { MoodleDestination } from "../lti/launch-context.js";

/*
 * Where a record goes (and the SSRF guard).
 *
 * Precedence:
 *  1. The record names a Moodle (from its LTI launch) whose origin is allowed → that Moodle, with the launch's
 *     token (the activity's own rpc_token). Allowed origins: every `--moodle-allow` origin, plus the origin of
 *     the configured Moodle.
 *  2. The record names a Moodle that is NOT allowed → refused ("moodle_not_allowed"). It is deliberately not
 *     re-routed to the configured Moodle: its inst_id/lti_id are ids of the other site and would file the
 *     results under the wrong course there.
 *  3. The record names no Moodle → the configured Moodle (`--moodle-url` + token).
 *  4. Neither → refused ("no_moodle").
 * Unparseable or non-http(s) URLs are refused ("invalid_moodle_url"). No request ever goes to an origin
 * that is not allowed.
 */

export interface MoodleTarget {
  /** `https://host[:port]`, normalised (lower-case host, default port dropped): the connection pool key. */
  origin: string;
  /** Moodle's wwwroot path without a trailing slash, e.g. `/moodle` or empty. */
  basePath: string;
  token: string;
}

export type RefusalReason = "moodle_not_allowed" | "no_moodle" | "invalid_moodle_url";

export type Resolution = { target: MoodleTarget } | { refused: RefusalReason; origin?: string };

interface ParsedBase {
  origin: string;
  basePath: string;
}

/** Origin and path of a Moodle wwwroot such as `https://moodle.example:443/moodle/`; undefined if unusable. */
export function parseMoodleBase(baseUrl: string): ParsedBase | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined;
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "") return undefined;
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") return undefined;
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, "") };
}

/** `https://Moodle.Example:443/x` → `https://moodle.example`; undefined if not an http(s) URL. */
export function normaliseOrigin(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return undefined;
    return parsed.origin;
  } catch {
    return undefined;
  }
}

/** Key that groups records going to the same Moodle with the same token (for multi-record calls). */
export function targetKey(target: MoodleTarget): string {
  return `${target.origin}${target.basePath}\n${target.token}`;
}

export class MoodleDestinations {
  private readonly configured: MoodleTarget | undefined;
  private readonly allowed: Set<string>;

  /** Throws on an unusable configured Moodle URL or allow-list entry (configuration errors). */
  constructor(options: { configured?: MoodleDestination; allowOrigins: readonly string[] }) {
    this.allowed = new Set();
    for (const entry of options.allowOrigins) {
      const origin = normaliseOrigin(entry);
      if (!origin) throw new Error(`invalid Moodle origin in allow-list: ${entry}`);
      this.allowed.add(origin);
    }
    if (options.configured) {
      const base = parseMoodleBase(options.configured.baseUrl);
      if (!base) throw new Error(`invalid Moodle URL: ${options.configured.baseUrl}`);
      this.configured = { ...base, token: options.configured.token };
      this.allowed.add(base.origin);
    }
  }

  resolve(record: CapturedRecord): Resolution {
    const destination = record.destination;
    if (!destination) return this.configured ? { target: this.configured } : { refused: "no_moodle" };
    const base = parseMoodleBase(destination.baseUrl);
    if (!base) return { refused: "invalid_moodle_url" };
    if (!this.allowed.has(base.origin)) return { refused: "moodle_not_allowed", origin: base.origin };
    return { target: { ...base, token: destination.token } };
  }
}
