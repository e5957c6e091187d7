/** A small seeded generator (mulberry32): the same seed gives the same sequence, so every case can be replayed. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The generator of case `index` of the run seeded `seed`: each case replays alone, whatever came before. */
  static forCase(seed: number, index: number): Random {
    let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
    x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
    return new Random((x ^ (x >>> 16)) >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let x = this.state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A key of `weights`, chosen in proportion to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let total = 0;
    for (const [, weight] of entries) total += weight;
    let at = this.next() * total;
    for (const [key, weight] of entries) {
      at -= weight;
      if (at < 0) return key;
    }
    return entries[entries.length - 1][0];
  }

  /** A number among the keys of `weights`, chosen in proportion to its weight. */
  weightedNumber(weights: Readonly<Record<number, number>>): number {
    return Number(this.weighted(weights as Record<string, number>));
  }

  /** `length` characters drawn from `alphabet`. */
  string(alphabet: string, length: number): string {
    let text = "";
    for (let i = 0; i < length; i++) text += alphabet[this.int(alphabet.length)];
    return text;
  }

  /** Sorted offsets in (0, length) at which to cut an input into pieces. */
  cuts(length: number, maxCuts: number): number[] {
    if (length < 2) return [];
    const count = this.int(maxCuts + 1);
    const cuts = new Set<number>();
    for (let i = 0; i < count; i++) cuts.add(1 + this.int(length - 1));
    return [...cuts].sort((a, b) => a - b);
  }
}
