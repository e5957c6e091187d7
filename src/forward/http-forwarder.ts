import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Dispatcher } from "undici";
import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import type { ActivityRecorder } from "../routing/activity-recorder.js";
import type { RouteMatch } from "../routing/route-store.js";
import type { ErrorResponder } from "./error-responder.js";
import { HOP_BY_HOP, upstreamRequestHeaders, type ForwardingOptions } from "./forwarded-headers.js";
import type { LaunchObserver } from "./launch-observer.js";
import type { UpstreamPools } from "./upstream-pools.js";
import { upstreamPath, type PathOptions, type UpstreamTarget } from "./upstream-target.js";
import { describeUpstreamError, reportUpstreamFailure } from "./upstream-error.js";

export interface HttpForwarderOptions {
  forwarding: ForwardingOptions;
  paths: PathOptions;
  /** `--proxy-timeout`: ms without upstream progress before answering 503; 0 = none. */
  proxyTimeoutMs: number;
  autoRewrite: boolean;
  protocolRewrite?: string;
}

const RESPONSE_BUFFER_LIMIT = 256 * 1024;

/** Statuses whose Location CHP rewrites with --auto-rewrite / --protocol-rewrite. */
const REDIRECT_STATUSES = new Set([201, 301, 302, 307, 308]);

/** Forwards one ordinary HTTP request through a keep-alive undici pool and streams the answer back. */
export class HttpForwarder {
  constructor(
    private readonly pools: UpstreamPools,
    private readonly options: HttpForwarderOptions,
    private readonly activity: ActivityRecorder,
    private readonly errors: ErrorResponder,
    private readonly log: Logger,
    private readonly metrics?: ProxyMetrics,
    private readonly launchObserver?: LaunchObserver,
  ) {}

  forward(
    req: IncomingMessage,
    res: ServerResponse,
    match: RouteMatch,
    target: UpstreamTarget,
    segments: number,
  ): void {
    if (this.launchObserver?.wantsBody(req)) {
      void this.forwardObserved(req, res, match, target, segments, this.launchObserver);
      return;
    }
    this.dispatch(req, res, match, target, segments, this.streamedBody(req, match.prefix), undefined);
  }

