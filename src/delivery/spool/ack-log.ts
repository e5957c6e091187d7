import { closeSync, fsyncSync, openSync, renameSync } from "node:fs";
import { join } from "node:path";
import { completeLines, writeAll } from "./file-lines.js";

/**
 * `acks.log`: lines of comma-separated ids that are done (delivered, dead-lettered or refused), in any order.
 * Appended as acknowledgements come; rewritten (tmp file + rename) to the acks of the remaining segments when a
 * segment is deleted, so it never grows beyond what the segments still hold.
 */
export class AckLog {
  private fd = -1;
  private size = 0;

  constructor(private readonly dir: string) {}

  private get path(): string {
    return join(this.dir, "acks.log");
  }

  /** The ids acknowledged in an earlier run (complete lines only). */
  readAcked(): Set<number> {
    const acked = new Set<number>();
    let lines: string[] = [];
    try {
      lines = completeLines(this.path).lines;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    for (const line of lines) {
      for (const part of line.split(",")) if (/^\d+$/.test(part)) acked.add(Number(part));
    }
    return acked;
  }

  get bytes(): number {
    return this.size;
  }

  /** Appends one line of ids; returns its size. Throws when the disk refuses. */
  append(ids: readonly number[]): number {
    const line = ids.join(",") + "\n";
    writeAll(this.fd, line);
    const bytes = Buffer.byteLength(line);
    this.size += bytes;
    return bytes;
  }

  /** Replaces the file with these groups of ids (one line each) and appends from there. */
  rewrite(groups: Iterable<readonly number[]>): void {
    const tmp = `${this.path}.tmp`;
    let content = "";
    for (const ids of groups) if (ids.length > 0) content += ids.join(",") + "\n";
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeAll(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = openSync(this.path, "a", 0o600);
    this.size = Buffer.byteLength(content);
  }

  sync(): void {
    if (this.fd >= 0) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
