import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CapturedRecord } from "../../capture/nb-log-record.js";
import { events } from "../../events.js";
import type { Logger } from "../../log/logger.js";
import { AckLog } from "./ack-log.js";
import { DirectoryLock } from "./directory-lock.js";
import { decodeEntry, encodeEntry, recordOfLine, type SpoolEntry } from "./record-codec.js";
import { SegmentLog, type Segment } from "./segment-log.js";

/*
 * The durable delivery queue.
 *
 * Layout of `<dir>` (mode 0700; files 0600 because launch destinations carry Moodle tokens):
 *   seg-<first id, 16 digits>.jsonl  one `{"id":N,"record":{…}}` line per record, ids strictly increasing
 *   acks.log                         lines of comma-separated ids that are done, in any order
 *   lock                             pid of the process owning the spool
 *
 * `append` writes the whole line with one write before it returns, so once it has returned the record survives
 * SIGKILL; fsync on an interval narrows the window for power loss. Ids are never reused (the next id is above
 * every id seen in segments and acks), so a crash between deleting a segment and rewriting acks.log leaves only
 * harmless stale acks.
 *
 * Recovery on open: a last line without "\n" is a write torn by a crash; it was never reported as accepted, so it
 * is cut off. Lines that do not parse are logged and skipped. Everything not acknowledged is pending again, in id
 * order. Delivery is at-least-once: a record sent but not yet acknowledged when the process dies is sent again.
 *
 * Disk use (segments + acks.log) is bounded by `maxBytes`; a full spool refuses records (append → false, event
 * `recordsRefused` with reason spool_full, one log line per episode). Pending lines are also held in memory as
 * strings, so memory follows the same bound.
 */

export type { SpoolEntry };

export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;

/** Where the spool of a data folder lives. */
export function spoolDirectory(dataDir: string): string {
  return join(dataDir, "spool");
}

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  /** Size at which a new segment file starts; default maxBytes/16 within [4 KiB, 8 MiB]. */
  segmentBytes?: number;
  /** fsync interval against power loss; 0 turns it off. Default 1000 ms. */
  fsyncIntervalMs?: number;
  logger?: Logger;
}

export interface SpoolStatus {
  depth: number;
  bytes: number;
  maxBytes: number;
  full: boolean;
  /** Epoch ms of the oldest record not yet acknowledged. */
  oldestCapturedAt?: number;
}

interface PendingLine {
  line: string;
  capturedAt: number;
  segment: Segment;
}

export class Spool {
  private readonly pending = new Map<number, PendingLine>();
  private untaken: number[] = [];
  private head = 0;
  private nextId = 1;
  private full = false;
  private refusedWhileFull = 0;
  private refusedWhileClosed = 0;
  private dirty = false;
  private closed = false;
  private readonly fsyncTimer: NodeJS.Timeout | undefined;
  private readonly dir: string;
  private readonly segments: SegmentLog;
  private readonly acks: AckLog;
  private lock: DirectoryLock | undefined;

