import { writeSync } from "node:fs";

/**
 * Lines waiting for a reader that does not keep up are held up to this many bytes (≈ 40,000 lines); beyond it they
 * are dropped and counted, so a stalled reader costs bounded memory.
 */
const LOG_BUFFER_LIMIT = 4 * 1024 * 1024;
/** How often held lines are offered to a full pipe again. */
const RETRY_MS = 50;
/** At exit, held lines are written for at most this long: a reader that never reads must not hold the exit. */
const EXIT_FLUSH_MS = 2000;

export interface LogOutputOptions {
  fd: number;
  limit?: number;
  /** Called once the held lines are all written, when some were dropped since the last call. */
  onDropped(lines: number): void;
  /** The write itself: `fs.writeSync`, replaced in tests by a disk that fills and empties. */
  writeSync?: (fd: number, data: string | Buffer) => number;
}

/**
 * Write errors that pass: a pipe whose reader is behind (EAGAIN), a full disk under a log file (ENOSPC), a signal
 * during the write (EINTR). Lines are held and offered again; any other error ends the output.
 */
const TRANSIENT = new Set(["EAGAIN", "ENOSPC", "EINTR"]);

// Two calls, not one: `writeSync` has one overload for strings and one for buffers, none for either.
const systemWrite = (fd: number, data: string | Buffer): number =>
  typeof data === "string" ? writeSync(fd, data) : writeSync(fd, data);

/**
 * Log lines written without ever blocking the proxy on its reader, and without throwing. A synchronous write per
 * line threw EAGAIN as soon as the pipe's reader (a supervisor, `| tee`, a container's log driver) fell 64 KiB
 * behind, and EPIPE once it went away: the exception inside a log call took the proxy down for everyone.
 *
 * A line is written at once while the reader keeps up: measured alone, an API call's answer came ≈ 15 µs later when
 * the lines were written after it (at the end of the event loop's turn), and ≈ 20 µs later when they went through
 * libuv's thread pool (asynchronous writes). When the pipe (or the disk under a log file) is full, lines are held in
 * memory, bounded, in order, and offered again on a timer; a reader gone stops logging with one line on stderr. At
 * exit, held lines are written, for a bounded time.
 */
export class LogOutput {
  private readonly fd: number;
  private readonly limit: number;
  private readonly onDropped: (lines: number) => void;
  private readonly writeSync: (fd: number, data: string | Buffer) => number;
  /** Lines (or a line's rest) the pipe did not take yet, in order. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private dropped = 0;
  private failed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor({ fd, limit = LOG_BUFFER_LIMIT, onDropped, writeSync: write = systemWrite }: LogOutputOptions) {
    this.fd = fd;
    this.limit = limit;
    this.onDropped = onDropped;
    this.writeSync = write;
    process.on("exit", () => this.writeAtExit());
  }

  write(text: string): void {
    if (this.failed) return;
    if (this.held.length > 0) {
      this.hold(Buffer.from(text));
      return;
    }
    try {
      const written = this.writeSync(this.fd, text);
      if (written < Buffer.byteLength(text)) this.hold(Buffer.from(text).subarray(written));
    } catch (error) {
      if (this.passes(error)) this.hold(Buffer.from(text));
    }
  }

  private hold(bytes: Buffer): void {
    // Once lines are dropped, so are the next ones until the held lines are out: the log keeps no gap but one, told.
    if (this.dropped > 0 || this.heldBytes + bytes.length > this.limit) {
      this.dropped += lineCount(bytes);
      return;
    }
    if (this.held.length === 0) this.retryLater();
    this.held.push(bytes);
    this.heldBytes += bytes.length;
  }

  private retryLater(): void {
    this.retry = setTimeout(() => this.writeHeld(), RETRY_MS);
    this.retry.unref();
  }

  private writeHeld(): void {
    if (this.writeHeldNow()) this.reportDropped();
    else this.retryLater();
  }

  /** Writes held lines until the pipe is full again; true when none are left. */
  private writeHeldNow(): boolean {
    while (this.held.length > 0) {
      const first = this.held[0] as Buffer;
      let written: number;
      try {
        written = this.writeSync(this.fd, first);
      } catch (error) {
        return !this.passes(error);
      }
      this.heldBytes -= written;
      if (written < first.length) this.held[0] = first.subarray(written);
      else this.held.shift();
    }
    return true;
  }

  /** Once the held lines are out: how many were dropped before them, as a line of its own. */
  private reportDropped(): void {
    if (this.dropped === 0 || this.failed) return;
    const lines = this.dropped;
    this.dropped = 0;
    this.onDropped(lines);
  }

  /** Whether the error passes (see TRANSIENT); anything else (EPIPE: the reader is gone) ends the output. */
  private passes(error: unknown): boolean {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && TRANSIENT.has(code)) return true;
    this.failed = true;
    this.held = [];
    this.heldBytes = 0;
    clearTimeout(this.retry);
    try {
      writeSync(2, `ltictr-proxy: log output failed (${code ?? String(error)}); no more log lines\n`);
    } catch {
      // stderr is gone too: nothing left to tell.
    }
    return false;
  }

  /** Blocks until every line is written or the deadline passes (at exit, when nothing else can run). */
  private writeAtExit(): void {
    clearTimeout(this.retry);
    const deadline = Date.now() + EXIT_FLUSH_MS;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (!this.writeHeldNow()) {
      if (Date.now() >= deadline) return;
      Atomics.wait(pause, 0, 0, 10);
    }
    this.reportDropped();
  }
}

function lineCount(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) lines++;
  return lines;
}
