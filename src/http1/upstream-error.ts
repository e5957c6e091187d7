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
