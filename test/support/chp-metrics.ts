import type { MetricType } from "./prometheus-text.js";

/** configurable-http-proxy's nine metrics: no prefix, counters without `_total`. */
export const CHP_METRIC_TYPES: Record<string, MetricType> = {
  api_route_get: "counter",
  api_route_add: "counter",
  api_route_delete: "counter",
  find_target_for_req: "summary",
  last_activity_updating: "summary",
  requests_ws: "counter",
  requests_web: "counter",
  requests_proxy: "counter",
  requests_api: "counter",
};
