import type { Logger } from "../../log/logger.js";

/** Distinct problems remembered; past this the memory starts again (a table full of junk still logs, in bursts). */
const REMEMBERED = 1000;

/**
 * Values in Redis that are not what the store writes (edited by hand, or another program's keys under the prefix)
 * are left out of the table with one warning each: the same bad value is found again at every reload, and the
 * log would otherwise repeat it every time.
 */
export class CorruptValueLog {
  private readonly seen = new Set<string>();

  constructor(private readonly log: Logger) {}

  report(what: string, problem: string): void {
    const line = `Redis route store: skipping ${what.slice(0, 300)}: ${problem}`;
    if (this.seen.has(line)) return;
    if (this.seen.size >= REMEMBERED) this.seen.clear();
    this.seen.add(line);
    this.log.warn("%s", line);
  }
}
