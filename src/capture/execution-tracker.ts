import { events } from "../events.js";
import type { Logger } from "../log/logger.js";
import {
  EXECUTE_REPLY,
  EXECUTE_REQUEST,
  stringField,
  type KernelMessage,
} from "../jupyter/kernel-message.js";
import type { LaunchContext } from "../lti/launch-context.js";
import { moodleDestinationOf, type MoodleDestination } from "../lti/launch-context.js";
import { emptyNbLog, type NbLog, type RecordSink } from "./nb-log-record.js";
import { PendingMap } from "../pending-map.js";

/**
 * Moodle's column sizes (mod_lticontainer `db/install.xml`): a longer value makes the INSERT fail and the
 * whole record is lost there. Values are cut to fit instead — the same cut on the client and the server
 * record keeps their join on `message` working.
 */
export const MOODLE_COLUMN_LIMITS: Partial<Record<keyof NbLog, number>> = {
  session: 42,
  message: 42,
  cell_id: 42,
  status: 32,
  username: 32,
  date: 32,
};
/** The limits as a list, made once: every record is checked against them. */
const COLUMN_LIMITS = Object.entries(MOODLE_COLUMN_LIMITS) as [keyof NbLog, number][];

export interface PendingExecutionsOptions {
  max?: number;
  ttlMs?: number;
  /** Clock for the TTL in ms, for tests. */
  now?: () => number;
}

/**
 * The execute_requests seen recently that were not cell runs (completers, variable inspectors, silent runs),
 * across all sockets: their replies must not become records, and jupyter_server replays a reply to the next
 * connection with the same session_id, so the request and its reply may pass on different sockets.
 * Cell runs are not remembered: a reply to one is recorded exactly like a reply to a request this proxy never
 * saw (sent before it started, or replayed), so remembering them would change nothing. It would cost, though:
 * a class that starts its cells at once keeps thousands of entries alive long enough to reach V8's old space,
 * and on one kernel socket streaming at full speed the extra major collections were a fifth of the proxy's CPU.
 */
export class PendingExecutions {
  private readonly requests: PendingMap<true>;

  constructor(options: PendingExecutionsOptions = {}) {
    this.requests = new PendingMap<true>({
      max: options.max ?? 10_000,
      ttlMs: options.ttlMs ?? 60 * 60 * 1000,
      now: options.now,
    });
  }

  /** A request that is not a cell run: its reply is to be left out. */
  rememberNonCellRun(kernelId: string, session: string, msgId: string): void {
    this.requests.set(key(kernelId, session, msgId), true);
  }

  /** Whether this reply answers a remembered request that was not a cell run; forgets the request. */
  takeNonCellRun(kernelId: string, session: string, msgId: string): boolean {
    // Most replies answer cell runs: no key to build while nothing else is waiting.
    if (this.requests.size === 0) return false;
    return this.requests.take(key(kernelId, session, msgId)) === true;
  }

  /** Requests that were not cell runs, waiting for their reply. */
  get size(): number {
    return this.requests.size;
  }
}

function key(kernelId: string, session: string, msgId: string): string {
  return `${kernelId}\u0000${session}\u0000${msgId}`;
}

export interface ExecutionTrackerOptions {
  kernelId: string;
  /** The WebSocket URL's `session_id`. */
  sessionId: string | undefined;
  /** The route's user, used when the kernel reports no `header.username`. */
  routeUser?: string;
  /** The LTI launch this browser came from, if its cookie was present. */
  launch?: LaunchContext;
  sink: RecordSink;
  pending: PendingExecutions;
  logger?: Logger;
  now?: () => number;
  /** Identifies the socket in the events this tracker publishes. */
  socketId?: number;
}

/** What one kernel socket's tracker has seen, for the operator's view of open sessions. */
export interface ExecutionCounts {
  /** Cell runs (client records). */
  executions: number;
  ok: number;
  error: number;
  aborted: number;
}

/**
 * Turns one kernel WebSocket's messages into mod_lticontainer records: `ltictr` when it opens, `client` for
 * each cell run (execute_request with a cellId, not silent), `server` for each execute_reply — except
 * replies to requests seen here that were not cell runs (completers, variable inspectors).
 */
