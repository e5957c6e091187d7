import { LRUCache } from "lru-cache";
import t from "tap";
import { PendingMap } from "../../src/pending-map.js";
import { randomInt, seededRandom } from "../support/frame-builder.js";

// PendingMap does for set-then-take what lru-cache did before it (bounded, oldest out first, expired after a TTL),
// without lru-cache clearing its whole arrays whenever its last entry goes. These tests hold it to lru-cache's
// answers.

t.test("set, take once, bounded, expired", async (t) => {
  let clock = 0;
  const pending = new PendingMap<string>({ max: 2, ttlMs: 100, now: () => clock });
  pending.set("a", "A");
  t.equal(pending.take("a"), "A");
  t.equal(pending.take("a"), undefined, "taken once");
  pending.set("b", "B");
  pending.set("c", "C");
  pending.set("b", "B2");
  pending.set("d", "D");
  t.equal(pending.size, 2);
  t.equal(pending.take("c"), undefined, "the oldest went (b was set again, so it is newer than c)");
  t.equal(pending.take("b"), "B2");
  clock = 150;
  t.equal(pending.take("d"), undefined, "older than the TTL");
  t.equal(pending.size, 0);
  pending.set("e", "E");
  clock = 250;
  t.equal(pending.take("e"), "E", "exactly the TTL old: still there");
});

t.test("the same answers as lru-cache over random operations", async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = seededRandom(seed);
    let clock = 1;
    const max = 1 + randomInt(random, 6);
    const ttlMs = 10 + randomInt(random, 40);
    const ours = new PendingMap<number>({ max, ttlMs, now: () => clock });
    // `ttlResolution: 0`: lru-cache reads the clock at every call instead of once per millisecond.
    const reference = new LRUCache<string, number>({
      max,
      ttl: ttlMs,
      ttlResolution: 0,
      perf: { now: () => clock },
    });
    let mismatches = 0;
    for (let step = 0; step < 5000; step++) {
      const key = `k${randomInt(random, 10)}`;
      clock += randomInt(random, 8);
      if (random() < 0.5) {
        ours.set(key, step);
        reference.set(key, step);
      } else {
        const expected = reference.get(key);
        reference.delete(key);
        if (ours.take(key) !== expected) mismatches++;
      }
      if (ours.size !== reference.size) mismatches++;
    }
    t.equal(mismatches, 0, `seed ${seed}: max ${max}, TTL ${ttlMs} ms, 5,000 operations`);
  }
});
