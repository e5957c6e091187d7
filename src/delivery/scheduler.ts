import type { CapturedRecord } from "../capture/nb-log-record.js";
import { backoffDelay, type BackoffPolicy } from "./backoff.js";
import type { CallOutcome } from "./moodle-call.js";
import type { MoodleTarget } from "./moodle-destinations.js";

/** A spooled record the scheduler holds, with where it goes. */
export interface HeldRecord {
  id: number;
  record: CapturedRecord;
  target: MoodleTarget;
  /** Records with the same key may share a call (same Moodle, same token). */
  key: string;
}

/** One web-service call: the head record of a stream, or in multi-record mode runs of ready streams. */
export interface SendUnit {
  target: MoodleTarget;
  parts: { stream: string; entries: HeldRecord[] }[];
}

/** Records Moodle refused for good, to be moved to the dead letters (then `buried`, or `burialFailed`). */
export interface DeadBatch {
  stream: string;
  entries: HeldRecord[];
  reason: string;
  errorcode?: string;
}

/** What to do after a call: acknowledge (records delivered), bury, and what to tell the operator. */
export interface Settlement {
  acknowledged: HeldRecord[];
  dead: DeadBatch[];
  /** Records to be sent again later. */
  retried: number;
  /** The origin answered after failing: the backlog goes out now. */
  recovered: boolean;
  /** The first failure of an origin that was fine (later failures of the same episode are quieter). */
  failedFirst: boolean;
}

export interface SchedulerOptions {
  /** Web-service calls in flight at once, over all Moodles. */
  concurrency: number;
  multiRecord: boolean;
  /** Most records in one multi-record call. */
  batchSize: number;
  backoff: BackoffPolicy;
  random?: () => number;
}

/** What happened at one Moodle origin so far. */
interface OriginHistory {
  lastError?: string;
  lastErrorAt?: number;
  lastSuccessAt?: number;
  delivered: number;
  retries: number;
  deadLettered: number;
}

/** Delivery state of one Moodle origin, for the operator. */
export interface OriginStatus extends OriginHistory {
  origin: string;
  state: "ok" | "backing-off" | "probing";
  /** Failed calls in a row. */
  attempts: number;
  /** Epoch ms before which no call goes to this origin. */
  retryAt?: number;
  inFlight: number;
}

export interface SchedulerStatus {
  /** Sessions with records waiting. */
  streams: number;
  held: number;
  active: number;
  origins: OriginStatus[];
}

/** Records of one WebSocket session: sent strictly one call after the other, in capture order. */
interface StreamState {
  key: string;
  queue: HeldRecord[];
  busy: boolean;
  /** Failed attempts of the head record with a record-level retry. */
  attempts: number;
  retryAt: number;
  /** When the head record first failed with a record-level retry (its give-up time counts from here). */
  failingSince: number;
}

/** Reachability of one Moodle origin: while failing, one probe call at a time after a backoff pause. */
interface OriginState extends OriginHistory {
  attempts: number;
  retryAt: number;
  inFlight: number;
}

/**
 * The delivery rules, with no clock, timer, file or socket of its own (the caller passes `now` and does the I/O),
 * so every rule is tested with a fake clock:
 * - order per stream: the next record of a session is sent only after Moodle acknowledged the previous one, so a
 *   server record never overtakes its client record (Moodle would mark the result `/nc`);
 * - different streams in parallel, up to `concurrency` calls;
 * - a failing origin (network, 5xx, maintenance, database away) is paused with exponential backoff and probed
 *   with one call at a time; all its streams wait, none gives up: records stay in the spool until it answers;
 * - a record-level retry (an error that may be the record's own) is retried with backoff until its give-up time,
 *   then dead-lettered; so is a refusal for good, at once. Dead-lettering never blocks the stream behind it.
 */
export class DeliveryScheduler {
  private readonly streams = new Map<string, StreamState>();
  private readonly origins = new Map<string, OriginState>();
  private heldCount = 0;
  private activeCount = 0;

  constructor(private readonly options: SchedulerOptions) {}

  get held(): number {
    return this.heldCount;
  }

  get active(): number {
    return this.activeCount;
  }

  hold(entry: HeldRecord): void {
    const streamKey = entry.record.stream;
    let stream = this.streams.get(streamKey);
    if (!stream) {
      stream = { key: streamKey, queue: [], busy: false, attempts: 0, retryAt: 0, failingSince: 0 };
      this.streams.set(streamKey, stream);
    }
    stream.queue.push(entry);
    this.heldCount += 1;
  }

  /** The calls to make now (marked in flight), and when to ask again if nothing else happens first. */
  next(now: number): { units: SendUnit[]; wakeAt: number | undefined } {
    const units: SendUnit[] = [];
    let wakeAt = Infinity;
    for (const stream of this.streams.values()) {
      if (this.activeCount >= this.options.concurrency) break;
      const at = this.readyAt(stream, now);
      if (at !== 0) {
        wakeAt = Math.min(wakeAt, at);
        continue;
      }
      const unit = this.unitFrom(stream, now);
      this.begin(unit);
      units.push(unit);
    }
    return { units, wakeAt: wakeAt === Infinity ? undefined : wakeAt };
  }

