import { fetchBuffered } from "../http1/fetch-buffered.js";
import { UpstreamPools } from "../http1/upstream-pools.js";
import { parseUpstreamTarget } from "../http1/upstream-target.js";
import type { MoodleTarget } from "./moodle-destinations.js";
import { isJsonObject } from "../json-object.js";

export const WRITE_NBLOGS = "mod_lticontainer_write_nblogs";
export const REST_PATH = "/webservice/rest/server.php";

export type CallOutcome =
  | { kind: "acknowledged" }
  /**
   * Send again later. Without `giveUpAfterMs` the whole Moodle is taken as unavailable (paused with backoff, never
   * given up); with it the error may be the record's own, and the record is dead-lettered once it has failed for
   * that long.
   */
  | { kind: "retry"; reason: string; giveUpAfterMs?: number }
  | { kind: "dead-letter"; reason: string; errorcode?: string };

/*
 * Moodle answers web-service calls with HTTP 200 even when they fail, with
 * `{"exception":…,"errorcode":…,"message":…[,"debuginfo":…]}`. How each errorcode is treated:
 *
 *   errorcode                                  outcome       why
 *   invalidtoken, accessexception,             dead-letter   token / service / capability configuration;
 *   nopermissions, servicenotavailable,                      retrying cannot help until an admin fixes it,
 *   enablewsdescription, invalidrecord        then `replay-dead-letters` sends them again
 *   (function not installed), requireloginerror,
 *   usernotfullysetup, …
 *   invalidparameter                           dead-letter   the record itself is rejected
 *   sitemaintenance, dbconnectionfailed,       retry         Moodle or its database is temporarily away:
 *   dmlreadexception, dmltransactionexception,               the Moodle is paused with backoff, for as long
 *   dmlsessionlockerror, sessionwaiterr                      as the spool holds the records
 *   any error whose message or debuginfo says  retry         a deadlock ("Deadlock found when trying to get
 *   deadlock, lock wait timeout, "try                        lock; try restarting transaction"), a lock wait
 *   restarting transaction", server gone away                timeout or a lost database connection is
 *   or lost connection                                       transient whatever the exception class (Moodle
 *                                                            under load at the end of a lecture)
 *   dmlwriteexception (other)                  retry, then   Moodle shows debuginfo only with debugging on, so
 *                                              dead after    a deadlock usually reads "Error writing to
 *                                              30 minutes    database": retried for half an hour before the
 *                                                            record is taken as the cause (values are cut to
 *                                                            Moodle's column sizes, so it rarely is)
 *   invalidresponse                            acknowledged  the function ran (rows written); only Moodle's
 *                                                            check of its return value failed
 *   anything else                              dead-letter   kept and replayable, never blocks its stream
 *
 * HTTP level: 2xx → read the body as above; 408, 425, 429, 5xx and network errors/timeouts → retry;
 * 3xx and other 4xx (wrong URL, wrong scheme) → dead-letter.
 * A 2xx body that is `[]`, `{}`, `null` or other non-exception JSON is an acknowledgement; so is one that
 * ends in such JSON after PHP notices (the plugin emits warnings for tags without filename/codenum when
 * Moodle displays debugging output).
 */
const RETRYABLE_ERRORCODES = new Set([
  "sitemaintenance",
  "dbconnectionfailed",
  "dmlreadexception",
  "dmltransactionexception",
  "dmlsessionlockerror",
  "sessionwaiterr",
]);
const TRANSIENT_DATABASE_ERROR =
  /deadlock|lock wait timeout|try restarting transaction|server has gone away|lost connection|could not serialize access|connection (reset|refused|timed out)/i;
const RECORD_LEVEL_RETRY_ERRORCODES = new Set(["dmlwriteexception"]);
/** How long a write error that may be the record's own is retried before the record is dead-lettered. */
export const RECORD_RETRY_WINDOW_MS = 30 * 60 * 1000;
const ACKNOWLEDGED_ERRORCODES = new Set(["invalidresponse"]);
const MAX_RESPONSE_BYTES = 64 * 1024;

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** The JSON value Moodle answered with: the whole body, or the exception object / result after PHP notices. */
function moodleJson(body: string): { value: unknown } | undefined {
  const text = body.trim();
  const whole = parseJson(text);
  if (whole) return whole;
  const exceptionAt = text.lastIndexOf('{"exception"');
  if (exceptionAt >= 0) return parseJson(text.slice(exceptionAt));
  for (const tail of ["null", "[]", "{}"])
    if (text.endsWith(tail)) return { value: JSON.parse(tail) as unknown };
  return undefined;
}

