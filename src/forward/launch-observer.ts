import type { IncomingMessage } from "node:http";

/**
 * Sees the bodies of selected requests on their way upstream (the LTI launch capture) and may add one
 * `Set-Cookie` to the response. The body is forwarded unchanged either way.
 */
export interface LaunchObserver {
  /** Bodies up to this size are read before forwarding; larger ones pass through unobserved. */
  readonly bodyLimit: number;
  wantsBody(req: IncomingMessage): boolean;
  /** Returns the Set-Cookie header value to add to the response, if the body was a launch. */
  observe(body: Buffer, req: IncomingMessage): string | undefined;
}
