import { mkdirSync } from "node:fs";
import type { CapturedRecord, RecordSink } from "../capture/nb-log-record.js";
import type { MoodleDestination } from "../lti/launch-context.js";
import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from "./backoff.js";
import { DeadLetterFile, replayDeadLetters, type ReplayResult } from "./dead-letters.js";
import { MoodleClient, type CallOutcome } from "./moodle-call.js";
import { MoodleDestinations, targetKey, type MoodleTarget, type Resolution } from "./moodle-destinations.js";
import { encodeNbLogs } from "./moodle-form.js";
import { Spool, spoolDirectory, type SpoolEntry } from "./spool.js";

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
  metrics?: ProxyMetrics;
  backoff?: BackoffPolicy;
  fsyncIntervalMs?: number;
}

interface HeldEntry extends SpoolEntry {
  target: MoodleTarget;
  key: string;
}

/** Records of one WebSocket session: sent strictly one call after the other, in capture order. */
interface StreamState {
  key: string;
  queue: HeldEntry[];
  busy: boolean;
  /** Failed attempts of the head record with a record-level (limited) retry. */
  attempts: number;
  retryAt: number;
}

/** Reachability of one Moodle origin: while failing, one probe call at a time after a backoff pause. */
interface OriginState {
  attempts: number;
  retryAt: number;
  inFlight: number;
}

interface Unit {
  target: MoodleTarget;
  parts: { stream: StreamState; entries: HeldEntry[] }[];
}

const LOG_REPEAT_MS = 60_000;
const GAUGE_INTERVAL_MS = 1000;

/**
 * Durable, batched delivery of captured records to Moodle: `accept` appends to the spool (synchronously,
 * never waiting for Moodle); the sender takes records from the spool, keeps capture order per stream (the
 * next record of a stream is sent only after Moodle acknowledged the previous one, so a server record never
 * overtakes its client record and gets `/nc`), runs different streams in parallel up to `concurrency`,
 * retries transient failures with backoff and moves permanent failures to the dead-letter file.
 */
