import { mkdirSync } from "node:fs";
import type { CapturedRecord } from "../capture/nb-log-record.js";
import type { RecordStage } from "../capture/records-fan-out.js";
import { events } from "../events.js";
import type { MoodleDestination } from "../lti/launch-context.js";
import type { Logger } from "../log/logger.js";
import { DEFAULT_BACKOFF, type BackoffPolicy } from "./backoff.js";
import {
  DeadLetterFile,
  replayDeadLetters,
  type DeadLetterSummary,
  type ReplayResult,
} from "./dead-letters.js";
import { MoodleClient } from "./moodle-call.js";
import { MoodleDestinations, targetKey, type Resolution } from "./moodle-destinations.js";
import { encodeNbLogs } from "./moodle-form.js";
import { DeliveryScheduler, type DeadBatch, type SchedulerStatus, type SendUnit } from "./scheduler.js";
import { Spool, spoolDirectory, type SpoolEntry, type SpoolStatus } from "./spool/spool.js";

export interface DeliveryOptions {
  dataDir: string;
  /** The Moodle configured on the proxy (`--moodle-url`, token). */
  moodle?: MoodleDestination;
  /** Origins that launch destinations may name (`--moodle-allow`). */
  allowOrigins: string[];
  /** The sender wakes when this many records wait… */
  batchSize: number;
  /** …or when the oldest waiting record is this old. */
  batchAgeMs: number;
  /** Web-service calls in flight at once, over all Moodles. */
  concurrency: number;
  spoolMaxBytes: number;
  /** Send `nb_logs[0..N-1]` in one call (needs a plugin that reads them all). */
  multiRecord: boolean;
  requestTimeoutMs: number;
  logger: Logger;
  backoff?: BackoffPolicy;
  fsyncIntervalMs?: number;
}

export interface DeliveryStatus {
  spool: SpoolStatus;
  scheduler: SchedulerStatus;
  deadLetters: number;
}

const LOG_REPEAT_MS = 60_000;

/**
 * Durable, batched delivery of captured records to Moodle: `accept` appends to the spool (synchronously, never
 * waiting for Moodle); the sender takes records from the spool into the scheduler (which decides what is sent
 * when, see DeliveryScheduler), makes the calls, acknowledges delivered records in the spool and moves records
 * Moodle refused for good to the dead-letter file.
 */
export class DeliveryService implements RecordStage {
  readonly name = "delivery";
  private readonly inFlight = new Set<Promise<void>>();
  private readonly flushWaiters = new Set<() => void>();
  private readonly logTimes = new Map<string, number>();
  private readonly deadLetters: DeadLetterFile;
  private readonly client: MoodleClient;
  private readonly scheduler: DeliveryScheduler;
  private readonly maxHeld: number;
  private started = false;
  private closing = false;
  private flushing = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  private pumpQueued = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryTimerAt = Infinity;

  private constructor(
    private readonly options: DeliveryOptions,
    private readonly spool: Spool,
    private readonly destinations: MoodleDestinations,
  ) {
    this.deadLetters = new DeadLetterFile(options.dataDir);
    this.client = new MoodleClient({
      requestTimeoutMs: options.requestTimeoutMs,
      connectionsPerOrigin: Math.max(1, options.concurrency),
    });
    this.scheduler = new DeliveryScheduler({
      concurrency: options.concurrency,
      multiRecord: options.multiRecord,
      batchSize: options.batchSize,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
    });
    this.maxHeld = Math.max(1000, options.batchSize * options.concurrency * 4);
  }

  /** Opens the data folder's spool (recovering records of a previous run); throws on configuration errors. */
  static async open(options: DeliveryOptions): Promise<DeliveryService> {
    for (const name of [
      "batchSize",
      "batchAgeMs",
      "concurrency",
      "spoolMaxBytes",
      "requestTimeoutMs",
    ] as const) {
      const value = options[name];
      if (!Number.isFinite(value) || value < (name === "batchAgeMs" ? 0 : 1)) {
        throw new Error(`invalid delivery setting ${name}: ${value}`);
      }
    }
    const destinations = new MoodleDestinations({
      configured: options.moodle,
      allowOrigins: options.allowOrigins,
    });
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const spool = Spool.open({
      dir: spoolDirectory(options.dataDir),
      maxBytes: options.spoolMaxBytes,
      fsyncIntervalMs: options.fsyncIntervalMs,
      logger: options.logger,
    });
    return new DeliveryService(options, spool, destinations);
  }

