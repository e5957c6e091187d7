import { NB_LOG_FIELDS, type CapturedRecord } from "../../capture/nb-log-record.js";
import { isJsonObject } from "../../json-object.js";

/** One spooled record: its id and the record, as one JSON line `{"id":N,"record":{…}}`. */
export interface SpoolEntry {
  id: number;
  record: CapturedRecord;
}

/** A CapturedRecord read back from disk, or undefined when the value is not one. */
export function toCapturedRecord(value: unknown): CapturedRecord | undefined {
  if (!isJsonObject(value) || !isJsonObject(value.log)) return undefined;
  const { log, stream, capturedAt, destination } = value;
  if (log.host !== "ltictr" && log.host !== "client" && log.host !== "server") return undefined;
  if (!NB_LOG_FIELDS.every((field) => typeof log[field] === "string")) return undefined;
  if (typeof stream !== "string" || typeof capturedAt !== "number" || !Number.isFinite(capturedAt))
    return undefined;
  if (destination !== undefined) {
    if (
      !isJsonObject(destination) ||
      typeof destination.baseUrl !== "string" ||
      typeof destination.token !== "string"
    ) {
      return undefined;
    }
  }
  return value as unknown as CapturedRecord;
}

/** The line (without its newline) that stores `record` under `id`. */
export function encodeEntry(id: number, record: CapturedRecord): string {
  return JSON.stringify({ id, record });
}

/** The entry a line holds, or undefined when it is not one (skipped, and counted, by recovery). */
export function decodeEntry(line: string): SpoolEntry | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (!isJsonObject(value) || typeof value.id !== "number" || !Number.isSafeInteger(value.id))
      return undefined;
    const record = toCapturedRecord(value.record);
    return record ? { id: value.id, record } : undefined;
  } catch {
    return undefined;
  }
}

/** The record of a line written by `encodeEntry` (trusted: it was checked when it entered memory). */
export function recordOfLine(line: string): CapturedRecord {
  return (JSON.parse(line) as { record: CapturedRecord }).record;
}
