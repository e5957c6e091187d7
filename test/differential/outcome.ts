/** What reading one upstream response came to, in terms both parsers can be held to. */
export interface ResponseOutcome {
  /** The final head (not an informational 1xx), once all of it was accepted. */
  head?: OutcomeHead;
  /** The whole response was read without an error. */
  complete: boolean;
  /** The body's bytes, when complete. */
  body?: Buffer;
  /** Offset just past the response in the input, when complete (its length for a body ended by the close). */
  end?: number;
  /** What went wrong, for the report only: error texts differ between parsers and are never compared. */
  error?: string;
}

export interface OutcomeHead {
  status: number;
  statusMessage: string;
  /** Flat name/value pairs in arrival order, names lower-cased, values without surrounding SP/HTAB. */
  headers: string[];
  /** The connection may carry another request after this response (llhttp's `shouldKeepAlive`). */
  keepAlive: boolean;
  /** `major.minor`, where the parser reports it. */
  version?: string;
}

/** The connection can go back to the pool: the response allows it and nothing followed it. */
export function reusable(outcome: ResponseOutcome, inputLength: number): boolean {
  return Boolean(outcome.head?.keepAlive) && outcome.complete && outcome.end === inputLength;
}

/**
 * The proxy keeps llhttp's verdict everywhere but here, where llhttp would reuse a connection that HTTP/1.1
 * says must be closed: a response in HTTP/1.0 (or another version llhttp treats like it) with a
 * Transfer-Encoding header may have been framed differently by an HTTP/1.0 intermediary, so the proxy reads it
 * as llhttp does but closes the connection afterwards. llhttp reuses it when `Connection: keep-alive` is set.
 */
export function closesAfterHttp10TransferEncoding(head: OutcomeHead): boolean {
  // Informational heads (and 101) carry no body: llhttp's verdict stands for them.
  if (head.version === "1.1" || (head.status >= 100 && head.status < 200)) return false;
  for (let i = 0; i < head.headers.length; i += 2) if (head.headers[i] === "transfer-encoding") return true;
  return false;
}

export interface Comparison {
  agree: boolean;
  /** The first field that differs, with both values. */
  difference?: string;
  /** The documented deviation decided the expected keep-alive. */
  deviation: boolean;
}

/**
 * Compares the proxy's outcome with llhttp's for the same input. `withDeviation: false` compares two readings by
 * llhttp itself, to which the proxy's deviation does not apply.
 */
export function compareOutcomes(
  proxy: ResponseOutcome,
  llhttp: ResponseOutcome,
  withDeviation = true,
): Comparison {
  const differ = (field: string, ours: unknown, theirs: unknown): Comparison => ({
    agree: false,
    difference: `${field}: proxy ${JSON.stringify(ours)}, llhttp ${JSON.stringify(theirs)}`,
    deviation: false,
  });
  if (Boolean(proxy.head) !== Boolean(llhttp.head))
    return differ("head accepted", !!proxy.head, !!llhttp.head);
  let deviation = false;
  if (proxy.head && llhttp.head) {
    const ours = proxy.head;
    const theirs = llhttp.head;
    if (ours.status !== theirs.status) return differ("status", ours.status, theirs.status);
    if (ours.statusMessage !== theirs.statusMessage)
      return differ("statusMessage", ours.statusMessage, theirs.statusMessage);
    if (ours.headers.length !== theirs.headers.length || ours.headers.some((v, i) => v !== theirs.headers[i]))
      return differ("headers", ours.headers, theirs.headers);
    let expectedKeepAlive = theirs.keepAlive;
    if (withDeviation && expectedKeepAlive && closesAfterHttp10TransferEncoding(theirs)) {
      expectedKeepAlive = false;
      deviation = true;
    }
    if (ours.keepAlive !== expectedKeepAlive) return differ("keepAlive", ours.keepAlive, expectedKeepAlive);
  }
  if (proxy.complete !== llhttp.complete) return differ("complete", proxy.complete, llhttp.complete);
  if (proxy.complete) {
    if (!proxy.body || !llhttp.body || !proxy.body.equals(llhttp.body))
      return differ("body", proxy.body?.toString("latin1"), llhttp.body?.toString("latin1"));
    // With keep-alive and completeness equal, the same end means the same reuse decision.
    if (proxy.end !== llhttp.end) return differ("end", proxy.end, llhttp.end);
  }
  return { agree: true, deviation };
}
