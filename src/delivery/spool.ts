import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { NB_LOG_FIELDS, type CapturedRecord } from "../capture/nb-log-record.js";
import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";

/*
 * The durable delivery queue.
 *
 * Layout of `<dir>` (mode 0700; files 0600 because launch destinations carry Moodle tokens):
 *   seg-<first id, 16 digits>.jsonl  one `{"id":N,"record":{…}}` line per record, ids strictly increasing
 *   acks.log                         lines of comma-separated ids that Moodle acknowledged (or that were
 *                                    dead-lettered / refused), in any order
 *   lock                             pid of the process owning the spool
 *
 * `append` writes the whole line with one writeSync before it returns, so once it has returned the record
 * survives SIGKILL (it is in the page cache); fsync on an interval narrows the window for power loss.
 * Records are appended to the newest ("active") segment; at `segmentBytes` a new one starts. A segment whose
 * records are all acknowledged is deleted (never the active one), and then acks.log is rewritten to the acks
 * of the remaining segments (tmp file + rename). Ids are never reused (the next id is above every id seen in
 * segments and acks), so a crash between the two steps leaves only harmless stale acks.
 *
 * Recovery on open: a last line without "\n" is a write torn by a crash; it was never reported as accepted, so
 * it is cut off (the file is truncated back to the last "\n", so later appends start on a clean line). Lines
 * that do not parse are logged and skipped. Everything not acknowledged is pending again, in id order.
 * Delivery is at-least-once: a record sent but not yet acknowledged when the process dies is sent again.
 *
 * Disk use (segments + acks.log) is bounded by `maxBytes`; a full spool refuses records (append → false,
 * metric ltictr_refused_records{reason="spool_full"}, one log line per episode). Pending lines are also held
 * in memory as strings, so memory follows the same bound.
 */

export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;

/** Where the spool of a data folder lives. */
export function spoolDirectory(dataDir: string): string {
  return join(dataDir, "spool");
}

export interface SpoolEntry {
  id: number;
  record: CapturedRecord;
}

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  /** Size at which a new segment file starts; default maxBytes/16 within [4 KiB, 8 MiB]. */
  segmentBytes?: number;
  /** fsync interval against power loss; 0 turns it off. Default 1000 ms. */
  fsyncIntervalMs?: number;
  logger?: Logger;
  metrics?: ProxyMetrics;
}

interface Segment {
  firstId: number;
  path: string;
  bytes: number;
  pending: number;
  acked: number[];
}

interface PendingLine {
  line: string;
  capturedAt: number;
  segment: Segment;
}

const SEGMENT_NAME = /^seg-(\d{16})\.jsonl$/;
const heldDirs = new Set<string>();

function segmentName(firstId: number): string {
  return `seg-${String(firstId).padStart(16, "0")}.jsonl`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A CapturedRecord read back from disk, or undefined when the value is not one. */
export function toCapturedRecord(value: unknown): CapturedRecord | undefined {
  if (!isObject(value) || !isObject(value.log)) return undefined;
  const { log, stream, capturedAt, destination } = value;
  if (log.host !== "ltictr" && log.host !== "client" && log.host !== "server") return undefined;
  if (!NB_LOG_FIELDS.every((field) => typeof log[field] === "string")) return undefined;
  if (typeof stream !== "string" || typeof capturedAt !== "number" || !Number.isFinite(capturedAt))
    return undefined;
  if (destination !== undefined) {
    if (
      !isObject(destination) ||
      typeof destination.baseUrl !== "string" ||
      typeof destination.token !== "string"
    ) {
      return undefined;
    }
  }
  return value as unknown as CapturedRecord;
}

function writeAll(fd: number, text: string): void {
  const buffer = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < buffer.length) offset += writeSync(fd, buffer, offset, buffer.length - offset);
}

function errorCode(error: unknown): string | undefined {
  return isObject(error) && typeof error.code === "string" ? error.code : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM";
  }
}

/** Lines ending in "\n" and the byte length they cover; what follows the last "\n" is a torn write. */
function completeLines(path: string): { lines: string[]; bytes: number; torn: number } {
  const data = readFileSync(path);
  const end = data.lastIndexOf(0x0a) + 1;
  const text = data.subarray(0, end).toString("utf8");
  const lines = text === "" ? [] : text.slice(0, -1).split("\n");
  return { lines, bytes: end, torn: data.length - end };
}

export class SpoolBusyError extends Error {
  override readonly name = "SpoolBusyError";
}

