import { randomBytes } from "node:crypto";

/**
 * The children of one route-trie node, keyed by path segment: an open-addressing hash table (linear probing) whose
 * slots live in one Int32Array, each holding part of the segment's hash, its length, its first characters, the
 * child's value (a route's number) and the value's target (the route's target's number). A lookup takes the segment
 * as a range of the request path, so it allocates nothing, and it reads one slot of that array and nothing else.
 * Under a load spread over 10,000 users each other structure is a cold line of memory per request: a JavaScript Map
 * read a bucket, an entry, the key string and the child node, and an array of the children's data beside the slots
 * was one more line. With 4 MiB read between lookups, the Map's lookup cost ≈ 0.7 µs more at 10,000 routes than at
 * one, this table ≈ 0.3 µs (`bench/micro/cold-lookup.ts`).
 */

/**
 * Int32s per slot: meta, value, target, then INLINE_CHARS UTF-16 units, two per Int32. Meta is the hash's upper 16
 * bits (a filter: the slot's place comes from its lower bits), the length (LONG for LONG units or more) and the flags;
 * the whole hash is not kept, deletion and growth compute it again from the key.
 */
const SLOT_INTS = 8;
const VALUE = 1;
const TARGET = 2;
const CHARS = 3;
const INLINE_CHARS = (SLOT_INTS - CHARS) * 2;
const OCCUPIED = 4;
const HAS_CHILDREN = 2;
const HAS_VALUE = 1;
const FLAGS = 7;
const LENGTH_SHIFT = 3;
/** The length field's largest value, standing for every length from it up (13 bits between flags and tag). */
const LONG = (1 << 13) - 1;
const TAG = -65536;
const MIN_CAPACITY = 4;

/** A slot's meta without its flags: what a lookup compares before the characters. */
function metaKey(hash: number, length: number): number {
  return (hash & TAG) | ((length < LONG ? length : LONG) << LENGTH_SHIFT);
}

/**
 * Random per process, so that which segments share a probe sequence cannot be worked out from outside (a flood of
 * user names chosen to collide would make every lookup walk them all).
 */
const SEED = randomBytes(4).readInt32LE(0);

