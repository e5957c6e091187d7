import type { RouteChange } from "./change-message.js";

/** Changes kept while one is missing; past this the copy is reloaded instead of waiting any longer. */
const MAX_WAITING = 10000;

export interface SequencerHooks {
  /** Applies one change to the local copy; called in change-number order, each number once. */
  apply(change: RouteChange): void;
  /** A change is missing, or Redis holds another table: the copy must be reloaded whole. */
  reloadNeeded(reason: string): void;
}

interface Waiter {
  epoch: string;
  seq: number;
  settle(applied: boolean): void;
}

/**
 * Applies changes to the local copy in the order Redis numbered them. Changes reach a replica twice and in any
 * order between the two ways: its own writes from the script's answer, every write from the change channel. The
 * channel delivers in order, so a number skipped for longer than `gapWaitMs` means a lost message, and the copy is
 * reloaded. While a reload reads the snapshot, changes are held and applied after it, those above its number.
 */
export class ChangeSequencer {
  private epoch = "";
  private applied = 0;
  private holding = false;
  /** Changes above the next one due, by number. */
  private readonly waiting = new Map<number, RouteChange>();
  /** Changes that arrived during a reload, in arrival order. */
  private held: RouteChange[] = [];
  private waiters: Waiter[] = [];
  private gapTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly hooks: SequencerHooks,
    private readonly gapWaitMs: number,
  ) {}

  /** The table epoch and the number of the last change applied to the copy. */
  get position(): { epoch: string; seq: number } {
    return { epoch: this.epoch, seq: this.applied };
  }

  offer(change: RouteChange): void {
    if (!this.holding) {
      this.accept(change);
      return;
    }
    this.held.push(change);
    if (this.held.length > MAX_WAITING) {
      this.held = [];
      this.hooks.reloadNeeded(`more than ${MAX_WAITING} changes arrived during a reload`);
    }
  }

  /** A reload starts: changes are kept, not applied, until `reset` (or `release` when the reload failed). */
  hold(): void {
    this.holding = true;
    this.stopGapTimer();
  }

  /** The copy now equals table `epoch` at change `seq`: the changes held above it follow. */
  reset(epoch: string, seq: number): void {
    const previous = this.epoch;
    if (epoch !== previous) {
      this.waiting.clear();
      // Messages of the table this copy held before are older than the snapshot: not a sign of another change.
      this.held = this.held.filter((change) => change.epoch !== previous);
    }
    this.epoch = epoch;
    this.applied = seq;
    for (const kept of this.waiting.keys()) if (kept <= seq) this.waiting.delete(kept);
    this.release();
  }

  release(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const change of held) this.accept(change);
    this.drain();
  }

  /**
   * Resolves true once change `seq` of table `epoch` is in the copy (or that table was replaced: nothing more will
   * come of it), false after `timeoutMs`.
   */
  waitFor(epoch: string, seq: number, timeoutMs: number): Promise<boolean> {
    if (epoch !== this.epoch || seq <= this.applied) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        epoch,
        seq,
        settle: (applied) => {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((other) => other !== waiter);
          resolve(applied);
        },
      };
      const timer = setTimeout(() => waiter.settle(false), timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Settles every wait (false) and stops the timer. */
  close(): void {
    this.stopGapTimer();
    this.waiting.clear();
    this.held = [];
    for (const waiter of [...this.waiters]) waiter.settle(false);
  }

  private accept(change: RouteChange): void {
    if (change.op === "reset" || change.epoch !== this.epoch) {
      // A message of another table: a new one was written (or this one is from before the last reload).
      if (change.epoch !== this.epoch) this.hooks.reloadNeeded("the table in Redis was replaced");
      return;
    }
    if (change.seq <= this.applied) return;
    this.waiting.set(change.seq, change);
    if (this.waiting.size > MAX_WAITING) {
      this.waiting.clear();
      this.hooks.reloadNeeded(`more than ${MAX_WAITING} changes wait for a missing one`);
      return;
    }
    this.drain();
  }

  private drain(): void {
    if (this.holding) return;
    for (let next = this.waiting.get(this.applied + 1); next; next = this.waiting.get(this.applied + 1)) {
      this.waiting.delete(next.seq);
      this.applied = next.seq;
      this.hooks.apply(next);
    }
    for (const waiter of [...this.waiters]) {
      if (waiter.epoch !== this.epoch || waiter.seq <= this.applied) waiter.settle(true);
    }
    if (this.waiting.size === 0) this.stopGapTimer();
    else this.gapTimer ??= setTimeout(() => this.gapTimedOut(), this.gapWaitMs);
  }

  private gapTimedOut(): void {
    this.gapTimer = undefined;
    if (this.waiting.size > 0 && !this.holding)
      this.hooks.reloadNeeded(`change ${this.applied + 1} did not arrive within ${this.gapWaitMs} ms`);
  }

  private stopGapTimer(): void {
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
  }
}