  /** Applies a call's outcome. Acknowledged records are off their streams when this returns. */
  settle(unit: SendUnit, outcome: CallOutcome, now: number): Settlement {
    const origin = this.origin(unit.target.origin);
    this.activeCount -= 1;
    origin.inFlight -= 1;
    for (const part of unit.parts) this.stream(part.stream).busy = false;
    const count = unit.parts.reduce((sum, part) => sum + part.entries.length, 0);
    const settlement: Settlement = {
      acknowledged: [],
      dead: [],
      retried: 0,
      recovered: false,
      failedFirst: false,
    };
    if (outcome.kind === "acknowledged") {
      settlement.recovered = origin.attempts > 0;
      origin.attempts = 0;
      origin.retryAt = 0;
      origin.lastSuccessAt = now;
      origin.delivered += count;
      for (const part of unit.parts) {
        settlement.acknowledged.push(...part.entries);
        this.remove(this.stream(part.stream), part.entries.length);
      }
      return settlement;
    }
    origin.lastError = outcome.reason;
    origin.lastErrorAt = now;
    if (outcome.kind === "retry") {
      settlement.retried = count;
      origin.retries += count;
    }
    if (outcome.kind === "retry" && outcome.giveUpAfterMs === undefined) {
      settlement.failedFirst = origin.attempts === 0;
      origin.attempts += 1;
      origin.retryAt = now + this.delay(origin.attempts);
      return settlement;
    }
    for (const part of unit.parts) {
      const stream = this.stream(part.stream);
      if (outcome.kind === "retry") {
        if (stream.attempts === 0) stream.failingSince = now;
        stream.attempts += 1;
        if (now - stream.failingSince < (outcome.giveUpAfterMs ?? 0)) {
          stream.retryAt = now + this.delay(stream.attempts);
          continue;
        }
      }
      settlement.dead.push({
        stream: part.stream,
        entries: part.entries,
        reason: outcome.reason,
        errorcode: outcome.kind === "dead-letter" ? outcome.errorcode : undefined,
      });
    }
    return settlement;
  }

  /** The dead letters of `batch` are written: the records leave their stream. */
  buried(batch: DeadBatch): void {
    const stream = this.streams.get(batch.stream);
    if (stream) this.remove(stream, batch.entries.length);
    const origin = batch.entries[0] && this.origins.get(batch.entries[0].target.origin);
    if (origin) origin.deadLettered += batch.entries.length;
  }

  /** The dead-letter file could not be written: the records stay and are tried again after a pause. */
  burialFailed(batch: DeadBatch, now: number): void {
    const stream = this.streams.get(batch.stream);
    if (stream) stream.retryAt = now + this.delay(stream.attempts + 1);
  }

  /** Drops everything held (shutdown): the records stay in the spool for the next run. */
  clear(): void {
    this.streams.clear();
    this.heldCount = 0;
  }

  status(now: number): SchedulerStatus {
    return {
      streams: this.streams.size,
      held: this.heldCount,
      active: this.activeCount,
      origins: Array.from(this.origins, ([origin, { attempts, retryAt, ...rest }]) => ({
        ...rest,
        origin,
        state: attempts === 0 ? "ok" : retryAt > now ? "backing-off" : "probing",
        attempts,
        retryAt: attempts > 0 ? retryAt : undefined,
      })),
    };
  }

  private delay(attempt: number): number {
    return backoffDelay(attempt, this.options.backoff, this.options.random);
  }

  private stream(key: string): StreamState {
    const stream = this.streams.get(key);
    if (!stream) throw new Error(`delivery scheduler: unknown stream ${key}`);
    return stream;
  }

  private origin(origin: string): OriginState {
    let state = this.origins.get(origin);
    if (!state) {
      state = { attempts: 0, retryAt: 0, inFlight: 0, delivered: 0, retries: 0, deadLettered: 0 };
      this.origins.set(origin, state);
    }
    return state;
  }

  /** 0 when `stream` may send its head now; otherwise the time it may (Infinity: when something else happens). */
  private readyAt(stream: StreamState, now: number): number {
    if (stream.busy || stream.queue.length === 0) return Infinity;
    const origin = this.origin(stream.queue[0].target.origin);
    // A failing origin gets one probe at a time.
    if (origin.attempts > 0 && origin.inFlight > 0) return Infinity;
    const at = Math.max(stream.retryAt, origin.retryAt);
    return at <= now ? 0 : at;
  }

  private unitFrom(first: StreamState, now: number): SendUnit {
    const head = first.queue[0];
    const unit: SendUnit = { target: head.target, parts: [] };
    if (!this.options.multiRecord) {
      unit.parts.push({ stream: first.key, entries: [head] });
      return unit;
    }
    let room = Math.max(1, this.options.batchSize);
    const addRun = (stream: StreamState) => {
      const entries: HeldRecord[] = [];
      for (const entry of stream.queue) {
        if (entry.key !== head.key || entries.length >= room) break;
        entries.push(entry);
      }
      room -= entries.length;
      unit.parts.push({ stream: stream.key, entries });
    };
    addRun(first);
    for (const stream of this.streams.values()) {
      if (room <= 0) break;
      if (stream === first || this.readyAt(stream, now) !== 0 || stream.queue[0].key !== head.key) continue;
      addRun(stream);
    }
    return unit;
  }

  private begin(unit: SendUnit): void {
    this.activeCount += 1;
    this.origin(unit.target.origin).inFlight += 1;
    for (const part of unit.parts) this.stream(part.stream).busy = true;
  }

  private remove(stream: StreamState, count: number): void {
    stream.queue.splice(0, count);
    stream.attempts = 0;
    stream.retryAt = 0;
    stream.failingSince = 0;
    this.heldCount -= count;
    if (stream.queue.length === 0) this.streams.delete(stream.key);
  }
}
