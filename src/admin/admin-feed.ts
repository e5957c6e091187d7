import { events, type ExecutionCaptured, type KernelSessionEvent } from "../events.js";
import type { Logger } from "../log/logger.js";
import type { AdminSources } from "./admin-sources.js";
import { RateSeries } from "./rate-series.js";
import { ResultsAggregator, type ResultDelta, type ResultRow } from "./results-aggregator.js";
import { routeRow } from "./route-rows.js";
import type { SseHub } from "./sse-hub.js";

/** The overview chart's window. */
export const SERIES_SECONDS = 600;
const SERIES_NAMES = ["requests", "websockets", "cells", "ok", "error", "delivered"] as const;
export type SeriesName = (typeof SERIES_NAMES)[number];
/** Distinct result rows or sockets one tick carries; beyond, the tick tells pages to reload the view instead. */
const MAX_CHANGES_PER_TICK = 1000;

/** Counts since the proxy started. */
export interface Totals {
  requests: number;
  websockets: number;
  /** Records captured, of every kind (`ltictr`, `client`, `server`). */
  captured: number;
  /** Cell runs (client records). */
  cells: number;
  ok: number;
  error: number;
  delivered: number;
  retried: number;
  deadLettered: number;
  refused: number;
}

/** A kernel socket's counts that changed during one second: `[socket id, executions, ok, error, aborted]`. */
type SessionIncrement = [number, number, number, number, number];

/**
 * Turns the proxy's events into what the admin page shows live: per-second series, totals, the results cube, and
 * the messages pushed to open pages (a `tick` each second with the second's figures and changed counts; `route`,
 * `session`, `delivery` and `certificate` as they happen). One subscription per channel, whatever the number of
 * pages; per event only counters move — what a page needs per change is kept only while a page listens, and only
 * until the next tick.
 */
