import t from "tap";
import { isoTime } from "../../src/iso-time.js";
import { seededRandom } from "../support/frame-builder.js";

// isoTime must answer exactly what Date's toISOString does, whatever the order of the times it is asked for.

t.test("the same text as toISOString, for times in and out of the cached second", async (t) => {
  const random = seededRandom(7);
  const now = Date.now();
  const times = [
    0,
    -1,
    999,
    1000,
    Date.UTC(2026, 11, 31, 23, 59, 59, 999),
    Date.UTC(2027, 0, 1),
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    Date.UTC(10000, 0, 1), // +010000-…: six-digit years are toISOString's own
    Date.UTC(-1, 0, 1),
    Date.UTC(2026, 11, 4, 16, 0, 0, 500) + 0.25, // fractional: Date truncates it
    Date.UTC(2026, 11, 4, 16, 0, 0, 500) - 0.25,
    -0.5, // 1970-01-01T00:00:00.000Z, not the second before
    -1,
    -8.64e15,
    8.64e15,
  ];
  for (let i = 0; i < 20000; i++) {
    const base = i % 3 === 0 ? now : Math.floor((random() - 0.5) * 2 * 4e14);
    times.push(base + Math.floor(random() * 3000) - 1500);
  }
  let mismatches = 0;
  for (const time of times) {
    // Twice: the first may fill the cache, the second reads it.
    for (let round = 0; round < 2; round++) {
      if (isoTime(time) !== new Date(time).toISOString()) mismatches++;
    }
  }
  t.equal(mismatches, 0, `${times.length} times, each asked twice`);
});
