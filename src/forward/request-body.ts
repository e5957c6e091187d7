import type { IncomingMessage } from "node:http";

/** A client announced a request body and then sent nothing of it for too long. */
export class RequestBodyTimeout extends Error {
  readonly code = "REQUEST_BODY_TIMEOUT";

  constructor(idleMs: number) {
    super(`no byte of the request body for ${idleMs} ms`);
  }
}

export interface RequestBodyOptions {
  /** ms without a byte of the body before it fails with RequestBodyTimeout; 0 = wait for ever. */
  idleTimeoutMs: number;
  /** Called for each chunk the upstream takes (activity is noted per chunk, as CHP does). */
  onChunk?: () => void;
}

type Step = IteratorResult<Buffer, undefined>;

/**
 * A client's request body as the upstream exchange pulls it, chunk by chunk, with an idle deadline: a client
 * that announces a body and stops sending it fails here instead of holding an upstream connection for ever.
 * Leaving the loop early never destroys the request (Node's own iterator would, and the client's connection
 * with it), so the rest can be drained after an early answer: a client whose upload nobody reads would stall.
 */
export class RequestBody implements AsyncIterable<Buffer> {
  private readonly source: AsyncIterator<Buffer>;
  /** Chunks read ahead of the consumer (the first one, or a launch body read in full). */
  private readonly ahead: Buffer[];
  private ended = false;
  private draining = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly options: RequestBodyOptions,
    source?: AsyncIterator<Buffer>,
    ahead: Buffer[] = [],
  ) {
    this.source = source ?? (req[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
    this.ahead = ahead;
  }

  /** The client sent the whole body (or the request has none). */
  get complete(): boolean {
    return this.ended || this.req.complete;
  }

  /**
   * Waits for the body's first bytes (or its end): only then does the request need an upstream connection.
   * Rejects with RequestBodyTimeout when nothing comes in time, or with the request's own error.
   */
  async started(): Promise<void> {
    if (this.ahead.length > 0 || this.ended) return;
    const step = await this.pull();
    if (!step.done) this.ahead.push(step.value);
  }

  /** Reads everything that is left, up to `limit` bytes; `overflow` when there was more. */
  async readUpTo(limit: number): Promise<{ chunks: Buffer[]; size: number; overflow: boolean }> {
    const chunks: Buffer[] = this.ahead.splice(0);
    let size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    while (size <= limit) {
      const step = await this.pull();
      if (step.done) return { chunks, size, overflow: false };
      this.options.onChunk?.();
      chunks.push(step.value);
      size += step.value.length;
    }
    this.ahead.push(...chunks);
    return { chunks, size, overflow: true };
  }

  /** Discards what the client still sends (after an answer that did not wait for it); the idle deadline holds. */
  drain(onStall: () => void): void {
    if (this.complete || this.draining) return;
    this.draining = true;
    this.ahead.length = 0;
    void (async () => {
      try {
        while (!(await this.pull()).done);
      } catch {
        onStall();
      }
    })();
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: async (): Promise<Step> => {
        const first = this.ahead.shift();
        if (first !== undefined) {
          this.options.onChunk?.();
          return { done: false, value: first };
        }
        if (this.draining) return { done: true, value: undefined };
        const step = await this.pull();
        if (!step.done) this.options.onChunk?.();
        return step;
      },
      // The consumer stopped early: the request stays as it is, for `drain` or the connection's end.
      return: async (): Promise<Step> => ({ done: true, value: undefined }),
    };
  }

  private async pull(): Promise<Step> {
    if (this.ended) return { done: true, value: undefined };
    const idleMs = this.options.idleTimeoutMs;
    let step: IteratorResult<Buffer>;
    if (idleMs <= 0) {
      step = await this.source.next();
    } else {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RequestBodyTimeout(idleMs)), idleMs);
      });
      try {
        step = await Promise.race([this.source.next(), deadline]);
      } finally {
        clearTimeout(timer);
      }
    }
    if (step.done) {
      this.ended = true;
      return { done: true, value: undefined };
    }
    return { done: false, value: step.value };
  }
}
