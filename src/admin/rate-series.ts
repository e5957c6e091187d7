/** The per-second counts of the last `seconds` seconds, oldest first, with the end time of each second. */
export interface SeriesHistory<K extends string> {
  /** Epoch ms at which each second ended. */
  times: number[];
  values: Record<K, number[]>;
}

/**
 * Counts per second for a fixed set of names, over a fixed window: `add` increments the second in progress (one
 * number; nothing is kept per event), `roll` closes it into a ring of `seconds` slots. Memory does not depend on
 * the traffic.
 */
export class RateSeries<K extends string> {
  private readonly current: Record<K, number>;
  private readonly rings: Record<K, Float64Array>;
  private readonly times: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(
    private readonly names: readonly K[],
    private readonly seconds: number,
  ) {
    this.current = Object.fromEntries(names.map((name) => [name, 0])) as Record<K, number>;
    this.rings = Object.fromEntries(names.map((name) => [name, new Float64Array(seconds)])) as Record<
      K,
      Float64Array
    >;
    this.times = new Float64Array(seconds);
  }

  add(name: K, count = 1): void {
    this.current[name] += count;
  }

  /** Closes the second in progress at `at` (epoch ms) and returns its counts. */
  roll(at: number): Record<K, number> {
    const closed = { ...this.current };
    for (const name of this.names) {
      this.rings[name][this.next] = this.current[name];
      this.current[name] = 0;
    }
    this.times[this.next] = at;
    this.next = (this.next + 1) % this.seconds;
    this.filled = Math.min(this.filled + 1, this.seconds);
    return closed;
  }

  history(): SeriesHistory<K> {
    const start = (this.next - this.filled + this.seconds) % this.seconds;
    const order = Array.from({ length: this.filled }, (_, i) => (start + i) % this.seconds);
    return {
      times: order.map((i) => this.times[i] as number),
      values: Object.fromEntries(
        this.names.map((name) => [name, order.map((i) => this.rings[name][i] as number)]),
      ) as Record<K, number[]>,
    };
  }
}
