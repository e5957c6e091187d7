import t from "tap";
import { READ_BUFFER_BYTES, RESTING_KEEPERS, ReadBuffer } from "../../../src/http1/read-buffer.js";

// The read memory of one upstream connection: its own while it carries an exchange, the one memory all resting
// connections share while it rests in the pool's idle list (whose bytes are always copied out), and never read
// into again while its consumer still holds the bytes of an earlier read. The first RESTING_KEEPERS resting
// connections keep their own memory; the tests of the shared memory first fill those places.

/** A connection that carried an exchange and now rests: its own memory, and the memory its next read goes to. */
function restingConnection(): { reads: ReadBuffer; own: Buffer; next: Buffer } {
  const reads = new ReadBuffer();
  const own = reads.next();
  reads.rest();
  return { reads, own, next: reads.next() };
}

/** Resting connections that hold every place of a keeper: connections resting after them share one memory. */
function fillKeeperPlaces(): ReadBuffer[] {
  return Array.from({ length: RESTING_KEEPERS }, () => restingConnection().reads);
}

function closeAll(connections: ReadBuffer[]): void {
  for (const reads of connections) reads.close();
}

t.test(
  "the first resting connections keep their own memory; a place frees when one wakes or closes",
  async (t) => {
    const keepers: ReadBuffer[] = [];
    for (let i = 0; i < RESTING_KEEPERS; i++) {
      const { reads, own, next } = restingConnection();
      t.equal(next, own, `resting connection ${i + 1} reads into its own memory`);
      keepers.push(reads);
    }
    const late = restingConnection();
    t.not(
      late.next,
      late.own,
      "once the places are taken, a resting connection reads into the shared memory",
    );
    const copy = late.reads.take(late.next, 3);
    t.not(copy.buffer, late.next.buffer, "whose bytes are copied out");

    keepers[0].wake();
    const again = restingConnection();
    t.equal(again.next, again.own, "a woken keeper's place goes to the next connection to rest");
    const kept = again.reads.take(again.own, 3);
    t.equal(kept.buffer, again.own.buffer, "and its reads are not copied");

    keepers[1].close();
    const third = restingConnection();
    t.equal(third.next, third.own, "a closed keeper's place too");
    closeAll([...keepers, late.reads, again.reads, third.reads]);
  },
);

t.test("a busy connection reads into memory of its own, resting ones into one shared memory", async (t) => {
  const keepers = fillKeeperPlaces();
  t.teardown(() => closeAll(keepers));
  const reads = new ReadBuffer();
  const other = new ReadBuffer();
  const busy = reads.next();
  t.equal(busy.length, READ_BUFFER_BYTES, "an exchange reads 64 KiB at a time");
  t.equal(reads.next(), busy, "the same memory read after read while nothing holds it");
  t.not(other.next(), busy, "another busy connection has its own");
  reads.rest();
  other.rest();
  const resting = reads.next();
  t.equal(
    resting.length,
    READ_BUFFER_BYTES,
    "resting: a full-sized read (a large answer's first read lands here)",
  );
  t.equal(other.next(), resting, "one memory for every resting connection");
  reads.wake();
  t.equal(reads.next().length, READ_BUFFER_BYTES, "woken: memory of its own again");
  t.not(reads.next(), resting, "not the shared memory");
});

t.test(
  "bytes read into the shared resting memory move to the connection's own; a busy read's stay put",
  async (t) => {
    const keepers = fillKeeperPlaces();
    t.teardown(() => closeAll(keepers));
    const reads = new ReadBuffer();
    const own = reads.next();
    own.write("busy");
    t.equal(reads.take(own, 4).buffer, own.buffer, "a view of the connection's own memory");
    reads.rest();
    const shared = reads.next();
    shared.write("small");
    const small = reads.take(shared, 5);
    t.not(small.buffer, shared.buffer, "a small read is copied");
    shared.write("other");
    t.equal(
      small.toString(),
      "small",
      "later reads of other connections do not change what the consumer was given",
    );
    reads.handOff();
    t.equal(reads.next(), shared, "a small copy holds nothing of the connection's back");
    shared.fill(7);
    const large = reads.take(shared, READ_BUFFER_BYTES);
    t.not(large.buffer, shared.buffer, "a large read moves too");
    shared.fill(8);
    t.equal(large[READ_BUFFER_BYTES - 1], 7, "its bytes are the read's");
    reads.wake();
    reads.handOff();
    const next = reads.next();
    t.not(next.buffer, large.buffer, "held: the next read goes elsewhere");
    t.not(next, shared, "and not to the shared memory once woken");
    const other = new ReadBuffer();
    other.rest();
    t.equal(other.next(), shared, "the shared memory stays in use for resting connections");
  },
);

t.test("memory the consumer still holds is not read into; it is reused once released", async (t) => {
  const reads = new ReadBuffer();
  const first = reads.next();
  reads.handOff();
  const second = reads.next();
  t.not(second, first, "held bytes are not overwritten");
  reads.reclaim();
  reads.handOff();
  // The first memory went back to the shared spare list (last in, first out) once the consumer held nothing.
  t.equal(reads.next(), first, "released memory is read into again");
});