export class AdminFeed {
  readonly series = new RateSeries<SeriesName>(SERIES_NAMES, SERIES_SECONDS);
  readonly results = new ResultsAggregator();
  readonly totals: Totals = {
    requests: 0,
    websockets: 0,
    captured: 0,
    cells: 0,
    ok: 0,
    error: 0,
    delivered: 0,
    retried: 0,
    deadLettered: 0,
    refused: 0,
  };
  private readonly unsubscribe: Array<() => void> = [];
  private readonly changedResults = new Map<string, ResultRow>();
  private readonly changedSessions = new Map<number, SessionIncrement>();
  private changesOverflowed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sources: AdminSources,
    private readonly hub: SseHub,
    private readonly log: Logger,
  ) {}

  start(): void {
    const on = <T>(
      channel: { subscribe(listener: (message: T) => void): () => void },
      listener: (message: T) => void,
    ) => this.unsubscribe.push(channel.subscribe(listener));
    on(events.proxyRequest, ({ kind }) => {
      if (kind === "web") {
        this.totals.requests += 1;
        this.series.add("requests");
      } else {
        this.totals.websockets += 1;
        this.series.add("websockets");
      }
    });
    on(events.executionCaptured, (event) => this.executionCaptured(event));
    on(events.kernelSessionOpened, (event) => this.sessionChanged("opened", event));
    on(events.kernelSessionClosed, (event) => this.sessionChanged("closed", event));
    on(events.routeChanged, ({ path }) => {
      if (this.hub.size > 0) void this.routeChanged(path);
    });
    on(events.recordsDelivered, ({ count, origin }) => {
      this.totals.delivered += count;
      this.series.add("delivered", count);
      this.hub.broadcast("delivery", { kind: "delivered", count, origin });
    });
    on(events.recordsRetried, ({ count, origin, reason }) => {
      this.totals.retried += count;
      this.hub.broadcast("delivery", { kind: "retried", count, origin, reason });
    });
    on(events.recordsDeadLettered, ({ count, origin, reason }) => {
      this.totals.deadLettered += count;
      this.hub.broadcast("delivery", { kind: "dead-lettered", count, origin, reason });
    });
    on(events.recordsRefused, ({ count, reason }) => {
      this.totals.refused += count;
      this.hub.broadcast("delivery", { kind: "refused", count, reason });
    });
    on(events.certificateLoaded, ({ listener, subject, validTo }) =>
      this.hub.broadcast("certificate", { listener, subject, validTo }),
    );
    this.timer = setInterval(() => this.tick(), 1000).unref();
  }

  close(): void {
    clearInterval(this.timer);
    for (const stop of this.unsubscribe.splice(0)) stop();
  }

  /**
   * Closes the second: the series move on; open pages get the second's figures and the counts that changed. The
   * changes are dropped either way: a page that opens later reads them in its first snapshot.
   */
  tick(at = Date.now()): void {
    const rates = this.series.roll(at);
    if (this.hub.size > 0) {
      const queue = this.sources.delivery?.queue();
      this.hub.broadcast("tick", {
        t: at,
        rates,
        totals: this.totals,
        gauges: {
          openWebSockets: this.sources.relay.openCount,
          kernelSockets: this.sources.capture.openCount,
          queued: queue?.depth,
          oldestQueuedAt: queue?.oldestCapturedAt,
        },
        results: [...this.changedResults.values()],
        sessions: [...this.changedSessions.values()],
        reload: this.changesOverflowed,
      });
    }
    this.changedResults.clear();
    this.changedSessions.clear();
    this.changesOverflowed = false;
  }

  private executionCaptured(event: ExecutionCaptured): void {
    this.totals.captured += 1;
    if (event.kind === "client") {
      this.totals.cells += 1;
      this.series.add("cells");
    }
    const delta = this.results.record(event);
    if (delta) {
      this.totals[delta.outcome] += 1;
      this.series.add(delta.outcome);
    }
    if (this.hub.size === 0 || event.kind === "ltictr") return;
    if (delta) this.noteResult(delta);
    if (event.socket !== undefined) this.noteSession(event.socket, event);
  }

  private noteResult(delta: ResultDelta): void {
    const key = [delta.instance, delta.user, delta.filename, delta.codenum].join("\u0000");
    let row = this.changedResults.get(key);
    if (!row) {
      if (this.changedResults.size >= MAX_CHANGES_PER_TICK) {
        this.changesOverflowed = true;
        return;
      }
      const { outcome: _outcome, ...cell } = delta;
      row = { ...cell, ok: 0, error: 0 };
      this.changedResults.set(key, row);
    }
    row[delta.outcome] += 1;
  }

  private noteSession(socket: number, event: ExecutionCaptured): void {
    let counts = this.changedSessions.get(socket);
    if (!counts) {
      if (this.changedSessions.size >= MAX_CHANGES_PER_TICK) {
        this.changesOverflowed = true;
        return;
      }
      counts = [socket, 0, 0, 0, 0];
      this.changedSessions.set(socket, counts);
    }
    // The same classification as the socket's own tracker (ExecutionTracker.count).
    if (event.kind === "client") counts[1] += 1;
    else if (event.status === "ok") counts[2] += 1;
    else if (event.status === "error") counts[3] += 1;
    else if (event.status === "aborted") counts[4] += 1;
  }

  private sessionChanged(change: "opened" | "closed", event: KernelSessionEvent): void {
    if (this.hub.size === 0) return;
    if (change === "closed") {
      this.hub.broadcast("session", { closed: event.id });
      return;
    }
    this.hub.broadcast("session", {
      opened: {
        id: event.id,
        kernelId: event.kernelId,
        sessionId: event.sessionId,
        user: event.user,
        format: event.format,
        openedAt: Date.now(),
        counts: { executions: 0, ok: 0, error: 0, aborted: 0 },
        instId: event.instId,
        ltiId: event.ltiId,
        inspecting: true,
      },
    });
  }

  private async routeChanged(path: string): Promise<void> {
    try {
      const data = await this.sources.routes.get(path);
      const sockets = data ? (this.sources.relay.status().byRoute[path] ?? 0) : 0;
      this.hub.broadcast("route", { path, route: data ? routeRow(path, data, sockets) : null });
    } catch (error) {
      this.log.warn({ err: error }, "admin page: cannot read route %s", path);
    }
  }
}
