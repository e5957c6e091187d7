import { setTimeout as delay } from "node:timers/promises";

export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

/**
 * Polls `check` until it holds; throws after `timeoutMs` naming `what`. The limit only bounds a broken run, it is
 * never a pass/fail threshold.
 */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}
