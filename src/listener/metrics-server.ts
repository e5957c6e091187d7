import type { RequestListener } from "node:http";
import type { ProxyMetrics } from "../metrics/metrics.js";

/** Prometheus text on exactly `/metrics` (any method, as CHP), 404 elsewhere. */
export function metricsHandler(metrics: ProxyMetrics): RequestListener {
  return (req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404);
      res.end("Not Found");
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(text);
      },
      (error: unknown) => {
        res.writeHead(500);
        res.end(String(error));
      },
    );
  };
}