export class DeliveryService implements RecordSink {
  private readonly streams = new Map<string, StreamState>();
  private readonly origins = new Map<string, OriginState>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly flushWaiters = new Set<() => void>();
  private readonly logTimes = new Map<string, number>();
  private readonly deadLetters: DeadLetterFile;
  private readonly client: MoodleClient;
  private readonly destinations: MoodleDestinations;
  private readonly maxHeld: number;
  private readonly gaugeTimer: NodeJS.Timeout;
  private held = 0;
  private active = 0;
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
    destinations: MoodleDestinations,
  ) {
    this.destinations = destinations;
    this.deadLetters = new DeadLetterFile(options.dataDir);
    this.client = new MoodleClient({
      requestTimeoutMs: options.requestTimeoutMs,
      connectionsPerOrigin: Math.max(1, options.concurrency),
    });
    this.maxHeld = Math.max(1000, options.batchSize * options.concurrency * 4);
    this.gaugeTimer = setInterval(() => this.updateGauges(), GAUGE_INTERVAL_MS);
    this.gaugeTimer.unref();
    this.updateGauges();
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
      metrics: options.metrics,
    });
    return new DeliveryService(options, spool, destinations);
  }

  accept(record: CapturedRecord): void {
    try {
      const resolution = this.destinations.resolve(record);
      if ("refused" in resolution) {
        this.refused(resolution);
        return;
      }
      if (!this.spool.append(record)) return;
      this.updateGauges();
      this.wake();
    } catch (error) {
      this.options.logger.error(`delivery: cannot accept a record: ${String(error)}`);
    }
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
    this.updateGauges();
    this.wake();
    return result;
  }

  /** Records spooled and not yet done. */
  get depth(): number {
    return this.spool.depth;
  }

  /** Stops sending; calls in flight finish (bounded by the request timeout), the rest stays in the spool. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.batchTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.gaugeTimer);
    await Promise.allSettled([...this.inFlight]);
    for (const waiter of [...this.flushWaiters]) waiter();
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
    const room = this.maxHeld - this.held;
    if (room > 0 && this.spool.untakenCount > 0) {
      for (const entry of this.spool.take(room)) this.hold(entry);
    }
    this.dispatch();
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
    let stream = this.streams.get(entry.record.stream);
    if (!stream) {
      stream = { key: entry.record.stream, queue: [], busy: false, attempts: 0, retryAt: 0 };
      this.streams.set(entry.record.stream, stream);
    }
    stream.queue.push({ ...entry, target: resolution.target, key: targetKey(resolution.target) });
    this.held += 1;
  }

  private origin(target: MoodleTarget): OriginState {
    let state = this.origins.get(target.origin);
    if (!state) {
      state = { attempts: 0, retryAt: 0, inFlight: 0 };
      this.origins.set(target.origin, state);
    }
    return state;
  }

  /** Whether `stream` may send its head now; otherwise the time it may (or Infinity: wait for an event). */
  private readyAt(stream: StreamState, now: number): number {
    if (stream.busy || stream.queue.length === 0) return Infinity;
    const origin = this.origin(stream.queue[0].target);
    if (origin.attempts > 0 && origin.inFlight > 0) return Infinity;
    const at = Math.max(stream.retryAt, origin.retryAt);
    return at <= now ? 0 : at;
  }

  private dispatch(): void {
    const now = Date.now();
    let nextWake = Infinity;
    for (const stream of this.streams.values()) {
      if (this.active >= this.options.concurrency) break;
      const at = this.readyAt(stream, now);
      if (at !== 0) {
        nextWake = Math.min(nextWake, at);
        continue;
      }
      this.run(this.unitFrom(stream, now));
    }
    if (nextWake !== Infinity) this.wakeAt(nextWake);
  }

  /** One call: the stream's head record, or in multi-record mode runs of ready streams to the same Moodle. */
  private unitFrom(first: StreamState, now: number): Unit {
    const head = first.queue[0];
    const unit: Unit = { target: head.target, parts: [] };
    if (!this.options.multiRecord) {
      unit.parts.push({ stream: first, entries: [head] });
      return unit;
    }
    let room = Math.max(1, this.options.batchSize);
    const addRun = (stream: StreamState) => {
      const entries: HeldEntry[] = [];
      for (const entry of stream.queue) {
        if (entry.key !== head.key || entries.length >= room) break;
        entries.push(entry);
      }
      room -= entries.length;
      unit.parts.push({ stream, entries });
    };
    addRun(first);
    for (const stream of this.streams.values()) {
      if (room <= 0) break;
      if (stream === first || this.readyAt(stream, now) !== 0 || stream.queue[0].key !== head.key) continue;
      addRun(stream);
    }
    return unit;
  }

  private run(unit: Unit): void {
    const origin = this.origin(unit.target);
    this.active += 1;
    origin.inFlight += 1;
    for (const part of unit.parts) part.stream.busy = true;
    const logs = unit.parts.flatMap((part) => part.entries.map((entry) => entry.record.log));
    const call = this.client
      .call(unit.target, encodeNbLogs(logs))
      .then((outcome) => {
        this.active -= 1;
        origin.inFlight -= 1;
        for (const part of unit.parts) part.stream.busy = false;
        if (this.closing) return;
        this.settle(unit, origin, outcome);
      })
      .catch((error: unknown) => this.options.logger.error(`delivery: internal error: ${String(error)}`))
      .finally(() => {
        this.inFlight.delete(call);
        this.pump();
      });
    this.inFlight.add(call);
  }

  private settle(unit: Unit, origin: OriginState, outcome: CallOutcome): void {
    const count = unit.parts.reduce((sum, part) => sum + part.entries.length, 0);
    const where = `${unit.target.origin}${unit.target.basePath}`;
    const now = Date.now();
    if (outcome.kind === "acknowledged") {
      if (origin.attempts > 0)
        this.options.logger.info(`Moodle ${where} is reachable again; delivering the backlog`);
      origin.attempts = 0;
      origin.retryAt = 0;
      for (const part of unit.parts) this.done(part.stream, part.entries);
      this.options.metrics?.delivered.inc(count);
      return;
    }
    if (outcome.kind === "retry") this.options.metrics?.deliveryRetries.inc(count);
    if (outcome.kind === "retry" && outcome.maxAttempts === undefined) {
      origin.attempts += 1;
      origin.retryAt = now + backoffDelay(origin.attempts, this.options.backoff ?? DEFAULT_BACKOFF);
      if (origin.attempts === 1) {
        this.options.logger.warn(
          `Moodle ${where} unavailable (${outcome.reason}); ${this.spool.depth} records kept in the spool, retrying with backoff`,
        );
      } else {
        this.options.logger.debug(
          `Moodle ${where} still unavailable (${outcome.reason}), attempt ${origin.attempts}`,
        );
      }
      return;
    }
    if (outcome.kind === "retry") {
      for (const part of unit.parts) {
        part.stream.attempts += 1;
        if (part.stream.attempts >= (outcome.maxAttempts ?? 1))
          this.bury(part.stream, part.entries, where, outcome);
        else
          part.stream.retryAt =
            now + backoffDelay(part.stream.attempts, this.options.backoff ?? DEFAULT_BACKOFF);
      }
      return;
    }
    for (const part of unit.parts) this.bury(part.stream, part.entries, where, outcome);
  }

  /** Moves records Moodle will not take into the dead-letter file, then off the stream. */
  private bury(
    stream: StreamState,
    entries: HeldEntry[],
    where: string,
    outcome: { reason: string; errorcode?: string },
  ): void {
    try {
      for (const entry of entries) {
        this.deadLetters.append({
          record: entry.record,
          reason: outcome.reason,
          errorcode: outcome.errorcode,
          deadAt: Date.now(),
        });
      }
    } catch (error) {
      // Keep them in the spool (a duplicate dead letter is harmless) and try again later.
      this.options.logger.error(`delivery: cannot write ${this.deadLetters.path}: ${String(error)}`);
      stream.retryAt =
        Date.now() + backoffDelay(stream.attempts + 1, this.options.backoff ?? DEFAULT_BACKOFF);
      return;
    }
    this.options.metrics?.deadLetters.inc(entries.length);
    this.logRepeated(
      `dead:${where}:${outcome.errorcode ?? outcome.reason}`,
      (suppressed) =>
        `Moodle ${where} refused records for good (${outcome.reason}); moved to ${this.deadLetters.path}` +
        (suppressed > 0 ? ` (${suppressed} more since the last message)` : "") +
        `; after fixing the cause run: ltictr-proxy replay-dead-letters --data-dir ${this.options.dataDir}`,
      "error",
    );
    this.done(stream, entries);
  }

  private done(stream: StreamState, entries: HeldEntry[]): void {
    stream.queue.splice(0, entries.length);
    stream.attempts = 0;
    stream.retryAt = 0;
    this.held -= entries.length;
    this.spool.ack(entries.map((entry) => entry.id));
    if (stream.queue.length === 0) this.streams.delete(stream.key);
    this.updateGauges();
  }

  private refused(resolution: Exclude<Resolution, { target: MoodleTarget }>): void {
    this.options.metrics?.refusedRecords.inc({ reason: resolution.refused });
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

  private updateGauges(): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    metrics.queueDepth.set(this.spool.depth);
    const oldest = this.spool.oldestCapturedAt;
    metrics.queueOldestAge.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
  }
}
