import type { IncomingHttpHeaders } from "node:http";
import type { Logger } from "../log/logger.js";
import type { FrameDirection, SocketTap } from "./socket-tap.js";

/**
 * A tap that fails stops observing; the relay goes on as if it never had one. One object per socket, no
 * closures: it lives as long as the connection.
 */
export class GuardedTap implements SocketTap {
  private broken = false;
  private closedOnce = false;

  constructor(
    private readonly tap: SocketTap,
    private readonly log: Logger,
  ) {}

  prepareRequest(headers: Record<string, string | string[] | undefined>): void {
    this.call(this.tap.prepareRequest, headers);
  }

  opened(headers: IncomingHttpHeaders): void {
    this.call(this.tap.opened, headers);
  }

  clientBytes(chunk: Buffer): void {
    this.call(this.tap.clientBytes, chunk);
  }

  serverBytes(chunk: Buffer): void {
    this.call(this.tap.serverBytes, chunk);
  }

  /** Told once, even to a tap that failed: it may hold resources (a registry entry) to release. */
  closed(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    try {
      this.tap.closed();
    } catch (error) {
      this.log.error({ err: error }, "WebSocket inspection failed while closing");
    }
  }

  get tracksFrames(): boolean {
    return this.tap.betweenFrames !== undefined;
  }

  betweenFrames(direction: FrameDirection): boolean | undefined {
    if (this.broken || !this.tap.betweenFrames) return undefined;
    try {
      return this.tap.betweenFrames(direction);
    } catch {
      return undefined;
    }
  }

  // One method call per tap call and no closure per chunk: this sits on the per-chunk path.
  private call<A>(method: (this: SocketTap, arg: A) => void, arg: A): void {
    if (this.broken) return;
    try {
      method.call(this.tap, arg);
    } catch (error) {
      this.broken = true;
      this.log.error({ err: error }, "WebSocket inspection failed; this connection is relayed without it");
    }
  }
}
