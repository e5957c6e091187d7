import { closeSync, openSync, writeSync } from "node:fs";
import type { CapturedRecord, RecordSink } from "./nb-log-record.js";

/**
 * `--records-file`: every captured record as one JSON line, written synchronously so the file is complete
 * the moment a record counts as captured. The destination (which holds the Moodle token) is left out.
 */
export class RecordsFileSink implements RecordSink {
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
