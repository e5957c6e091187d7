import { closeSync, fsyncSync, ftruncateSync, openSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { completeLines, writeAll } from "./file-lines.js";

/** One `seg-<first id, 16 digits>.jsonl` file. */
export interface Segment {
  firstId: number;
  path: string;
  bytes: number;
  /** Records in it not yet acknowledged. */
  pending: number;
  /** Ids in it that are done: what acks.log must keep while the file exists. */
  acked: number[];
}

const SEGMENT_NAME = /^seg-(\d{16})\.jsonl$/;

function segmentName(firstId: number): string {
  return `seg-${String(firstId).padStart(16, "0")}.jsonl`;
}

/** A segment's lines as recovery finds them; a torn last line has been cut off. */
export interface RecoveredSegment {
  segment: Segment;
  lines: string[];
  /** Bytes of a last line without "\n" (a write torn by a crash), removed from the file. */
  torn: number;
}

/**
 * The record lines: appended to the newest ("active") segment, a new segment started at `segmentBytes`, a
 * segment deleted once all its records are done (never the active one). Every append is one write of the whole
 * line, so once it returns the line survives SIGKILL (it is in the page cache).
 */
export class SegmentLog {
  readonly segments = new Map<number, Segment>();
  private activeSegment!: Segment;
  private activeFd = -1;
  private size = 0;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
  ) {}

  get active(): Segment {
    return this.activeSegment;
  }

  /** Bytes of all segment files. */
  get bytes(): number {
    return this.size;
  }

  /** Reads every segment in id order; the caller decides what each line is. */
  recover(): RecoveredSegment[] {
    const names = readdirSync(this.dir)
      .filter((name) => SEGMENT_NAME.test(name))
      .sort();
    const recovered: RecoveredSegment[] = [];
    for (const name of names) {
      const segment: Segment = {
        firstId: Number(SEGMENT_NAME.exec(name)?.[1]),
        path: join(this.dir, name),
        bytes: 0,
        pending: 0,
        acked: [],
      };
      const { lines, bytes, torn } = completeLines(segment.path);
      if (torn > 0) {
        const fd = openSync(segment.path, "r+");
        ftruncateSync(fd, bytes);
        closeSync(fd);
      }
      segment.bytes = bytes;
      this.segments.set(segment.firstId, segment);
      this.size += bytes;
      recovered.push({ segment, lines, torn });
    }
    return recovered;
  }

  /**
   * After recovery: appends continue in the last segment if it has room, else in a new one starting at `nextId`.
   * Segments left without pending records (other than the active one) are deleted; returns whether any was.
   */
  resume(nextId: number): boolean {
    const last = [...this.segments.values()].at(-1);
    let deleted = false;
    for (const segment of this.segments.values()) {
      if (segment.pending === 0 && segment !== last) deleted = this.delete(segment) || deleted;
    }
    if (last && last.bytes < this.segmentBytes) {
      this.activeSegment = last;
      this.activeFd = openSync(last.path, "a", 0o600);
    } else {
      deleted = this.rotate(nextId) || deleted;
      if (last && last.pending === 0) deleted = this.delete(last) || deleted;
    }
    return deleted;
  }

  /**
   * Appends one line (with its "\n") for record `id`; returns the segment it went to, and whether starting a new
   * segment deleted a finished one. Throws when the disk refuses.
   */
  append(id: number, line: string, bytes: number): { segment: Segment; freed: boolean } {
    let freed = false;
    if (this.activeSegment.bytes > 0 && this.activeSegment.bytes + bytes > this.segmentBytes)
      freed = this.rotate(id);
    try {
      writeAll(this.activeFd, line);
    } catch (error) {
      this.repairActive();
      throw error;
    }
    this.activeSegment.bytes += bytes;
    this.activeSegment.pending += 1;
    this.size += bytes;
    return { segment: this.activeSegment, freed };
  }

  /** Deletes a segment whose records are all done; false when the file could not be removed. */
  delete(segment: Segment): boolean {
    try {
      unlinkSync(segment.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return false;
    }
    this.segments.delete(segment.firstId);
    this.size -= segment.bytes;
    return true;
  }

  sync(): void {
    if (this.activeFd >= 0) fsyncSync(this.activeFd);
  }

  close(): void {
    if (this.activeFd >= 0) closeSync(this.activeFd);
    this.activeFd = -1;
  }

  /** Starts a new active segment; the previous one goes if nothing in it is pending. Returns whether it went. */
  private rotate(firstId: number): boolean {
    const previous = this.activeFd >= 0 ? this.activeSegment : undefined;
    if (this.activeFd >= 0) {
      fsyncSync(this.activeFd);
      closeSync(this.activeFd);
      this.activeFd = -1;
    }
    const segment: Segment = {
      firstId,
      path: join(this.dir, segmentName(firstId)),
      bytes: 0,
      pending: 0,
      acked: [],
    };
    this.activeFd = openSync(segment.path, "a", 0o600);
    this.segments.set(firstId, segment);
    this.activeSegment = segment;
    return previous !== undefined && previous.pending === 0 && this.delete(previous);
  }

  /** After a failed write the active segment may end in a partial line: cut it so the next line starts clean. */
  private repairActive(): void {
    try {
      ftruncateSync(this.activeFd, this.activeSegment.bytes);
    } catch {
      // The next append's failure will be reported in turn.
    }
  }
}
