import { Counter, Gauge, Registry, Summary, collectDefaultMetrics } from "prom-client";
import { events } from "../events.js";

/** Figures read when Prometheus scrapes, from the stages' status. */
export interface MetricsSources {
  openWebSockets?(): number;
  routeCount?(): number | undefined;
  /** 1 while a shared route store (Redis) takes writes, 0 while it is unreachable; absent for local stores. */
  routeStoreConnected?(): number | undefined;
  deliveryQueue?(): { depth: number; oldestCapturedAt?: number } | undefined;
  captureHeldBytes?(): number;
}

/**
 * The proxy's Prometheus metrics: CHP's nine names (no prefix, counters without `_total`, as CHP exports them),
 * plus the capture and delivery figures an operator of the ltictr role needs. Counters follow the stages' events
 * (see events.ts): nothing is counted while no ProxyMetrics exists, and the stages never hold one. Gauges are
 * read from the stages' status when scraped.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  private sources: MetricsSources = {};
  private readonly unsubscribe: Array<() => void> = [];

  // CHP's names.
  readonly apiRouteGet = this.counter("api_route_get", "Count of API requests to get the routing table");
  readonly apiRouteAdd = this.counter("api_route_add", "Count of API requests to add a route");
  readonly apiRouteDelete = this.counter("api_route_delete", "Count of API requests to delete a route");
  readonly findTargetForReq = this.summary(
    "find_target_for_req",
    "Time (seconds) taken to find the target for a request",
  );
  readonly lastActivityUpdating = this.summary(
    "last_activity_updating",
    "Time (seconds) taken to update the last_activity of a route",
  );
  readonly requestsWs = this.counter("requests_ws", "Count of websocket requests");
  readonly requestsWeb = this.counter("requests_web", "Count of web requests");
  readonly requestsProxy = this.counter("requests_proxy", "Count of proxied requests by status", ["status"]);
  readonly requestsApi = this.counter("requests_api", "Count of API requests by status", ["status"]);

  // Additions.
  readonly activeWebSockets = this.gauge(
    "ltictr_active_websockets",
    "WebSocket connections currently relayed",
    () => this.sources.openWebSockets?.(),
  );
  readonly upstreamErrors = this.counter("ltictr_upstream_errors", "Upstream failures by kind", ["kind"]);
  readonly routes = this.gauge("ltictr_routes", "Routes in the table", () => this.sources.routeCount?.());
  readonly routeStoreConnected = this.gauge(
    "ltictr_route_store_connected",
    "1 while the shared route store (Redis) is reachable, 0 while replicas route from their local copy",
    () => this.sources.routeStoreConnected?.(),
  );
  readonly executions = this.counter(
    "ltictr_captured_executions",
    "Captured code-cell executions by record kind and status",
    ["kind", "status"],
  );
  readonly queueDepth = this.gauge(
    "ltictr_delivery_queue_depth",
    "Records in the spool waiting for delivery",
    () => this.sources.deliveryQueue?.()?.depth,
  );
  readonly queueOldestAge = this.gauge(
    "ltictr_delivery_queue_oldest_age_seconds",
    "Age of the oldest undelivered record",
    () => {
      const queue = this.sources.deliveryQueue?.();
      if (!queue) return undefined;
      const oldest = queue.oldestCapturedAt;
      return oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
    },
  );
  readonly deliveryRetries = this.counter(
    "ltictr_delivery_retries",
    "Delivery attempts that will be retried",
  );
  readonly delivered = this.counter("ltictr_delivered_records", "Records acknowledged by Moodle");
  readonly deadLetters = this.counter("ltictr_dead_letters", "Records moved to the dead-letter file");
  readonly refusedRecords = this.counter(
    "ltictr_refused_records",
    "Records not sent because their Moodle is not allowed or the spool is full",
    ["reason"],
  );
  readonly captureSkipped = this.counter(
    "ltictr_capture_skipped_messages",
    "Kernel messages relayed but not inspected, by reason",
    ["reason"],
  );
  readonly captureHeldBytes = this.gauge(
    "ltictr_capture_held_bytes",
    "Bytes held to reassemble kernel messages that span several reads, over all sockets",
    () => this.sources.captureHeldBytes?.(),
  );
  readonly certificateExpiry = this.gauge(
    "ltictr_certificate_expiry_seconds",
    "Unix time at which the public TLS certificate expires",
  );

  constructor(options: { defaultMetrics?: boolean; sources?: MetricsSources } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    if (options.sources) this.sources = options.sources;
    this.subscribe();
  }

  /** Where the gauges read their values from (the running stages). */
  observe(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** Stops counting events. */
  close(): void {
    for (const stop of this.unsubscribe.splice(0)) stop();
  }

  private subscribe(): void {
    const on = <T>(
      channel: { subscribe(listener: (message: T) => void): () => void },
      listener: (message: T) => void,
    ) => this.unsubscribe.push(channel.subscribe(listener));
    on(events.apiRequest, ({ status, action }) => {
      this.requestsApi.inc({ status: String(status) });
      if (action === "read") this.apiRouteGet.inc();
      else if (action === "add") this.apiRouteAdd.inc();
      else if (action === "delete") this.apiRouteDelete.inc();
    });
    on(events.routeLookup, ({ seconds }) => this.findTargetForReq.observe(seconds));
    on(events.activityWrite, ({ seconds }) => this.lastActivityUpdating.observe(seconds));
    on(events.proxyRequest, ({ kind }) => (kind === "ws" ? this.requestsWs : this.requestsWeb).inc());
    on(events.proxyResponse, ({ status }) => this.requestsProxy.inc({ status: String(status) }));
    on(events.upstreamFailure, ({ kind }) => this.upstreamErrors.inc({ kind }));
    on(events.executionCaptured, ({ kind, status }) => {
      if (kind !== "ltictr") this.executions.inc({ kind, status: status || "none" });
    });
    on(events.captureSkipped, ({ reason }) => this.captureSkipped.inc({ reason }));
    on(events.recordsDelivered, ({ count }) => this.delivered.inc(count));
    on(events.recordsRetried, ({ count }) => this.deliveryRetries.inc(count));
    on(events.recordsDeadLettered, ({ count }) => this.deadLetters.inc(count));
    on(events.recordsRefused, ({ reason, count }) => this.refusedRecords.inc({ reason }, count));
    on(events.certificateLoaded, ({ listener, validTo }) => {
      if (listener === "public") this.certificateExpiry.set(Math.floor(validTo / 1000));
    });
  }

  private gauge(name: string, help: string, read?: () => number | undefined): Gauge {
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      ...(read
        ? {
            collect(this: Gauge) {
              const value = read();
              if (value !== undefined) this.set(value);
            },
          }
        : {}),
    });
  }

  private summary(name: string, help: string): Summary {
    return new Summary({ name, help, registers: [this.registry] });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}
