import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";

/** A short, non-alarming description of why an upstream failed, for logs and the upstream_errors metric. */
export interface UpstreamErrorDescription {
  kind: "refused" | "unreachable" | "reset" | "timeout" | "tls" | "dns" | "other";
  message: string;
}

export function describeUpstreamError(error: unknown): UpstreamErrorDescription {
  const err = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err?.code ?? err?.cause?.code ?? "";
  const message = err?.message ?? String(error);
  if (code === "ECONNREFUSED" || code === "ENOENT") return { kind: "refused", message };
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return { kind: "unreachable", message };
  if (code === "ECONNRESET" || code === "EPIPE" || code === "UND_ERR_SOCKET")
    return { kind: "reset", message };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return { kind: "dns", message };
  if (code.startsWith("UND_ERR_") && code.includes("TIMEOUT"))
    return { kind: "timeout", message: `timeout: ${message}` };
  if (code === "ETIMEDOUT") return { kind: "timeout", message };
  if (code.startsWith("ERR_TLS") || code.includes("CERT") || code === "DEPTH_ZERO_SELF_SIGNED_CERT")
    return { kind: "tls", message };
  return { kind: "other", message };
}

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
