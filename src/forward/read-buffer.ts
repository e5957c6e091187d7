/** Bytes one upstream read may fill: Node's own read size. */
export const READ_BUFFER_BYTES = 64 * 1024;

/**
 * The memory an upstream socket reads into, kept from read to read. By default Node gives every read a new
 * ArrayBuffer; at hundreds of MiB/s those external allocations make V8 collect every few dozen milliseconds
 * ("external memory pressure" scavenges, and the mark-compacts they lead to) and cost page faults. The memory is
 * read into again only when nothing references the last read's bytes any more; otherwise the next read gets new
 * memory and the old is left to whoever still holds it.
 */
export class ReadBuffer {
  private memory: Buffer | undefined;

  /** For `onread.buffer`: Node asks before every read where the bytes are to go. */
  readonly next = (): Buffer => (this.memory ??= Buffer.allocUnsafe(READ_BUFFER_BYTES));

  /** The last read's bytes are still referenced: the next read must not overwrite them. */
  handOff(): void {
    this.memory = undefined;
  }
}
