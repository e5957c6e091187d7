import type { IncomingHttpHeaders } from "node:http";

/** What the WebSocket relay knows about an upgrade when it asks whether to inspect it. */
export interface UpgradeContext {
  /** Raw request URL (path + query) as the client sent it. */
  url: string;
  /** The client's upgrade request headers (lower-case names). */
  headers: IncomingHttpHeaders;
  /** Route prefix the request matched, e.g. `/user/bob`. */
  routePrefix: string;
  /** The route's `user` data field (JupyterHub sets it for user servers), if any. */
  routeUser?: string;
}

/**
 * Observer of one relayed WebSocket. The relay forwards every byte unchanged first and then shows it
 * to the tap; a tap never blocks, never throws into the relay, and never alters relayed bytes.
 */
export interface SocketTap {
  /** Edits the upgrade request headers before they go upstream (e.g. drops Sec-WebSocket-Extensions). */
  prepareRequest(headers: Record<string, string | string[] | undefined>): void;
  /** The upstream answered 101; `headers` are its response headers. */
  opened(headers: IncomingHttpHeaders): void;
  clientBytes(chunk: Buffer): void;
  serverBytes(chunk: Buffer): void;
  closed(): void;
  /**
   * Optional, for a tap that parses the frames anyway: whether the bytes relayed so far in one direction end
   * between frames, undefined once it cannot tell. The relay then follows no frames of its own.
   */
  betweenFrames?(direction: FrameDirection): boolean | undefined;
}

export type FrameDirection = "toClient" | "toServer";

/** Decides per upgrade whether to tap it (kernel channels) or relay it blind (terminals, events, …). */
export interface SocketTapFactory {
  tapFor(upgrade: UpgradeContext): SocketTap | undefined;
}