export class Spool {
  private readonly segments = new Map<number, Segment>();
  private readonly pending = new Map<number, PendingLine>();
  private untaken: number[] = [];
  private head = 0;
  private active!: Segment;
  private activeFd = -1;
  private ackFd = -1;
  private ackBytes = 0;
  private totalBytes = 0;
  private nextId = 1;
  private full = false;
  private refusedWhileFull = 0;
  private refusedWhileClosed = 0;
  private dirty = false;
  private closed = false;
  private readonly fsyncTimer: NodeJS.Timeout | undefined;
  private readonly segmentBytes: number;
  private readonly dir: string;

  private constructor(private readonly options: SpoolOptions) {
    this.dir = resolve(options.dir);
    this.segmentBytes =
      options.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.max(4096, Math.floor(options.maxBytes / 16)));
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
    spool.lock();
    try {
      spool.recover();
    } catch (error) {
      spool.unlock();
      throw error;
    }
    return spool;
  }

  /** Durably appends `record`; false (and counted) when the spool is full or the disk fails. */
  append(record: CapturedRecord): boolean {
    if (this.closed) {
      // Records captured during shutdown: counted, logged once.
      if (this.refusedWhileClosed++ === 0)
        this.options.logger?.warn("delivery spool is closed: records are refused");
      this.options.metrics?.refusedRecords.inc({ reason: "spool_closed" });
      return false;
    }
    const id = this.nextId;
    const json = JSON.stringify({ id, record });
    const line = json + "\n";
    const bytes = Buffer.byteLength(line);
    if (this.totalBytes + bytes > this.options.maxBytes) return this.refuseFull();
    try {
      if (this.active.bytes > 0 && this.active.bytes + bytes > this.segmentBytes) this.rotate(id);
      writeAll(this.activeFd, line);
    } catch (error) {
      this.repairActive();
      return this.refuse("spool_error", `cannot write the delivery spool: ${String(error)}`);
    }
    this.nextId = id + 1;
    this.active.bytes += bytes;
    this.active.pending += 1;
    this.totalBytes += bytes;
    this.dirty = true;
    this.pending.set(id, { line: json, capturedAt: record.capturedAt, segment: this.active });
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
      if (entry) out.push({ id, record: (JSON.parse(entry.line) as { record: CapturedRecord }).record });
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
    const line = known.join(",") + "\n";
    try {
      writeAll(this.ackFd, line);
      this.ackBytes += Buffer.byteLength(line);
      this.totalBytes += Buffer.byteLength(line);
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
      if (entry.segment.pending === 0 && entry.segment !== this.active) {
        this.deleteSegment(entry.segment);
        freed = true;
      }
    }
    if (freed) this.rewriteAcks();
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
    return this.totalBytes;
  }

  get isFull(): boolean {
    return this.full;
  }

  /** Flushes to stable storage. */
  sync(): void {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    try {
      fsyncSync(this.activeFd);
      fsyncSync(this.ackFd);
    } catch (error) {
      this.options.logger?.error(`cannot fsync the delivery spool: ${String(error)}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.sync();
    this.closed = true;
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    closeSync(this.activeFd);
    closeSync(this.ackFd);
    this.unlock();
  }

  private refuseFull(): false {
    if (!this.full) {
      this.full = true;
      this.options.logger?.error(
        `Delivery spool ${this.dir} is full (${this.totalBytes} of ${this.options.maxBytes} bytes): new records are refused until Moodle takes the backlog; proxying continues`,
      );
    }
    this.refusedWhileFull += 1;
    this.options.metrics?.refusedRecords.inc({ reason: "spool_full" });
    return false;
  }

  private refuse(reason: string, message: string): false {
    this.options.logger?.error(message);
    this.options.metrics?.refusedRecords.inc({ reason });
    return false;
  }

  private lock(): void {
    const path = join(this.dir, "lock");
    if (heldDirs.has(this.dir))
      throw new SpoolBusyError(`delivery spool ${this.dir} is already open in this process`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o600);
        writeAll(fd, String(process.pid));
        closeSync(fd);
        heldDirs.add(this.dir);
        return;
      } catch (error) {
        if (errorCode(error) !== "EEXIST") throw error;
        const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
          throw new SpoolBusyError(`delivery spool ${this.dir} is in use by process ${pid}`);
        }
        unlinkSync(path);
      }
    }
    throw new SpoolBusyError(`cannot lock delivery spool ${this.dir}`);
  }

  private unlock(): void {
    if (!heldDirs.delete(this.dir)) return;
    try {
      unlinkSync(join(this.dir, "lock"));
    } catch {
      // Already gone; the next open checks the pid anyway.
    }
  }

  private recover(): void {
    const acked = this.readAcks();
    let maxId = 0;
    for (const id of acked) maxId = Math.max(maxId, id);
    const names = readdirSync(this.dir)
      .filter((name) => SEGMENT_NAME.test(name))
      .sort();
    let skipped = 0;
    for (const name of names) {
      const segment: Segment = {
        firstId: Number(SEGMENT_NAME.exec(name)?.[1]),
        path: join(this.dir, name),
        bytes: 0,
        pending: 0,
        acked: [],
      };
      maxId = Math.max(maxId, segment.firstId - 1);
      const { lines, bytes, torn } = completeLines(segment.path);
      if (torn > 0) {
        this.options.logger?.warn(`delivery spool: dropping a torn last line (${torn} bytes) of ${name}`);
        const fd = openSync(segment.path, "r+");
        ftruncateSync(fd, bytes);
        closeSync(fd);
      }
      segment.bytes = bytes;
      for (const line of lines) {
        const entry = this.parseLine(line);
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
      this.segments.set(segment.firstId, segment);
      this.totalBytes += segment.bytes;
    }
    if (skipped > 0) this.options.logger?.warn(`delivery spool: skipped ${skipped} unreadable lines`);
    this.nextId = maxId + 1;
    const last = [...this.segments.values()].at(-1);
    for (const segment of this.segments.values()) {
      if (segment.pending === 0 && segment !== last) this.deleteSegment(segment);
    }
    if (last && last.bytes < this.segmentBytes) {
      this.active = last;
      this.activeFd = openSync(last.path, "a", 0o600);
    } else {
      this.rotate(this.nextId);
      if (last && last.pending === 0) this.deleteSegment(last);
    }
    this.rewriteAcks();
    if (this.pending.size > 0) {
      this.options.logger?.info(
        `delivery spool: ${this.pending.size} records waiting for delivery from a previous run`,
      );
    }
  }

  private parseLine(line: string): SpoolEntry | undefined {
    try {
      const value: unknown = JSON.parse(line);
      if (!isObject(value) || typeof value.id !== "number" || !Number.isSafeInteger(value.id))
        return undefined;
      const record = toCapturedRecord(value.record);
      return record ? { id: value.id, record } : undefined;
    } catch {
      return undefined;
    }
  }

  private readAcks(): Set<number> {
    const acked = new Set<number>();
    let lines: string[] = [];
    try {
      lines = completeLines(join(this.dir, "acks.log")).lines;
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
    }
    for (const line of lines) {
      for (const part of line.split(",")) {
        if (/^\d+$/.test(part)) acked.add(Number(part));
      }
    }
    return acked;
  }

  private rotate(firstId: number): void {
    const previous = this.activeFd >= 0 ? this.active : undefined;
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
    this.active = segment;
    if (previous && previous.pending === 0) {
      this.deleteSegment(previous);
      this.rewriteAcks();
    }
  }

  /** After a failed write the active segment may end in a partial line: cut it so the next line starts clean. */
  private repairActive(): void {
    try {
      ftruncateSync(this.activeFd, this.active.bytes);
    } catch (error) {
      this.options.logger?.error(`cannot repair the delivery spool segment: ${String(error)}`);
    }
  }

  private deleteSegment(segment: Segment): void {
    try {
      unlinkSync(segment.path);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") {
        this.options.logger?.error(`cannot delete delivered spool segment: ${String(error)}`);
        return;
      }
    }
    this.segments.delete(segment.firstId);
    this.totalBytes -= segment.bytes;
  }

  private rewriteAcks(): void {
    const path = join(this.dir, "acks.log");
    const tmp = `${path}.tmp`;
    const content = [...this.segments.values()]
      .filter((segment) => segment.acked.length > 0)
      .map((segment) => segment.acked.join(",") + "\n")
      .join("");
    const fd = openSync(tmp, "w", 0o600);
    writeAll(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    if (this.ackFd >= 0) closeSync(this.ackFd);
    this.ackFd = openSync(path, "a", 0o600);
    this.totalBytes += Buffer.byteLength(content) - this.ackBytes;
    this.ackBytes = Buffer.byteLength(content);
  }
}
