/** Bytes one upstream read may fill: Node's own read size. */
export const READ_BUFFER_BYTES = 64 * 1024;
/**
 * Bytes an idle connection may read: nothing is expected there but the upstream's close (or a stray byte that
 * ends the connection), and a small answer's head and body still fit in the first read of the next exchange.
 */
export const RESTING_READ_BYTES = 4 * 1024;

/** Free read memory shared by all upstream connections; bounded, so that idle memory stays small. */
const spare: Buffer[] = [];
const SPARE_LIMIT = 32;

/**
 * The memory an upstream socket reads into, kept from read to read. By default Node gives every read a new
 * ArrayBuffer; at hundreds of MiB/s those external allocations make V8 collect every few dozen milliseconds
 * ("external memory pressure" scavenges, and the mark-compacts they lead to) and cost page faults.
 * Memory is read into again only when nothing references its bytes any more: while the consumer still holds
 * them (queued for a slow client), reads go to other memory, and the held memory comes back once the consumer
 * holds nothing.
 *
 * A connection resting in the pool's idle list reads into a small buffer of its own instead: with hundreds of
 * idle keep-alive connections, 64 KiB each would be most of the proxy's memory. Node asks for the next read's
 * memory right after each read, so the switch happens at the read that ended the exchange.
 */
export class ReadBuffer {
  /** What the socket reads into next, when its bytes are no longer referenced. */
  private memory: Buffer | undefined;
  /** The small buffer of a resting connection, kept for the next rest while nothing references it. */
  private small: Buffer | undefined;
  /** Memory with bytes the consumer still held after their read. */
  private handedOff: Buffer[] = [];
  private resting = false;

  /** For `onread.buffer`: Node asks before every read where the bytes are to go. */
  readonly next = (): Buffer => {
    const memory = this.memory;
    if (memory !== undefined && (memory === this.small) === this.resting) return memory;
    if (memory !== undefined && memory !== this.small) giveBack(memory);
    this.memory = this.resting
      ? (this.small ??= Buffer.allocUnsafeSlow(RESTING_READ_BYTES))
      : (spare.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES));
    return this.memory;
  };

  /** The connection went idle: from its next read on, it reads into small memory. */
  rest(): void {
    this.resting = true;
  }

  /** The connection carries an exchange again: after the read under way, reads go to large memory. */
  wake(): void {
    this.resting = false;
  }

  /** The last read's bytes are still referenced: the next read must not overwrite them. */
  handOff(): void {
    const memory = this.memory;
    this.memory = undefined;
    if (memory === undefined) return;
    if (memory === this.small) this.small = undefined;
    else this.handedOff.push(memory);
  }

  /** The consumer holds none of the bytes it was given: the memory handed off to it is free again. */
  reclaim(): void {
    if (this.handedOff.length === 0) return;
    for (const memory of this.handedOff) giveBack(memory);
    this.handedOff = [];
  }

  /** The consumer is done but may still hold bytes (its writes pending): that memory is left to the GC. */
  abandon(): void {
    this.handedOff = [];
  }
}

function giveBack(memory: Buffer): void {
  if (spare.length < SPARE_LIMIT) spare.push(memory);
}
