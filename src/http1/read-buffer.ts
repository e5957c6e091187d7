/** Bytes one upstream read may fill: Node's own read size. */
export const READ_BUFFER_BYTES = 64 * 1024;

/** Free read memory shared by all upstream connections; bounded, so that idle memory stays small. */
const spare: Buffer[] = [];
const SPARE_LIMIT = 32;
/** Below this, `Buffer.allocUnsafe` carves from Node's shared pool instead of allocating memory of its own. */
const POOLED_BYTES = Buffer.poolSize >>> 1;

/**
 * What every resting connection reads into. Nothing is expected there but the upstream's close (or a stray byte
 * that ends the connection) and the first read of the connection's next exchange. Its bytes are copied out before
 * the read's callback returns (`take`), so nothing references it afterwards and the next read of any socket may
 * overwrite it. Full-sized: a first read that takes only a few KiB of a large answer makes Linux advertise a zero
 * receive window to the upstream several times per answer (measured: 1 MiB answers cost 45 % more CPU with a
 * 4 KiB first read than with a 64 KiB one).
 */
let restingMemory: Buffer | undefined;

/**
 * How many resting connections may keep their own memory instead. A connection that rests between the requests of
 * a busy pool is woken again within microseconds, and the first read of its next answer would land in the resting
 * memory, to be copied out; the first few resting connections keep their memory and skip that copy (both builds
 * loaded at once on 25 keep-alive connections: 2–8 % less CPU per small request over three runs). Bounded, so that
 * hundreds of idle connections still share one memory.
 */
export const RESTING_KEEPERS = 32;
let restingKeepers = 0;

/**
 * The memory an upstream socket reads into, kept from read to read. By default Node gives every read a new
 * ArrayBuffer; at hundreds of MiB/s those external allocations make V8 collect every few dozen milliseconds
 * ("external memory pressure" scavenges, and the mark-compacts they lead to) and cost page faults.
 * Memory is read into again only when nothing references its bytes any more: while the consumer still holds
 * them (queued for a slow client), reads go to other memory, and the held memory comes back once the consumer
 * holds nothing.
 *
 * A connection resting in the pool's idle list holds no read memory of its own (with hundreds of idle keep-alive
 * connections, 64 KiB each would be most of the proxy's memory), the first RESTING_KEEPERS of them excepted: it
 * reads into the one resting memory. Node asks for the next read's memory right after each read, so the switch
 * happens at the read that ended the exchange, and back at the first read of the next one.
 */
export class ReadBuffer {
  /** This connection's own memory, what it reads into next while busy, when its bytes are no longer referenced. */
  private memory: Buffer | undefined;
  /** Memory with bytes the consumer still held after their read (made with the first). */
  private handedOff: Buffer[] | undefined;
  private resting = false;
  /** Resting, this connection holds one of the RESTING_KEEPERS places and reads into its own memory. */
  private keeper = false;

  /**
   * `mayKeep`: whether, resting, this connection may take one of the RESTING_KEEPERS places (pooled connections,
   * woken again within microseconds; not relayed WebSockets, which may rest for hours).
   */
  constructor(private readonly mayKeep = true) {}

  /** For `onread.buffer`: Node asks before every read where the bytes are to go. */
  readonly next = (): Buffer => {
    if (!this.resting || this.keeper)
      return (this.memory ??= spare.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES));
    if (this.memory !== undefined) {
      if (this.mayKeep && restingKeepers < RESTING_KEEPERS) {
        restingKeepers++;
        this.keeper = true;
        return this.memory;
      }
      giveBack(this.memory);
      this.memory = undefined;
    }
    return (restingMemory ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES));
  };

  /**
   * The `length` bytes a read put into `memory`, as a view the consumer may keep. The resting memory's bytes
   * (every resting connection reads there) are copied first: a small answer's into Node's pooled small-buffer
   * memory, a large one's into this connection's own memory — never into a new large buffer, whose allocation per
   * answer brings back the garbage collections this class exists to avoid.
   */
  take(memory: Buffer, length: number): Buffer {
    if (memory !== restingMemory) return memory.subarray(0, length);
    if (length < POOLED_BYTES) {
      const copy = Buffer.allocUnsafe(length);
      memory.copy(copy, 0, 0, length);
      return copy;
    }
    const own = (this.memory ??= spare.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES));
    memory.copy(own, 0, 0, length);
    return own.subarray(0, length);
  }

  /** The connection went idle: from its next read on, it reads into the resting memory. */
  rest(): void {
    this.resting = true;
  }

  /** The connection carries an exchange again: after the read under way, reads go to its own memory. */
  wake(): void {
    this.resting = false;
    this.leaveKeepers();
  }

  /** The connection is closed: a place it held among the resting keepers is free for another. */
  close(): void {
    this.leaveKeepers();
  }

  private leaveKeepers(): void {
    if (!this.keeper) return;
    this.keeper = false;
    restingKeepers--;
  }

  /** The last read's bytes are still referenced: the next read must not overwrite them. */
  handOff(): void {
    const memory = this.memory;
    this.memory = undefined;
    if (memory !== undefined) (this.handedOff ??= []).push(memory);
  }

  /** The consumer holds none of the bytes it was given: the memory handed off to it is free again. */
  reclaim(): void {
    if (this.handedOff === undefined) return;
    for (const memory of this.handedOff) giveBack(memory);
    this.handedOff = undefined;
  }

  /** The consumer is done but may still hold bytes (its writes pending): that memory is left to the GC. */
  abandon(): void {
    this.handedOff = undefined;
  }
}

function giveBack(memory: Buffer): void {
  if (spare.length < SPARE_LIMIT) spare.push(memory);
}