/** Seeded FNV-1a over the UTF-16 units of `text[start, end)`, with murmur3's final mix to spread the low bits. */
export function segmentHash(text: string, start: number, end: number): number {
  let hash = SEED ^ 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/** A slot's value: a non-negative Int32, or NO_VALUE. */
export const NO_VALUE = -1;

export class SegmentTable<C> {
  private slots = new Int32Array(MIN_CAPACITY * SLOT_INTS);
  /** The whole segment per slot: what a lookup compares past the inline characters, and deletion and growth hash. */
  private keys: (string | undefined)[] = new Array<string | undefined>(MIN_CAPACITY).fill(undefined);
  private children: (C | undefined)[] = new Array<C | undefined>(MIN_CAPACITY).fill(undefined);
  private mask = MIN_CAPACITY - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The slot of the segment `text[start, end)`, or -1. */
  find(text: string, start: number, end: number): number {
    const slots = this.slots;
    const hash = segmentHash(text, start, end);
    const length = end - start;
    const key = metaKey(hash, length);
    let slot = hash & this.mask;
    for (;;) {
      const meta = slots[slot * SLOT_INTS];
      if (meta === 0) return -1;
      if ((meta & ~FLAGS) === key && this.sameKey(slot, text, start, length)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  private sameKey(slot: number, text: string, start: number, length: number): boolean {
    if (length > INLINE_CHARS) {
      const key = this.keys[slot] as string;
      return key.length === length && text.startsWith(key, start);
    }
    const at = slot * SLOT_INTS + CHARS;
    for (let i = 0; i < length; i++) {
      const unit = (this.slots[at + (i >> 1)] >>> ((i & 1) << 4)) & 0xffff;
      if (unit !== text.charCodeAt(start + i)) return false;
    }
    return true;
  }

  /** The slot where `key` would be placed first: its hash, computed again from the key. */
  private homeOf(key: string): number {
    return segmentHash(key, 0, key.length) & this.mask;
  }

  /** Adds `segment` (not present) with neither value nor children; returns its slot. */
  insert(segment: string): number {
    if ((this.count + 1) * 2 > this.mask + 1) this.rebuild((this.mask + 1) * 2);
    const hash = segmentHash(segment, 0, segment.length);
    let slot = hash & this.mask;
    while (this.slots[slot * SLOT_INTS] !== 0) slot = (slot + 1) & this.mask;
    const at = slot * SLOT_INTS;
    this.slots[at] = metaKey(hash, segment.length) | OCCUPIED;
    for (let i = 0; i < segment.length && i < INLINE_CHARS; i++)
      this.slots[at + CHARS + (i >> 1)] |= segment.charCodeAt(i) << ((i & 1) << 4);
    this.keys[slot] = segment;
    this.count++;
    return slot;
  }

  /** Empties `slot`; the slots of other segments may move (and shrink the table). */
  delete(slot: number): void {
    this.clear(slot);
    this.count--;
    // Backward-shift deletion: a later slot of the same probe run moves into the gap, so that lookups can stop at
    // the first empty slot without tombstones.
    let gap = slot;
    let next = (slot + 1) & this.mask;
    while (this.slots[next * SLOT_INTS] !== 0) {
      const home = this.homeOf(this.keys[next] as string);
      // The entry at `next` may fill the gap unless its home lies cyclically in (gap, next].
      const homeAfterGap = gap <= next ? home > gap && home <= next : home > gap || home <= next;
      if (!homeAfterGap) {
        this.move(next, gap);
        gap = next;
      }
      next = (next + 1) & this.mask;
    }
    const capacity = this.mask + 1;
    if (capacity > MIN_CAPACITY && this.count * 8 < capacity) this.rebuild(this.fittingCapacity());
  }

  valueAt(slot: number): number {
    const at = slot * SLOT_INTS;
    return (this.slots[at] & HAS_VALUE) === 0 ? NO_VALUE : this.slots[at + VALUE];
  }

  /** The target given with the slot's value (meaningless while it has none). */
  targetAt(slot: number): number {
    return this.slots[slot * SLOT_INTS + TARGET];
  }

  /** The flag in the slot's meta spares a leaf's lookup the read of the children array. */
  childrenAt(slot: number): C | undefined {
    return (this.slots[slot * SLOT_INTS] & HAS_CHILDREN) === 0 ? undefined : this.children[slot];
  }

  /** Sets the slot's value and its target (non-negative Int32s), or removes the value with NO_VALUE. */
  setValue(slot: number, value: number, target: number): void {
    const at = slot * SLOT_INTS;
    this.slots[at + VALUE] = value;
    this.slots[at + TARGET] = value === NO_VALUE ? 0 : target;
    this.flag(slot, HAS_VALUE, value !== NO_VALUE);
  }

  setChildren(slot: number, children: C | undefined): void {
    this.children[slot] = children;
    this.flag(slot, HAS_CHILDREN, children !== undefined);
  }

  private flag(slot: number, bit: number, on: boolean): void {
    const at = slot * SLOT_INTS;
    this.slots[at] = on ? this.slots[at] | bit : this.slots[at] & ~bit;
  }

  private move(from: number, to: number): void {
    this.slots.copyWithin(to * SLOT_INTS, from * SLOT_INTS, (from + 1) * SLOT_INTS);
    this.keys[to] = this.keys[from];
    this.children[to] = this.children[from];
    this.clear(from);
  }

  private clear(slot: number): void {
    this.slots.fill(0, slot * SLOT_INTS, (slot + 1) * SLOT_INTS);
    this.keys[slot] = undefined;
    this.children[slot] = undefined;
  }

  /** At most a quarter full after a shrink, so that the next few inserts do not grow it straight back. */
  private fittingCapacity(): number {
    let capacity = MIN_CAPACITY;
    while (capacity < this.count * 4) capacity *= 2;
    return capacity;
  }

  private rebuild(capacity: number): void {
    const { slots, keys, children } = this;
    this.slots = new Int32Array(capacity * SLOT_INTS);
    this.keys = new Array<string | undefined>(capacity).fill(undefined);
    this.children = new Array<C | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    for (let old = 0; old < keys.length; old++) {
      if (slots[old * SLOT_INTS] === 0) continue;
      let slot = this.homeOf(keys[old] as string);
      while (this.slots[slot * SLOT_INTS] !== 0) slot = (slot + 1) & this.mask;
      this.slots.set(slots.subarray(old * SLOT_INTS, (old + 1) * SLOT_INTS), slot * SLOT_INTS);
      this.keys[slot] = keys[old];
      this.children[slot] = children[old];
    }
  }
}