  accept(record: CapturedRecord): void {
    const resolution = this.destinations.resolve(record);
    if ("refused" in resolution) {
      this.refused(resolution);
      return;
    }
    if (!this.spool.append(record)) return;
    this.wake();
  }

  /** Starts sending (records spooled before, including those of a previous run, go first). */
  start(): void {
    if (this.started || this.closing) return;
    this.started = true;
    this.pump();
  }

  /** Resolves true once every spooled record is delivered, dead-lettered or refused; false on timeout. */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.spool.depth === 0) return true;
    if (this.closing) return false;
    this.flushing += 1;
    this.pump();
    try {
      return await new Promise<boolean>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.flushWaiters.delete(done);
          resolve(this.spool.depth === 0);
        };
        const timer = setTimeout(done, timeoutMs);
        this.flushWaiters.add(done);
      });
    } finally {
      this.flushing -= 1;
    }
  }

  /** Moves the dead letters back into the spool and sends them. */
  replayDeadLetters(): ReplayResult {
    const result = replayDeadLetters(this.options.dataDir, {
      spool: this.spool,
      logger: this.options.logger,
    });
    this.wake();
    return result;
  }

  /** The newest dead letters (without Moodle tokens), newest first. */
  listDeadLetters(limit: number): { total: number; letters: DeadLetterSummary[] } {
    return this.deadLetters.list(limit);
  }

  /** Records spooled and not yet done. */
  get depth(): number {
    return this.spool.depth;
  }

  /** The spool's figures alone: unlike `status()` no file is read, so it suits figures taken every second. */
  queue(): SpoolStatus {
    return this.spool.status();
  }

  status(): DeliveryStatus {
    let deadLetters = 0;
    try {
      deadLetters = this.deadLetters.list(0).total;
    } catch {
      // Unreadable right now; the count comes back with the file.
    }
    return { spool: this.spool.status(), scheduler: this.scheduler.status(Date.now()), deadLetters };
  }

  /** Stops sending; calls in flight finish (bounded by the request timeout), the rest stays in the spool. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.batchTimer);
    clearTimeout(this.retryTimer);
    await Promise.allSettled([...this.inFlight]);
    for (const waiter of [...this.flushWaiters]) waiter();
    this.scheduler.clear();
    this.client.close();
    this.spool.close();
  }

  private wake(): void {
    if (!this.started || this.closing) return;
    if (this.flushing > 0 || this.spool.untakenCount >= this.options.batchSize) {
      if (!this.pumpQueued) {
        this.pumpQueued = true;
        setImmediate(() => {
          this.pumpQueued = false;
          this.pump();
        });
      }
    } else if (!this.batchTimer) {
      this.batchTimer = setTimeout(() => this.pump(), this.options.batchAgeMs);
      this.batchTimer.unref();
    }
  }

  private pump(): void {
    if (!this.started || this.closing) return;
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const room = this.maxHeld - this.scheduler.held;
    if (room > 0 && this.spool.untakenCount > 0) {
      for (const entry of this.spool.take(room)) this.hold(entry);
    }
    const now = Date.now();
    const { units, wakeAt } = this.scheduler.next(now);
    for (const unit of units) this.run(unit);
    if (wakeAt !== undefined) this.wakeAt(wakeAt);
    this.notifyFlush();
  }

  private hold(entry: SpoolEntry): void {
    const resolution = this.destinations.resolve(entry.record);
    if ("refused" in resolution) {
      // Spooled under an earlier configuration (allow-list changed since): still never sent.
      this.refused(resolution);
      this.spool.ack([entry.id]);
      return;
    }
    this.scheduler.hold({ ...entry, target: resolution.target, key: targetKey(resolution.target) });
  }

  private run(unit: SendUnit): void {
    const logs = unit.parts.flatMap((part) => part.entries.map((entry) => entry.record.log));
    const call = this.client
      .call(unit.target, encodeNbLogs(logs))
      .then((outcome) => {
        if (this.closing) return;
        this.apply(unit, this.scheduler.settle(unit, outcome, Date.now()));
      })
      .catch((error: unknown) => this.options.logger.error(`delivery: internal error: ${String(error)}`))
      .finally(() => {
        this.inFlight.delete(call);
        this.pump();
      });
    this.inFlight.add(call);
  }

  private apply(unit: SendUnit, settlement: ReturnType<DeliveryScheduler["settle"]>): void {
    const { origin, basePath } = unit.target;
    const where = `${origin}${basePath}`;
    const { logger } = this.options;
    if (settlement.acknowledged.length > 0) {
      this.spool.ack(settlement.acknowledged.map((entry) => entry.id));
      if (settlement.recovered) logger.info(`Moodle ${where} is reachable again; delivering the backlog`);
      if (events.recordsDelivered.active)
        events.recordsDelivered.publish({ count: settlement.acknowledged.length, origin });
    }
    if (settlement.retried > 0) {
      const status = this.scheduler.status(Date.now()).origins.find((o) => o.origin === origin);
      const reason = status?.lastError ?? "";
      if (events.recordsRetried.active)
        events.recordsRetried.publish({ count: settlement.retried, origin, reason });
      if (settlement.failedFirst)
        logger.warn(
          `Moodle ${where} unavailable (${reason}); ${this.spool.depth} records kept in the spool, retrying with backoff`,
        );
      else logger.debug(`Moodle ${where} still unavailable (${reason}), attempt ${status?.attempts ?? 0}`);
    }
    for (const batch of settlement.dead) this.bury(batch, where, origin);
  }

  /** Moves records Moodle will not take into the dead-letter file, then off their stream. */
  private bury(batch: DeadBatch, where: string, origin: string): void {
    try {
      for (const entry of batch.entries) {
        this.deadLetters.append({
          record: entry.record,
          reason: batch.reason,
          errorcode: batch.errorcode,
          deadAt: Date.now(),
        });
      }
    } catch (error) {
      // Keep them in the spool (a duplicate dead letter is harmless) and try again later.
      this.options.logger.error(`delivery: cannot write ${this.deadLetters.path}: ${String(error)}`);
      this.scheduler.burialFailed(batch, Date.now());
      return;
    }
    this.scheduler.buried(batch);
    this.spool.ack(batch.entries.map((entry) => entry.id));
    if (events.recordsDeadLettered.active)
      events.recordsDeadLettered.publish({ count: batch.entries.length, origin, reason: batch.reason });
    this.logRepeated(
      `dead:${where}:${batch.errorcode ?? batch.reason}`,
      (suppressed) =>
        `Moodle ${where} refused records for good (${batch.reason}); moved to ${this.deadLetters.path}` +
        (suppressed > 0 ? ` (${suppressed} more since the last message)` : "") +
        `; after fixing the cause run: ltictr-proxy replay-dead-letters --data-dir ${this.options.dataDir}`,
      "error",
    );
  }

  private refused(resolution: Exclude<Resolution, { target: unknown }>): void {
    if (events.recordsRefused.active) events.recordsRefused.publish({ reason: resolution.refused, count: 1 });
    const describe: Record<typeof resolution.refused, string> = {
      moodle_not_allowed: `its Moodle ${resolution.origin ?? ""} is not in the allow-list (--moodle-allow)`,
      no_moodle: "no Moodle is configured (--moodle-url) and its launch named none",
      invalid_moodle_url: "its launch named an invalid Moodle URL",
    };
    this.logRepeated(
      `refused:${resolution.refused}:${resolution.origin ?? ""}`,
      (suppressed) =>
        `Record not delivered: ${describe[resolution.refused]}` +
        (suppressed > 0 ? ` (${suppressed} more since the last message)` : ""),
      "warn",
    );
  }

  /** Logs at most once a minute per key, with the number of repetitions swallowed meanwhile. */
  private logRepeated(key: string, message: (suppressed: number) => string, level: "warn" | "error"): void {
    const now = Date.now();
    const last = this.logTimes.get(key);
    const suppressedKey = `${key}#suppressed`;
    if (last !== undefined && now - last < LOG_REPEAT_MS) {
      this.logTimes.set(suppressedKey, (this.logTimes.get(suppressedKey) ?? 0) + 1);
      return;
    }
    if (this.logTimes.size > 1000) this.logTimes.clear();
    this.options.logger[level](message(this.logTimes.get(suppressedKey) ?? 0));
    this.logTimes.set(key, now);
    this.logTimes.set(suppressedKey, 0);
  }

  private wakeAt(at: number): void {
    if (this.closing || at >= this.retryTimerAt) return;
    clearTimeout(this.retryTimer);
    this.retryTimerAt = at;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimerAt = Infinity;
        this.retryTimer = undefined;
        this.pump();
      },
      Math.max(0, at - Date.now()),
    );
    this.retryTimer.unref();
  }

  private notifyFlush(): void {
    if (this.spool.depth === 0) for (const waiter of [...this.flushWaiters]) waiter();
  }
}
