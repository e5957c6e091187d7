import type { Logger } from "../log/logger.js";
import type { CapturedRecord, RecordSink } from "./nb-log-record.js";

/** A place captured records go, which may hold resources (a file, a delivery loop). */
export interface RecordStage extends RecordSink {
  /** For log lines: `delivery`, `records file`. */
  readonly name: string;
}

/** A failing stage is logged at most this often (with the number of records it failed meanwhile). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/**
 * Hands every captured record to each stage, in order, each on its own: a stage that throws (a records file on a
 * full disk) costs that stage the record, never the stages after it. The runtime puts durable delivery first, so
 * a record reaches the spool whatever any other stage does.
 */
export class RecordsFanOut implements RecordSink {
  private readonly failures = new Map<RecordStage, { loggedAt: number; since: number }>();

  constructor(
    private readonly stages: readonly RecordStage[],
    private readonly log: Logger,
  ) {}

  accept(record: CapturedRecord): void {
    for (const stage of this.stages) {
      try {
        stage.accept(record);
      } catch (error) {
        this.failed(stage, error);
      }
    }
  }

  private failed(stage: RecordStage, error: unknown): void {
    const now = Date.now();
    const failure = this.failures.get(stage);
    if (failure && now - failure.loggedAt < FAILURE_LOG_INTERVAL_MS) {
      failure.since++;
      return;
    }
    const more =
      failure && failure.since > 0 ? ` (${failure.since} more records failed since the last message)` : "";
    const reason = error instanceof Error ? error.message : String(error);
    this.log.error(
      { err: error },
      "capture: the %s could not take a record (%s)%s",
      stage.name,
      reason,
      more,
    );
    this.failures.set(stage, { loggedAt: now, since: 0 });
  }
}