  private constructor(private readonly options: SpoolOptions) {
    this.dir = resolve(options.dir);
    const segmentBytes =
      options.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.max(4096, Math.floor(options.maxBytes / 16)));
    this.segments = new SegmentLog(this.dir, segmentBytes);
    this.acks = new AckLog(this.dir);
    const interval = options.fsyncIntervalMs ?? 1000;
    if (interval > 0) {
      this.fsyncTimer = setInterval(() => this.sync(), interval);
      this.fsyncTimer.unref();
    }
  }

  /** Opens (creating or recovering) the spool in `options.dir`; throws SpoolBusyError when another live process owns it. */
  static open(options: SpoolOptions): Spool {
    const spool = new Spool(options);
    mkdirSync(spool.dir, { recursive: true, mode: 0o700 });
    spool.lock = DirectoryLock.acquire(spool.dir);
    try {
      spool.recover();
    } catch (error) {
      if (spool.fsyncTimer) clearInterval(spool.fsyncTimer);
      spool.lock.release();
      throw error;
    }
    return spool;
  }

  /** Durably appends `record`; false (and published as refused) when the spool is full, closed or the disk fails. */
  append(record: CapturedRecord): boolean {
    if (this.closed) {
      // Records captured during shutdown: counted, logged once.
      if (this.refusedWhileClosed++ === 0)
        this.options.logger?.warn("delivery spool is closed: records are refused");
      return refused("spool_closed");
    }
    const id = this.nextId;
    const json = encodeEntry(id, record);
    const line = json + "\n";
    const bytes = Buffer.byteLength(line);
    if (this.segments.bytes + this.acks.bytes + bytes > this.options.maxBytes) return this.refuseFull();
    let appended: { segment: Segment; freed: boolean };
    try {
      appended = this.segments.append(id, line, bytes);
    } catch (error) {
      this.options.logger?.error(`cannot write the delivery spool: ${String(error)}`);
      return refused("spool_error");
    }
    const { segment } = appended;
    if (appended.freed) this.rewriteAcksLogged();
    this.nextId = id + 1;
    this.dirty = true;
    this.pending.set(id, { line: json, capturedAt: record.capturedAt, segment });
    this.untaken.push(id);
    if (this.full) {
      this.full = false;
      this.options.logger?.warn(
        `Delivery spool accepts records again (${this.refusedWhileFull} were refused while it was full)`,
      );
      this.refusedWhileFull = 0;
    }
    return true;
  }

  /** Up to `max` records not yet handed out, oldest first. They stay pending until acknowledged. */
  take(max: number): SpoolEntry[] {
    const out: SpoolEntry[] = [];
    while (out.length < max && this.head < this.untaken.length) {
      const id = this.untaken[this.head++];
      const entry = this.pending.get(id);
      if (entry) out.push({ id, record: recordOfLine(entry.line) });
    }
    if (this.head > 4096 && this.head * 2 > this.untaken.length) {
      this.untaken = this.untaken.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Marks records done (delivered, dead-lettered or refused) and frees fully acknowledged segments. */
  ack(ids: readonly number[]): void {
    const known = ids.filter((id) => this.pending.has(id));
    if (known.length === 0 || this.closed) return;
    try {
      this.acks.append(known);
      this.dirty = true;
    } catch (error) {
      // Not fatal: without the ack line these records are only sent again after a restart.
      this.options.logger?.error(`cannot write delivery acknowledgements: ${String(error)}`);
    }
    let freed = false;
    for (const id of known) {
      const entry = this.pending.get(id);
      if (!entry) continue;
      this.pending.delete(id);
      entry.segment.pending -= 1;
      entry.segment.acked.push(id);
      if (entry.segment.pending === 0 && entry.segment !== this.segments.active) {
        if (this.segments.delete(entry.segment)) freed = true;
        else this.options.logger?.error(`cannot delete delivered spool segment ${entry.segment.path}`);
      }
    }
    if (freed) this.rewriteAcksLogged();
  }

  /** Records appended and not yet acknowledged. */
  get depth(): number {
    return this.pending.size;
  }

  /** Records not yet handed out by `take`. */
  get untakenCount(): number {
    return this.untaken.length - this.head;
  }

  /** `capturedAt` of the oldest unacknowledged record. */
  get oldestCapturedAt(): number | undefined {
    for (const entry of this.pending.values()) return entry.capturedAt;
    return undefined;
  }

  get bytes(): number {
    return this.segments.bytes + this.acks.bytes;
  }

  get isFull(): boolean {
    return this.full;
  }

  status(): SpoolStatus {
    return {
      depth: this.depth,
      bytes: this.bytes,
      maxBytes: this.options.maxBytes,
      full: this.full,
      oldestCapturedAt: this.oldestCapturedAt,
    };
  }

  /** Flushes to stable storage. */
  sync(): void {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    try {
      this.segments.sync();
      this.acks.sync();
    } catch (error) {
      this.options.logger?.error(`cannot fsync the delivery spool: ${String(error)}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.sync();
    this.closed = true;
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    this.segments.close();
    this.acks.close();
    this.lock?.release();
  }

  private refuseFull(): false {
    if (!this.full) {
      this.full = true;
      this.options.logger?.error(
        `Delivery spool ${this.dir} is full (${this.bytes} of ${this.options.maxBytes} bytes): new records are refused until Moodle takes the backlog; proxying continues`,
      );
    }
    this.refusedWhileFull += 1;
    return refused("spool_full");
  }

  private recover(): void {
    const acked = this.acks.readAcked();
    let maxId = 0;
    for (const id of acked) maxId = Math.max(maxId, id);
    let skipped = 0;
    for (const { segment, lines, torn } of this.segments.recover()) {
      const name = segment.path.slice(this.dir.length + 1);
      if (torn > 0)
        this.options.logger?.warn(`delivery spool: dropping a torn last line (${torn} bytes) of ${name}`);
      maxId = Math.max(maxId, segment.firstId - 1);
      for (const line of lines) {
        const entry = decodeEntry(line);
        if (!entry) {
          skipped += 1;
          continue;
        }
        maxId = Math.max(maxId, entry.id);
        if (acked.has(entry.id)) segment.acked.push(entry.id);
        else if (!this.pending.has(entry.id)) {
          this.pending.set(entry.id, { line, capturedAt: entry.record.capturedAt, segment });
          this.untaken.push(entry.id);
          segment.pending += 1;
        }
      }
    }
    if (skipped > 0) this.options.logger?.warn(`delivery spool: skipped ${skipped} unreadable lines`);
    this.nextId = maxId + 1;
    this.segments.resume(this.nextId);
    this.rewriteAcks();
    if (this.pending.size > 0) {
      this.options.logger?.info(
        `delivery spool: ${this.pending.size} records waiting for delivery from a previous run`,
      );
    }
  }

  /** A failed rewrite leaves the old acks.log, which still names every done record: nothing is lost. */
  private rewriteAcksLogged(): void {
    try {
      this.rewriteAcks();
    } catch (error) {
      this.options.logger?.error(`cannot rewrite delivery acknowledgements: ${String(error)}`);
    }
  }

  private rewriteAcks(): void {
    this.acks.rewrite(Array.from(this.segments.segments.values(), (segment) => segment.acked));
  }
}

function refused(reason: string): false {
  if (events.recordsRefused.active) events.recordsRefused.publish({ reason, count: 1 });
  return false;
}
