/**
 * Bytes that may be held at once, optionally inside a larger budget (one socket's inside the process's): a
 * reservation succeeds only when every level has room for it.
 */
export class MemoryBudget {
  private usedBytes = 0;

  constructor(
    readonly limitBytes: number,
    private readonly parent?: MemoryBudget,
  ) {}

  get used(): number {
    return this.usedBytes;
  }

  /** Takes `bytes` if this budget and its parents have room; nothing is taken otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limitBytes) return false;
    if (this.parent && !this.parent.tryReserve(bytes)) return false;
    this.usedBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    if (bytes <= 0) return;
    this.usedBytes -= bytes;
    this.parent?.release(bytes);
  }
}