export class ExecutionTracker {
  private readonly destination: MoodleDestination | undefined;
  private readonly now: () => number;
  /** Made with the first truncation: values longer than Moodle's columns are rare, kernel sockets many. */
  private truncationsLogged: Set<string> | undefined;
  readonly counts: ExecutionCounts = { executions: 0, ok: 0, error: 0, aborted: 0 };

  constructor(private readonly options: ExecutionTrackerOptions) {
    this.destination = options.launch ? moodleDestinationOf(options.launch) : undefined;
    this.now = options.now ?? Date.now;
  }

  /** Emits the `ltictr` record that links the socket's session to the LTI activity (needs a launch and a session_id). */
  connected(): void {
    const { launch, sessionId } = this.options;
    if (!launch || sessionId === undefined) return;
    const log = emptyNbLog("ltictr");
    log.inst_id = launch.instId;
    log.lti_id = launch.ltiId;
    log.session = sessionId;
    this.emit(log);
  }

  clientMessage(message: KernelMessage): void {
    if (message.channel !== "shell" || message.header.msg_type !== EXECUTE_REQUEST) return;
    const session = stringField(message.header, "session") ?? this.options.sessionId ?? "";
    const msgId = stringField(message.header, "msg_id") ?? "";
    const cellId = stringField(message.metadata, "cellId") ?? "";
    if (cellId === "" || message.content.silent === true) {
      this.options.pending.rememberNonCellRun(this.options.kernelId, session, msgId);
      return;
    }
    const log = emptyNbLog("client");
    log.session = session;
    log.message = msgId;
    log.cell_id = cellId;
    log.tags = message.tagsJson ?? "";
    log.date = stringField(message.header, "date") ?? "";
    this.emit(log);
  }

  serverMessage(message: KernelMessage): void {
    if (message.channel !== "shell" || message.header.msg_type !== EXECUTE_REPLY) return;
    const session = stringField(message.parentHeader, "session") ?? this.options.sessionId ?? "";
    const msgId = stringField(message.parentHeader, "msg_id") ?? "";
    if (this.options.pending.takeNonCellRun(this.options.kernelId, session, msgId)) return;
    const log = emptyNbLog("server");
    log.session = session;
    log.message = msgId;
    log.status = stringField(message.content, "status") ?? stringField(message.metadata, "status") ?? "";
    log.username = stringField(message.header, "username") || this.options.routeUser || "";
    log.date = stringField(message.header, "date") ?? "";
    this.emit(log);
  }

  private emit(log: NbLog): void {
    this.fitColumns(log);
    const record = {
      log,
      stream: this.options.sessionId ?? log.session,
      capturedAt: this.now(),
      ...(this.destination ? { destination: this.destination } : {}),
    };
    try {
      this.options.sink.accept(record);
    } catch (error) {
      // The sink's failure is not this socket's: keep capturing the next records.
      this.options.logger?.error({ err: error, kind: log.host }, "capture: record sink refused a record");
      return;
    }
    this.count(log);
    if (events.executionCaptured.active) {
      events.executionCaptured.publish({
        socket: this.options.socketId,
        kind: log.host,
        status: log.status,
        session: log.session,
        message: log.message,
        user: log.username || this.options.routeUser || "",
        cellId: log.cell_id,
        tags: log.tags,
        instId: this.options.launch?.instId ?? "",
        ltiId: this.options.launch?.ltiId ?? "",
        capturedAt: record.capturedAt,
      });
    }
  }

  private count(log: NbLog): void {
    const { counts } = this;
    if (log.host === "client") counts.executions++;
    else if (log.status === "ok") counts.ok++;
    else if (log.status === "error") counts.error++;
    else if (log.status === "aborted") counts.aborted++;
  }

  private fitColumns(log: NbLog): void {
    for (const [field, limit] of COLUMN_LIMITS) {
      const value = log[field];
      // UTF-16 length ≥ code points, so the cheap test is exact for the common case.
      if (value.length <= limit) continue;
      const points = Array.from(value);
      if (points.length <= limit) continue;
      (log as Record<keyof NbLog, string>)[field] = points.slice(0, limit).join("");
      this.truncationsLogged ??= new Set();
      if (!this.truncationsLogged.has(field)) {
        this.truncationsLogged.add(field);
        this.options.logger?.warn(
          { field, length: points.length, limit, kernelId: this.options.kernelId },
          "capture: value longer than Moodle's column, truncated",
        );
      }
    }
  }
}
