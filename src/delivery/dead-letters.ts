import { closeSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { CapturedRecord } from "../capture/nb-log-record.js";
import type { Logger } from "../log/logger.js";
import { toCapturedRecord } from "./spool/record-codec.js";
import { DEFAULT_SPOOL_MAX_BYTES, Spool, spoolDirectory } from "./spool/spool.js";

/*
 * Records Moodle refused for good (bad token, missing permission, invalid parameter, …) are kept in
 * `<dataDir>/dead-letters.jsonl`, one `{"record":…,"reason":…,"errorcode":…,"deadAt":…}` per line (mode 0600:
 * launch destinations carry tokens). Replaying moves them back into the spool once the cause is fixed.
 */

export const DEAD_LETTER_FILE = "dead-letters.jsonl";
const REPLAYING = /^dead-letters\.replaying-\d+\.jsonl$/;

export interface DeadLetter {
  record: CapturedRecord;
  reason: string;
  errorcode?: string;
  deadAt: number;
}

function appendLine(path: string, line: string): void {
  // Opened per write: a replay may rename the file at any time, and dead letters are rare.
  const fd = openSync(path, "a", 0o600);
  try {
    const buffer = Buffer.from(line, "utf8");
    let offset = 0;
    while (offset < buffer.length) offset += writeSync(fd, buffer, offset, buffer.length - offset);
  } finally {
    closeSync(fd);
  }
}

export class DeadLetterFile {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, DEAD_LETTER_FILE);
  }

  /** Durably records `record` as dead; throws if the file cannot be written (the caller keeps the record). */
  append(letter: DeadLetter): void {
    appendLine(this.path, JSON.stringify(letter) + "\n");
  }

  /**
   * The newest `limit` dead letters (newest first) and how many there are, for the operator; records keep their
   * Moodle token out (`destination` is reduced to its URL).
   */
  list(limit: number): { total: number; letters: DeadLetterSummary[] } {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { total: 0, letters: [] };
      throw error;
    }
    const lines = text.split("\n").filter((line) => line.trim() !== "");
    const letters: DeadLetterSummary[] = [];
    for (let i = lines.length - 1; i >= 0 && letters.length < limit; i--) {
      const letter = summaryOf(lines[i]);
      if (letter) letters.push(letter);
    }
    return { total: lines.length, letters };
  }
}

/** A dead letter as the operator sees it: the record without its Moodle token. */
export interface DeadLetterSummary {
  log: CapturedRecord["log"];
  moodle?: string;
  reason: string;
  errorcode?: string;
  deadAt: number;
}

function summaryOf(line: string): DeadLetterSummary | undefined {
  try {
    const value = JSON.parse(line) as Partial<DeadLetter>;
    const record = toCapturedRecord(value.record);
    if (!record || typeof value.reason !== "string" || typeof value.deadAt !== "number") return undefined;
    return {
      log: record.log,
      moodle: record.destination?.baseUrl,
      reason: value.reason,
      errorcode: typeof value.errorcode === "string" ? value.errorcode : undefined,
      deadAt: value.deadAt,
    };
  } catch {
    return undefined;
  }
}

export interface ReplayResult {
  /** Records moved back into the spool. */
  replayed: number;
  /** Lines left in the dead-letter file (spool full, or not a record). */
  kept: number;
}

export interface ReplayOptions {
  /** The spool of a running DeliveryService; otherwise the data folder's spool is opened (and must be free). */
  spool?: Spool;
  spoolMaxBytes?: number;
  logger?: Logger;
}

/**
 * Moves all dead letters of `dataDir` back into its spool. Crash-safe: the file is first renamed aside, and a
 * leftover renamed file from an interrupted replay is picked up by the next one (its records may then be
 * spooled twice, which at-least-once delivery allows).
 */
export function replayDeadLetters(dataDir: string, options: ReplayOptions = {}): ReplayResult {
  const spool =
    options.spool ??
    Spool.open({
      dir: spoolDirectory(dataDir),
      maxBytes: options.spoolMaxBytes ?? DEFAULT_SPOOL_MAX_BYTES,
      logger: options.logger,
    });
  const result: ReplayResult = { replayed: 0, kept: 0 };
  try {
    const deadFile = new DeadLetterFile(dataDir);
    const files = readdirSync(dataDir)
      .filter((name) => REPLAYING.test(name))
      .sort()
      .map((name) => join(dataDir, name));
    const aside = join(dataDir, `dead-letters.replaying-${Date.now()}.jsonl`);
    try {
      renameSync(deadFile.path, aside);
      files.push(aside);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ENOENT") throw error;
    }
    for (const file of files) {
      const data = readFileSync(file, "utf8");
      for (const line of data.split("\n")) {
        if (line.trim() === "") continue;
        const record = recordOf(line);
        if (record && spool.append(record)) result.replayed += 1;
        else {
          appendLine(deadFile.path, line + "\n");
          result.kept += 1;
        }
      }
      unlinkSync(file);
    }
  } finally {
    if (!options.spool) spool.close();
  }
  options.logger?.info(
    `Replayed ${result.replayed} dead-letter records into the delivery spool` +
      (result.kept > 0 ? `; ${result.kept} stay in ${DEAD_LETTER_FILE}` : ""),
  );
  return result;
}

function recordOf(line: string): CapturedRecord | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === "object" && value !== null
      ? toCapturedRecord((value as { record?: unknown }).record)
      : undefined;
  } catch {
    return undefined;
  }
}