function classifyException(errorcode: string, message: string, debuginfo: string): CallOutcome {
  const reason = `Moodle error ${errorcode}: ${message}`.slice(0, 300);
  if (ACKNOWLEDGED_ERRORCODES.has(errorcode)) return { kind: "acknowledged" };
  if (RETRYABLE_ERRORCODES.has(errorcode)) return { kind: "retry", reason };
  if (TRANSIENT_DATABASE_ERROR.test(message) || TRANSIENT_DATABASE_ERROR.test(debuginfo)) {
    const detail = (TRANSIENT_DATABASE_ERROR.exec(message) ?? TRANSIENT_DATABASE_ERROR.exec(debuginfo))?.[0];
    return { kind: "retry", reason: `${reason} (transient: ${detail})`.slice(0, 300) };
  }
  if (RECORD_LEVEL_RETRY_ERRORCODES.has(errorcode))
    return { kind: "retry", reason, giveUpAfterMs: RECORD_RETRY_WINDOW_MS };
  return { kind: "dead-letter", reason, errorcode };
}

/** What a web-service response means for the records sent in it. */
export function classifyMoodleResponse(status: number, body: string): CallOutcome {
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    return { kind: "retry", reason: `HTTP ${status}` };
  }
  if (status < 200 || status >= 300)
    return { kind: "dead-letter", reason: `HTTP ${status} from the web-service URL` };
  const json = moodleJson(body);
  if (!json) return { kind: "retry", reason: `unrecognised response: ${body.slice(0, 120)}` };
  const value = json.value;
  if (isJsonObject(value) && ("exception" in value || "errorcode" in value)) {
    const errorcode = typeof value.errorcode === "string" ? value.errorcode : "unknown";
    const message = typeof value.message === "string" ? value.message : "";
    const debuginfo = typeof value.debuginfo === "string" ? value.debuginfo : "";
    return classifyException(errorcode, message, debuginfo);
  }
  return { kind: "acknowledged" };
}

/** Request path (with query) of one `write_nblogs` call; it carries the token, so it is never logged. */
export function requestPath(target: MoodleTarget): string {
  const query = `wstoken=${encodeURIComponent(target.token)}&wsfunction=${WRITE_NBLOGS}&moodlewsrestformat=json`;
  return `${target.basePath}${REST_PATH}?${query}`;
}

function describeError(error: unknown): string {
  if (isJsonObject(error)) {
    const code = typeof error.code === "string" ? error.code : undefined;
    const name = typeof error.name === "string" ? error.name : undefined;
    const message = typeof error.message === "string" ? error.message : undefined;
    return [code ?? name, message].filter(Boolean).join(": ");
  }
  return String(error);
}

export interface MoodleClientOptions {
  requestTimeoutMs: number;
  /** Keep-alive connections per Moodle origin. */
  connectionsPerOrigin: number;
}

/** Web-service calls over one keep-alive pool per Moodle origin, certificates verified against the system CAs. */
export class MoodleClient {
  private readonly pools: UpstreamPools;

  constructor(private readonly options: MoodleClientOptions) {
    this.pools = new UpstreamPools({
      connectionsPerOrigin: options.connectionsPerOrigin,
      keepAliveTimeoutMs: 30_000,
      connectTimeoutMs: options.requestTimeoutMs,
      clientTls: { rejectUnauthorized: true },
    });
  }

  /** Sends one form body; never throws. Reasons never contain the token. */
  async call(target: MoodleTarget, body: string): Promise<CallOutcome> {
    const outcome = await this.send(target, body);
    if (outcome.kind === "acknowledged" || target.token === "") return outcome;
    return { ...outcome, reason: outcome.reason.split(target.token).join("[redacted]") };
  }

  close(): void {
    this.pools.close();
  }

  private async send(target: MoodleTarget, body: string): Promise<CallOutcome> {
    try {
      const upstream = parseUpstreamTarget(target.origin);
      const response = await fetchBuffered(
        this.pools.for(upstream),
        {
          method: "POST",
          path: requestPath(target),
          headers: {
            host: upstream.originHost,
            "content-type": "application/x-www-form-urlencoded",
            accept: "application/json",
          },
          body: Buffer.from(body),
          timeoutMs: this.options.requestTimeoutMs,
        },
        MAX_RESPONSE_BYTES,
        this.options.requestTimeoutMs,
      );
      return classifyMoodleResponse(response.head.status, response.body.toString("utf8"));
    } catch (error) {
      return { kind: "retry", reason: describeError(error) };
    }
  }
}
