import { closeSync, openSync, writeSync } from "node:fs";
import type { CapturedRecord } from "./nb-log-record.js";
import type { RecordStage } from "./records-fan-out.js";

/**
 * `--records-file`: every captured record as one JSON line, written synchronously so the file is complete
 * the moment a record counts as captured. The destination (which holds the Moodle token) is left out.
 */
export class RecordsFileSink implements RecordStage {
  readonly name = "records file";
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, "a", 0o600);
  }

  accept(record: CapturedRecord): void {
    writeSync(
      this.fd,
      `${JSON.stringify({ log: record.log, stream: record.stream, capturedAt: record.capturedAt })}\n`,
    );
  }

  close(): void {
    closeSync(this.fd);
  }
}
