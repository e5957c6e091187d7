import type { ExecutionCaptured } from "../events.js";
import { PendingMap } from "../pending-map.js";

/**
 * One cell of the results cube: an LTI instance (`inst_id/lti_id`, empty without a launch), a user, a notebook
 * file and a cell number, with its counts.
 */
export interface ResultRow {
  instance: string;
  user: string;
  filename: string;
  codenum: string;
  ok: number;
  error: number;
}

/** What one reply added, for the live page. */
export type ResultDelta = Omit<ResultRow, "ok" | "error"> & { outcome: "ok" | "error" };

export interface ResultsSnapshot {
  rows: ResultRow[];
  /** Results that fitted no row because the cube was full. */
  overflow: { ok: number; error: number };
  /** Replies whose request was never seen here (Moodle's chart join drops them too). */
  unpaired: number;
}

export interface ResultsAggregatorOptions {
  /** Rows kept at most; further keys are counted in `overflow`. */
  maxRows?: number;
  /** Requests remembered while their reply is awaited. */
  maxPending?: number;
  /** How long a request waits for its reply before it is forgotten (ms). */
  pendingTtlMs?: number;
}

/** mod_lticontainer's labels for cells without the tag. */
const NO_FILENAME = ".none";
const NO_CODENUM = "999";
/** mod_lticontainer's tag parsing: `"filename:<name>"` and `"codenum:<n>"` items, a space after `:` allowed. */
const TAG = /"(filename|codenum):\s*([^"]+)"/gu;

interface PendingCell {
  filename: string;
  codenum: string;
}

/**
 * The aggregation mod_lticontainer's charts show, built from what this proxy captured: each reply joined to its
 * request on `message` (as Moodle's chart query joins server and client rows), classified as Moodle does (`ok` is
 * OK, anything else — `error`, `aborted` — is ERROR), counted per instance, user, filename and codenum. Bounded:
 * at most `maxRows` rows and `maxPending` requests awaiting their reply.
 */
export class ResultsAggregator {
  private readonly rows = new Map<string, ResultRow>();
  private readonly pending: PendingMap<PendingCell>;
  private readonly maxRows: number;
  private readonly overflow = { ok: 0, error: 0 };
  private unpaired = 0;

  constructor(options: ResultsAggregatorOptions = {}) {
    this.maxRows = options.maxRows ?? 20_000;
    this.pending = new PendingMap<PendingCell>({
      max: options.maxPending ?? 10_000,
      ttlMs: options.pendingTtlMs ?? 60 * 60 * 1000,
    });
  }

  /** Takes one captured record; returns what a reply added to the rows (nothing for an overflow). */
  record(event: ExecutionCaptured): ResultDelta | undefined {
    if (event.kind === "client") {
      this.pending.set(pendingKey(event), cellOf(event.tags));
      return undefined;
    }
    if (event.kind !== "server" || event.status === "") return undefined;
    const cell = this.pending.take(pendingKey(event));
    if (!cell) {
      this.unpaired += 1;
      return undefined;
    }
    const delta: ResultDelta = {
      instance: event.instId === "" && event.ltiId === "" ? "" : `${event.instId}/${event.ltiId}`,
      user: event.user,
      filename: cell.filename,
      codenum: cell.codenum,
      outcome: event.status === "ok" ? "ok" : "error",
    };
    const rowKey = [delta.instance, delta.user, delta.filename, delta.codenum].join("\u0000");
    let row = this.rows.get(rowKey);
    if (!row) {
      if (this.rows.size >= this.maxRows) {
        this.overflow[delta.outcome] += 1;
        return undefined;
      }
      row = {
        instance: delta.instance,
        user: delta.user,
        filename: delta.filename,
        codenum: delta.codenum,
        ok: 0,
        error: 0,
      };
      this.rows.set(rowKey, row);
    }
    row[delta.outcome] += 1;
    return delta;
  }

  snapshot(): ResultsSnapshot {
    return {
      rows: Array.from(this.rows.values(), (row) => ({ ...row })),
      overflow: { ...this.overflow },
      unpaired: this.unpaired,
    };
  }
}

function pendingKey(event: ExecutionCaptured): string {
  return `${event.session}\u0000${event.message}`;
}

function cellOf(tags: string): PendingCell {
  let filename = NO_FILENAME;
  let codenum = NO_CODENUM;
  for (const match of tags.matchAll(TAG)) {
    if (match[1] === "filename") filename = (match[2] ?? "").trim() || NO_FILENAME;
    else codenum = (match[2] ?? "").trim() || NO_CODENUM;
  }
  return { filename, codenum };
}
