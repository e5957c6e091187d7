import { events } from "../events.js";
import { describeUpstreamError } from "../http1/upstream-error.js";
import type { Logger } from "../log/logger.js";

/**
 * An upstream failure that the client will see as a 503: published by kind and as a 503, and logged as CHP does
 * (`503 GET /path <reason>`, the path without its query, which may carry tokens).
 */
export function reportUpstreamFailure(
  error: unknown,
  method: string | undefined,
  url: string | undefined,
  log: Logger,
): void {
  const description = describeUpstreamError(error);
  if (events.upstreamFailure.active) events.upstreamFailure.publish({ kind: description.kind });
  if (events.proxyResponse.active) events.proxyResponse.publish({ status: 503 });
  log.error("503 %s %s %s", method, (url ?? "").split("?")[0], description.message);
}
