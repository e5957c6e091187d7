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
  readonly findTargetForReq = new Summary({
    name: "find_target_for_req",
    help: "Time (seconds) taken to find the target for a request",
    registers: [this.registry],
  });
  readonly lastActivityUpdating = new Summary({
    name: "last_activity_updating",
    help: "Time (seconds) taken to update the last_activity of a route",
    registers: [this.registry],
  });
  readonly requestsWs = this.counter("requests_ws", "Count of websocket requests");
  readonly requestsWeb = this.counter("requests_web", "Count of web requests");
  readonly requestsProxy = this.counter("requests_proxy", "Count of proxied requests by status", ["status"]);
  readonly requestsApi = this.counter("requests_api", "Count of API requests by status", ["status"]);

  // Additions.
  readonly activeWebSockets = new Gauge({
    name: "ltictr_active_websockets",
    help: "WebSocket connections currently relayed",
    registers: [this.registry],
  });
  readonly upstreamErrors = this.counter("ltictr_upstream_errors", "Upstream failures by kind", ["kind"]);
  readonly routes = new Gauge({
    name: "ltictr_routes",
    help: "Routes in the table",
    registers: [this.registry],
  });
  readonly executions = this.counter(
    "ltictr_captured_executions",
    "Captured code-cell executions by record kind and status",
    ["kind", "status"],
  );
  readonly queueDepth = new Gauge({
    name: "ltictr_delivery_queue_depth",
    help: "Records in the spool waiting for delivery",
    registers: [this.registry],
  });
  readonly queueOldestAge = new Gauge({
    name: "ltictr_delivery_queue_oldest_age_seconds",
    help: "Age of the oldest undelivered record",
    registers: [this.registry],
  });
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
  readonly certificateExpiry = new Gauge({
    name: "ltictr_certificate_expiry_seconds",
    help: "Unix time at which the public TLS certificate expires",
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}
