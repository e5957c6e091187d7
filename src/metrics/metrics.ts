import { Counter, Gauge, Registry, Summary, collectDefaultMetrics } from "prom-client";

/**
 * The proxy's Prometheus metrics: CHP's nine names (no prefix, counters without `_total`, as CHP
 * exports them), plus the capture and delivery figures an operator of the ltictr role needs.
 */
export class ProxyMetrics {
  readonly registry = new Registry();

  // CHP's names (chp-compat-spec §3.13).
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
  );
  readonly upstreamErrors = this.counter("ltictr_upstream_errors", "Upstream failures by kind", ["kind"]);
  readonly routes = this.gauge("ltictr_routes", "Routes in the table");
  readonly executions = this.counter(
    "ltictr_captured_executions",
    "Captured code-cell executions by record kind and status",
    ["kind", "status"],
  );
  readonly queueDepth = this.gauge(
    "ltictr_delivery_queue_depth",
    "Records in the spool waiting for delivery",
  );
  readonly queueOldestAge = this.gauge(
    "ltictr_delivery_queue_oldest_age_seconds",
    "Age of the oldest undelivered record",
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
  readonly certificateExpiry = this.gauge(
    "ltictr_certificate_expiry_seconds",
    "Unix time at which the public TLS certificate expires",
  );

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] });
  }

  private summary(name: string, help: string): Summary {
    return new Summary({ name, help, registers: [this.registry] });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}
