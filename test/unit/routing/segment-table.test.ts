import t, { type Test } from "tap";
import { NO_VALUE, SegmentTable, segmentHash } from "../../../src/routing/segment-table.js";

// The route trie's children table, checked against a Map that does the same operations: every segment it holds
// is found with its value and children, every other one is not, through growth, backward-shift deletion and shrinking.

function find(table: SegmentTable<string>, segment: string): number {
  return table.find(segment, 0, segment.length);
}

/** The target these tests give each value: its own, so that a slot's target can be checked beside its value. */
function targetOf(value: number): number {
  return value % 1009;
}

function put(table: SegmentTable<string>, segment: string, value: number): void {
  let slot = find(table, segment);
  if (slot === -1) slot = table.insert(segment);
  table.setValue(slot, value, targetOf(value));
}

function checkAgainst(
  t: Test,
  table: SegmentTable<string>,
  expected: Map<string, number>,
  probes: string[],
): void {
  t.equal(table.size, expected.size, "size");
  let wrong = 0;
  for (const segment of probes) {
    const slot = find(table, segment);
    const want = expected.get(segment);
    if (want === undefined) {
      if (slot !== -1) wrong++;
    } else if (slot === -1 || table.valueAt(slot) !== want || table.targetAt(slot) !== targetOf(want))
      wrong++;
  }
  t.equal(wrong, 0, `all ${probes.length} probes agree with the Map`);
}

/** Deterministic pseudo-random numbers, so that a failure can be replayed. */
function numbers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

t.test("finds a segment inside a longer text without copying it", async (t) => {
  const table = new SegmentTable<string>();
  const slot = table.insert("u42");
  table.setValue(slot, 42, 7);
  const path = "/user/u42/api/status";
  t.equal(table.find(path, 6, 9), slot);
  t.equal(table.valueAt(slot), 42);
  t.equal(table.targetAt(slot), 7);
  t.equal(table.find(path, 6, 8), -1, "u4 is another segment");
  t.equal(table.find(path, 6, 10), -1, "so is u42/");
});

t.test("value and children are separate, and unset read as NO_VALUE and undefined", async (t) => {
  const table = new SegmentTable<string>();
  const slot = table.insert("abcdefghij");
  t.equal(table.valueAt(slot), NO_VALUE);
  t.equal(table.childrenAt(slot), undefined);
  table.setChildren(slot, "below");
  t.equal(table.childrenAt(slot), "below");
  t.equal(table.valueAt(slot), NO_VALUE);
  table.setValue(slot, 0, 0);
  table.setChildren(slot, undefined);
  t.equal(table.valueAt(slot), 0, "0 is a value");
  t.equal(table.childrenAt(slot), undefined);
  table.setValue(slot, -1 >>> 1, -1 >>> 1);
  t.equal(
    table.valueAt(slot),
    2 ** 31 - 1,
    "and so is the largest Int32, beside the key's last inline characters",
  );
  t.equal(table.targetAt(slot), 2 ** 31 - 1, "as a target too");
  t.equal(find(table, "abcdefghij"), slot, "neither overwrites the key");
  t.equal(table.childrenAt(slot), undefined, "nor the flags");
  table.setValue(slot, NO_VALUE, 5);
  t.equal(table.valueAt(slot), NO_VALUE);
});

t.test(
  "keys past the inline characters, non-ASCII units and the empty segment are compared in full",
  async (t) => {
    const table = new SegmentTable<string>();
    const expected = new Map<string, number>();
    const keys = [
      "",
      "abcdefghij",
      "abcdefghijk",
      "abcdefghijl",
      "abcdefghijkl",
      "abcdefghijklm",
      "abcdefghijkln",
      "student.with.a.long.name@example.org",
      "student.with.a.long.name@example.com",
      "ユーザー",
      "\uffff\u0000x",
      "\ud83d\ude00",
    ];
    keys.forEach((key, i) => {
      put(table, key, i);
      expected.set(key, i);
    });
    const probes = [
      ...keys,
      "abcdefghi",
      "abcdefghijm",
      "abcdefghijklmn",
      "student.with.a.long.name@example.net",
      "ユーザ",
      "\uffff",
    ];
    checkAgainst(t, table, expected, probes);
  },
);

t.test(
  "segments as long as the length field holds, and longer, are told apart by their whole key",
  async (t) => {
    // The slot's length field stops at 8,191 units; from there on only the key compared in full tells lengths apart.
    const table = new SegmentTable<string>();
    const expected = new Map<string, number>();
    const base = "x".repeat(8190);
    const keys = [base, `${base}a`, `${base}b`, `${base}ab`, `${base}ba`, `${base}abc`, "y".repeat(20000)];
    keys.forEach((key, i) => {
      put(table, key, i);
      expected.set(key, i);
    });
    const probes = [
      ...keys,
      `${base}x`,
      `${base}c`,
      `${base}abd`,
      "y".repeat(19999),
      "y".repeat(20001),
      `${base}a`.slice(1),
    ];
    checkAgainst(t, table, expected, probes);
    const path = `/user/${base}ab/lab`;
    t.equal(table.find(path, 6, 6 + base.length + 2), find(table, `${base}ab`), "found inside a longer text");
    t.equal(table.find(path, 6, 6 + base.length + 1), find(table, `${base}a`));
  },
);

t.test("a thousand random inserts and deletes agree with a Map at every step", async (t) => {
  const random = numbers(17);
  const table = new SegmentTable<string>();
  const expected = new Map<string, number>();
  // Few distinct names, so that the same ones come and go and probe runs overlap.
  const names = Array.from({ length: 300 }, (_, i) =>
    i % 3 === 0 ? `user-with-a-longer-name-${i}` : `u${i}`,
  );
  let largest = 0;
  for (let step = 0; step < 1000; step++) {
    const name = names[Math.floor(random() * names.length)];
    // Grow first, then mostly shrink, so that both rebuilds run.
    const deleting = step < 500 ? random() < 0.2 : random() < 0.8;
    if (deleting) {
      const slot = find(table, name);
      if (slot !== -1) table.delete(slot);
      expected.delete(name);
    } else {
      put(table, name, step);
      expected.set(name, step);
    }
    largest = Math.max(largest, expected.size);
    if (step % 50 === 49) checkAgainst(t, table, expected, names);
  }
  t.ok(largest > 100, `the table held ${largest} names at most`);
  for (const name of expected.keys()) table.delete(find(table, name));
  t.equal(table.size, 0);
  checkAgainst(t, table, new Map(), names);
});

t.test(
  "deleting from a full probe run that wraps around the table's end keeps every entry findable",
  async (t) => {
    // Many names, few slots: runs wrap from the last slot to the first, where backward shifting must look cyclically.
    const table = new SegmentTable<string>();
    const expected = new Map<string, number>();
    const names = Array.from({ length: 64 }, (_, i) => `n${i}`);
    names.forEach((name, i) => {
      put(table, name, i);
      expected.set(name, i);
    });
    for (const name of names.filter((_, i) => i % 2 === 0)) {
      table.delete(find(table, name));
      expected.delete(name);
      checkAgainst(t, table, expected, names);
    }
  },
);

t.test("the hash depends on the characters of the range only", async (t) => {
  t.equal(segmentHash("/user/abc/x", 6, 9), segmentHash("abc", 0, 3));
  t.not(segmentHash("abc", 0, 3), segmentHash("acb", 0, 3));
  t.not(segmentHash("a", 0, 1), segmentHash("a\u0000", 0, 2), "a trailing NUL is a character");
});
