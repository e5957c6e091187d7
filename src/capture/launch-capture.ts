import type { IncomingMessage } from "node:http";
import type { Logger } from "../log/logger.js";
import type { LaunchObserver } from "../forward/launch-observer.js";
import type { LaunchCookieCodec } from "../lti/launch-cookie.js";
import { isLaunchCandidate, LAUNCH_BODY_LIMIT, parseLaunchBody } from "../lti/lti-launch.js";

/**
 * The HTTP half of the ltictr role: an LTI 1.1 launch posted through the proxy is read on its way to
 * JupyterHub, and its response carries the launch context back to the browser sealed in one cookie,
 * which the kernel WebSocket upgrades later present.
 */
export class LaunchCapture implements LaunchObserver {
  readonly bodyLimit = LAUNCH_BODY_LIMIT;

  constructor(
    private readonly codec: LaunchCookieCodec,
    private readonly log: Logger,
  ) {}

  wantsBody(req: IncomingMessage): boolean {
    return isLaunchCandidate(req.method, req.headers);
  }

  observe(body: Buffer, req: IncomingMessage): string | undefined {
    const context = parseLaunchBody(body);
    if (!context) return undefined;
    this.log.info(
      "LTI launch captured on %s (inst_id %s, lti_id %s)",
      (req.url ?? "").split("?")[0],
      context.instId,
      context.ltiId,
    );
    return this.codec.seal(context);
  }
}
