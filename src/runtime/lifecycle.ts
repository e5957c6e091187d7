import type { Logger } from "../log/logger.js";

/** How one part of the program stops: given the time left (ms), it releases its timers, files and sockets. */
export type StopStep = (remainingMs: number) => void | Promise<unknown>;

interface Registered {
  name: string;
  stop: StopStep;
}

/**
 * The parts of a running program in the order they were started; `stop` stops them in the reverse order (the
 * listeners, started last, stop taking work first; the stores they write to close last), all within one
 * deadline. A part that fails or overruns is logged and the next one still stops.
 */
export class Lifecycle {
  private readonly parts: Registered[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  /** Registers a started part; stopping a lifecycle that was already stopped stops nothing twice. */
  register(name: string, stop: StopStep): void {
    this.parts.push({ name, stop });
  }

  stop(timeoutMs: number): Promise<void> {
    this.stopping ??= this.stopAll(Date.now() + timeoutMs);
    return this.stopping;
  }

  private async stopAll(deadline: number): Promise<void> {
    for (const part of this.parts.splice(0).reverse()) {
      const remaining = Math.max(0, deadline - Date.now());
      try {
        const stopped = part.stop(remaining);
        if (stopped instanceof Promise) await withDeadline(stopped, Math.max(remaining, 50), part.name);
      } catch (error) {
        this.log.error({ err: error }, "Stopping %s failed: %s", part.name, (error as Error).message);
      }
    }
  }
}

function withDeadline(work: Promise<unknown>, ms: number, name: string): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise((_resolve, reject) => {
    // Not unref'd: while the last parts stop, this timer may be all that keeps the process waiting for them.
    timer = setTimeout(() => reject(new Error(`${name} did not stop within the shutdown timeout`)), ms);
  });
  return Promise.race([work, overrun]).finally(() => clearTimeout(timer));
}
