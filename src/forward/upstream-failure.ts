import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import { describeUpstreamError } from "../http1/upstream-error.js";

/**
 * An upstream failure that the client will see as a 503: counted by kind and as a 503, and logged as CHP does
 * (`503 GET /path <reason>`, the path without its query, which may carry tokens).
 */
export function reportUpstreamFailure(
  error: unknown,
  method: string | undefined,
  url: string | undefined,
  log: Logger,
  metrics?: ProxyMetrics,
): void {
  const description = describeUpstreamError(error);
  metrics?.upstreamErrors.inc({ kind: description.kind });
  metrics?.requestsProxy.inc({ status: "503" });
  log.error("503 %s %s %s", method, (url ?? "").split("?")[0], description.message);
}
