/** Exponential backoff with jitter for delivery retries. */
export interface BackoffPolicy {
  /** Delay ceiling of the first retry. */
  baseMs: number;
  /** Delays never exceed this. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 60_000 };

/**
 * Delay before retry number `attempt` (1 = first retry): "equal jitter", i.e. uniformly in
 * [ceiling/2, ceiling] with ceiling = min(maxMs, baseMs·2^(attempt-1)). Half of the ceiling is kept so a
 * struggling Moodle really gets a pause; the random half spreads the proxies' (and streams') retries apart.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
