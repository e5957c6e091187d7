import type { MoodleDestination } from "../lti/launch-context.js";

/**
 * The record mod_lticontainer's web-service function `mod_lticontainer_write_nblogs` stores,
 * and the small interfaces the capture stages hand records through.
 */

export type RecordKind = "ltictr" | "client" | "server";

/** The ten `nb_logs[0][…]` fields, in the order the C proxy's form body sends them. */
export const NB_LOG_FIELDS = [
  "host",
  "inst_id",
  "lti_id",
  "session",
  "message",
  "status",
  "username",
  "cell_id",
  "tags",
  "date",
] as const;

export type NbLogField = (typeof NB_LOG_FIELDS)[number];

/** Missing values are empty strings, as Moodle receives them. */
export type NbLog = { host: RecordKind } & Record<Exclude<NbLogField, "host">, string>;

export interface CapturedRecord {
  log: NbLog;
  /** Ordering key (the WebSocket's `session_id`): records of one stream are delivered in capture order. */
  stream: string;
  /** Moodle named by the launch context; undefined means the proxy's configured Moodle. */
  destination?: MoodleDestination;
  /** Epoch milliseconds. */
  capturedAt: number;
}

/** Where captured records go. `accept` returns once the record is durable (or definitively refused). */
export interface RecordSink {
  accept(record: CapturedRecord): void;
}

export function emptyNbLog(host: RecordKind): NbLog {
  return {
    host,
    inst_id: "",
    lti_id: "",
    session: "",
    message: "",
    status: "",
    username: "",
    cell_id: "",
    tags: "",
    date: "",
  };
}
