/** Bytes one upstream read may fill: Node's own read size. */
export const READ_BUFFER_BYTES = 64 * 1024;

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
 */
export class ReadBuffer {
  private memory: Buffer | undefined;
  /** Memory with bytes the consumer still held after their read. */
  private handedOff: Buffer[] = [];

  /** For `onread.buffer`: Node asks before every read where the bytes are to go. */
  readonly next = (): Buffer => (this.memory ??= spare.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES));

  /** The last read's bytes are still referenced: the next read must not overwrite them. */
  handOff(): void {
    if (this.memory) this.handedOff.push(this.memory);
    this.memory = undefined;
  }

  /** The consumer holds none of the bytes it was given: the memory handed off to it is free again. */
  reclaim(): void {
    if (this.handedOff.length === 0) return;
    for (const memory of this.handedOff) if (spare.length < SPARE_LIMIT) spare.push(memory);
    this.handedOff = [];
  }

  /** The consumer is done but may still hold bytes (its writes pending): that memory is left to the GC. */
  abandon(): void {
    this.handedOff = [];
  }
}
