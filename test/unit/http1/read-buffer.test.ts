import t from "tap";
import { READ_BUFFER_BYTES, ReadBuffer, RESTING_READ_BYTES } from "../../../src/http1/read-buffer.js";

// The read memory of one upstream connection: large while it carries an exchange, small while it rests in the
// pool's idle list, and never read into again while its consumer still holds the bytes of an earlier read.

t.test("a resting connection reads into small memory of its own, a busy one into large memory", async (t) => {
  const reads = new ReadBuffer();
  const busy = reads.next();
  t.equal(busy.length, READ_BUFFER_BYTES, "an exchange reads 64 KiB at a time");
  t.equal(reads.next(), busy, "the same memory read after read while nothing holds it");
  reads.rest();
  const resting = reads.next();
  t.equal(resting.length, RESTING_READ_BYTES, "idle: 4 KiB");
  t.equal(reads.next(), resting, "kept while resting");
  reads.wake();
  const again = reads.next();
  t.equal(again.length, READ_BUFFER_BYTES, "woken: large memory again");
  reads.rest();
  t.equal(reads.next(), resting, "the small memory comes back for the next rest");
});

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

t.test("small memory handed off while resting is never written again", async (t) => {
  const reads = new ReadBuffer();
  reads.rest();
  const resting = reads.next();
  reads.handOff();
  t.not(reads.next(), resting, "a stray read still referenced gets new memory");
});
