import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { Writable } from "node:stream";
import t from "tap";
import { READ_BUFFER_BYTES } from "../../../src/http1/read-buffer.js";
import { ReadHold, type HeldReads } from "../../../src/websocket/read-hold.js";
import { HELD_READ_BYTES, UpstreamReads } from "../../../src/websocket/upstream-reads.js";

// The read memory of a relayed upstream socket, driven as Node drives `onread`: ask for memory, read into it, call
// back, ask again. The rule under test: memory whose bytes a client socket still has to write is never read into
// again, by this socket or any other, and a socket at rest holds no memory of its own.

/** A relayed upstream with its client, whose socket keeps the bytes of a read pending when it is told to hold. */
function relayed(): { reads: UpstreamReads; read: (length: number, fill: number, hold?: boolean) => Buffer } {
  const reads = new UpstreamReads();
  const { buffer, callback } = reads.readOptions();
  let pending = 0;
  let hold = false;
  let last: Buffer | undefined;
  reads.relayTo(
    {
      fromServer: (chunk) => {
        last = chunk;
        // The client's write: done at once, or left pending with the chunk's bytes.
        pending = hold ? chunk.length : 0;
      },
      relaying: true,
    },
    {
      get writableLength() {
        return pending;
      },
    } as Writable,
  );
  const nextMemory = buffer as () => Buffer;
  const read = (length: number, fill: number, holdIt = false): Buffer => {
    hold = holdIt;
    const memory = nextMemory();
    memory.fill(fill, 0, length);
    callback(length, memory);
    return last as Buffer;
  };
  return { reads, read };
}

t.test("bytes a client still has to write are never overwritten by a later read", async (t) => {
  const sockets = [relayed(), relayed(), relayed()];
  const held: Array<Array<{ chunk: Buffer; fill: number }>> = sockets.map(() => []);
  let fill = 1;
  // Full reads (a burst), partial ones (its end), with the client holding the bytes of some of them.
  for (let round = 0; round < 600; round++) {
    const s = (round * 5 + (round >> 3)) % sockets.length;
    const length = round % 7 === 0 ? 100 + round : READ_BUFFER_BYTES;
    const hold = (round * 7 + s) % 3 === 0;
    const chunk = sockets[s]!.read(length, fill, hold);
    // A client socket with nothing pending has written everything it was given before.
    if (hold) held[s]!.push({ chunk, fill });
    else held[s] = [];
    fill = (fill % 250) + 1;
    for (const { chunk: kept, fill: expected } of held.flat()) {
      if (!kept.every((byte) => byte === expected)) {
        t.fail(`round ${round}: bytes held for a client were overwritten`);
        return;
      }
    }
  }
  t.pass("600 reads on three sockets, no held bytes overwritten");
});

t.test("a burst reads into memory of its own without copies; a partial read ends it", async (t) => {
  const { read } = relayed();
  const first = read(READ_BUFFER_BYTES, 1);
  const second = read(READ_BUFFER_BYTES, 2);
  const third = read(READ_BUFFER_BYTES, 3);
  t.equal(third.buffer, second.buffer, "in a burst, the same memory read after read, not copied");
  t.equal(
    first.buffer,
    second.buffer,
    "the burst's first read, copied out of the shared memory, went there too",
  );
  const last = read(500, 4);
  t.equal(last.buffer, second.buffer, "the read that ends the burst is still in its own memory");
  const resting = relayed();
  const idle = read(10, 5);
  const other = resting.read(10, 6);
  t.equal(idle.length, 10);
  t.not(
    idle.buffer,
    second.buffer,
    "at rest the socket holds no memory of its own: its bytes were copied out",
  );
  t.not(other.buffer, second.buffer);
});

t.test("before the relay starts, reads are data events whose bytes stay the listener's", async (t) => {
  const reads = new UpstreamReads();
  const socket = new EventEmitter();
  reads.attach(socket as unknown as Socket);
  const { buffer, callback } = reads.readOptions();
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  for (const [length, fill] of [
    [40, 7],
    [READ_BUFFER_BYTES, 8],
    [READ_BUFFER_BYTES, 9],
  ] as const) {
    const memory = (buffer as () => Buffer)();
    memory.fill(fill, 0, length);
    callback(length, memory);
  }
  t.same(
    received.map((chunk) => [chunk.length, chunk[0], chunk.every((byte) => byte === chunk[0])]),
    [
      [40, 7, true],
      [READ_BUFFER_BYTES, 8, true],
      [READ_BUFFER_BYTES, 9, true],
    ],
    "every chunk keeps its bytes after later reads",
  );
});

/** A window that counts the reads that joined it. */
class JoinsCounted extends ReadHold {
  joined = 0;
  override add(reads: HeldReads): void {
    this.joined++;
    super.add(reads);
  }
}

/** A relayed upstream whose small reads a long hold follows; `state` is what its release looks at. */
function heldRelay() {
  const reads = new UpstreamReads();
  const socket = Object.assign(new EventEmitter(), {
    destroyed: false,
    resumed: 0,
    resume: () => socket.resumed++,
  });
  reads.attach(socket as unknown as Socket);
  const state = { relaying: true, needDrain: false };
  const hold = new JoinsCounted(60_000);
  reads.relayTo(
    {
      fromServer: () => undefined,
      get relaying() {
        return state.relaying;
      },
    },
    {
      writableLength: 0,
      get writableNeedDrain() {
        return state.needDrain;
      },
    } as Writable,
    hold,
  );
  const { buffer, callback } = reads.readOptions();
  /** Reads `length` bytes as Node would; returns whether Node is to read on (false: paused). */
  const read = (length: number): boolean => callback(length, (buffer as () => Buffer)()) !== false;
  return { reads, socket, state, hold, read };
}

t.test("a small read pauses the upstream until its release; larger and full reads do not", async (t) => {
  const { reads, socket, hold, read } = heldRelay();
  t.equal(read(READ_BUFFER_BYTES), true, "a full read: more is waiting, read on");
  t.equal(
    read(HELD_READ_BYTES),
    true,
    `a read of ${HELD_READ_BYTES} bytes: the upstream sends at full speed`,
  );
  t.equal(hold.joined, 0);
  t.equal(read(HELD_READ_BYTES - 1), false, "a smaller read pauses the socket");
  t.equal(hold.joined, 1, "and joins the window");
  reads.releaseHold();
  t.equal(socket.resumed, 1, "released: read again");
  reads.releaseHold();
  t.equal(socket.resumed, 1, "a second release (the window's end after an early one) does nothing");
});

t.test("a release leaves paused what must stay paused", async (t) => {
  for (const [name, stop] of [
    [
      "the client must drain first (its drain resumes)",
      (r: ReturnType<typeof heldRelay>) => (r.state.needDrain = true),
    ],
    [
      "the relay stopped (shutdown's close frames are out)",
      (r: ReturnType<typeof heldRelay>) => (r.state.relaying = false),
    ],
    ["the socket is gone", (r: ReturnType<typeof heldRelay>) => (r.socket.destroyed = true)],
  ] as const) {
    const relay = heldRelay();
    t.equal(relay.read(100), false);
    stop(relay);
    relay.reads.releaseHold();
    t.equal(relay.socket.resumed, 0, name);
  }
});