  private async forwardObserved(
    req: IncomingMessage,
    res: ServerResponse,
    match: RouteMatch,
    target: UpstreamTarget,
    segments: number,
    observer: LaunchObserver,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    let overflow = false;
    const iterator = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      while (true) {
        const { value, done } = await iterator.next();
        if (done) break;
        this.activity.record(match.prefix);
        chunks.push(value);
        size += value.length;
        if (size > observer.bodyLimit) {
          overflow = true;
          break;
        }
      }
    } catch {
      res.destroy();
      return;
    }
    if (overflow) {
      this.log.warn(
        "Launch-like request body over %d bytes on %s passed through uncaptured",
        observer.bodyLimit,
        match.prefix,
      );
      const rest = Readable.from(this.countedBody(chunks, iterator, match.prefix), { objectMode: false });
      this.dispatch(req, res, match, target, segments, rest, undefined);
      return;
    }
    const body = Buffer.concat(chunks, size);
    let cookie: string | undefined;
    try {
      cookie = observer.observe(body, req);
    } catch (error) {
      this.log.error({ err: error }, "Launch capture failed; request forwarded without it");
    }
    this.dispatch(req, res, match, target, segments, body, cookie);
  }

  /**
   * `head`, then the rest of a request body, noting activity chunk by chunk (§3.9 rule 2). A generator, because
   * undici consumes the body itself and a second `data` listener on the request would race it.
   */
  private async *countedBody(
    head: Buffer[],
    rest: AsyncIterator<Buffer>,
    prefix: string,
  ): AsyncGenerator<Buffer> {
    yield* head;
    while (true) {
      const { value, done } = await rest.next();
      if (done) return;
      this.activity.record(prefix);
      yield value;
    }
  }

  private streamedBody(req: IncomingMessage, prefix: string): Readable | null {
    const length = req.headers["content-length"];
    if (req.headers["transfer-encoding"] === undefined && (length === undefined || length === "0"))
      return null;
    const chunks = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    return Readable.from(this.countedBody([], chunks, prefix), { objectMode: false });
  }

  private dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    match: RouteMatch,
    target: UpstreamTarget,
    segments: number,
    body: Dispatcher.DispatchOptions["body"],
    extraCookie: string | undefined,
  ): void {
    const { options, metrics, log } = this;
    const method = req.method ?? "GET";
    const encrypted = (req.socket as TLSSocket).encrypted === true;
    const headers = upstreamRequestHeaders(
      req.headers,
      { remoteAddress: req.socket.remoteAddress, encrypted },
      target.originHost,
      options.forwarding,
    );
    if (Buffer.isBuffer(body)) headers["content-length"] = String(body.length);
    if (target.socketPath && headers.host === undefined) headers.host = "localhost";
    const path = upstreamPath(target, req.url ?? "/", segments, options.paths);
    let controller: Dispatcher.DispatchController | undefined;
    let finished = false;

    res.on("close", () => {
      if (!finished && controller && !controller.aborted) controller.abort(new Error("client closed"));
    });

    const fail = (error: Error) => {
      if (finished) return;
      finished = true;
      if (res.headersSent || res.destroyed) {
        metrics?.upstreamErrors.inc({ kind: describeUpstreamError(error).kind });
        res.destroy();
        return;
      }
      reportUpstreamFailure(error, method, req.url, log, metrics);
      void this.errors.respond(req, res, 503);
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctrl) {
        controller = ctrl;
      },
      onResponseStart: (ctrl, statusCode, upstreamHeaders, statusMessage) => {
        if (res.destroyed) {
          ctrl.abort(new Error("client closed"));
          return;
        }
        metrics?.requestsProxy.inc({ status: String(statusCode) });
        const outgoing: Record<string, string | string[]> = {};
        for (const name in upstreamHeaders) {
          const value = upstreamHeaders[name];
          if (value !== undefined && !HOP_BY_HOP.has(name)) outgoing[name] = value;
        }
        if (REDIRECT_STATUSES.has(statusCode) && typeof outgoing.location === "string") {
          outgoing.location = this.rewriteLocation(outgoing.location, target, req);
        }
        if (extraCookie) {
          const existing = outgoing["set-cookie"];
          outgoing["set-cookie"] =
            existing === undefined ? [extraCookie] : [...[existing].flat(), extraCookie];
        }
        res.writeHead(statusCode, statusMessage || undefined, outgoing);
        // Head, body and end of a small answer usually arrive in one read: corked, they leave in one write.
        res.cork();
        process.nextTick(() => res.uncork());
      },
      onResponseData(ctrl, chunk) {
        // Node's 16 KiB high-water mark would stop the upstream after every 64 KiB read; a few hundred KiB
        // in flight per response keeps large downloads streaming with far fewer pause/resume rounds.
        if (!res.write(chunk) && res.writableLength >= RESPONSE_BUFFER_LIMIT) {
          ctrl.pause();
          res.once("drain", () => ctrl.resume());
        }
      },
      onResponseEnd: () => {
        finished = true;
        res.end();
        if (res.statusCode < 300) this.activity.record(match.prefix);
        else log.debug("Not recording activity for status %d on %s", res.statusCode, match.prefix);
      },
      onResponseError(_ctrl, error) {
        fail(error);
      },
    };

    const dispatchOptions: Dispatcher.DispatchOptions = {
      path,
      method: method as Dispatcher.HttpMethod,
      headers: headers as Record<string, string | string[]>,
      body,
      headersTimeout: options.proxyTimeoutMs,
      bodyTimeout: options.proxyTimeoutMs,
    };
    try {
      this.pools.for(target).dispatch(dispatchOptions, handler);
    } catch (error) {
      fail(error as Error);
    }
  }

  private rewriteLocation(location: string, target: UpstreamTarget, req: IncomingMessage): string {
    const { autoRewrite, protocolRewrite } = this.options;
    if (!autoRewrite && !protocolRewrite) return location;
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      return location;
    }
    if (url.host !== target.originHost) return location;
    if (autoRewrite && req.headers.host) url.host = req.headers.host;
    if (protocolRewrite) url.protocol = `${protocolRewrite.replace(/:$/, "")}:`;
    return url.href;
  }
}
