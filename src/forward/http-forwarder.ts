import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import type { ActivityRecorder } from "../routing/activity-recorder.js";
import type { RouteMatch } from "../routing/route-store.js";
import type { ErrorResponder } from "./error-responder.js";
import { HOP_BY_HOP, upstreamRequestHeaders, type ForwardingOptions } from "./forwarded-headers.js";
import type { LaunchObserver } from "./launch-observer.js";
import type { ResponseHead } from "../http1/response-head.js";
import type { ExchangeControl, ResponseSink, UpstreamRequest } from "../http1/upstream-exchange.js";
import type { UpstreamPools } from "../http1/upstream-pools.js";
import type { UpstreamTarget } from "../http1/upstream-target.js";
import { describeUpstreamError } from "../http1/upstream-error.js";
import { upstreamPath, type PathOptions } from "./upstream-path.js";
import { reportUpstreamFailure } from "./upstream-failure.js";

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

/** Forwards one ordinary HTTP request through a keep-alive upstream pool and streams the answer back. */
export class HttpForwarder {
  constructor(
    private readonly pools: UpstreamPools,
    private readonly options: HttpForwarderOptions,
    readonly activity: ActivityRecorder,
    readonly errors: ErrorResponder,
    readonly log: Logger,
    readonly metrics?: ProxyMetrics,
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
    this.dispatch(req, res, match, target, segments, this.streamedBody(req, match), undefined);
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
        this.activity.record(match);
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
      this.dispatch(req, res, match, target, segments, this.countedBody(chunks, iterator, match), undefined);
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
   * the upstream exchange pulls the body at its own pace and a second `data` listener on the request would race it.
   */
  private async *countedBody(
    head: Buffer[],
    rest: AsyncIterator<Buffer>,
    route: RouteMatch,
  ): AsyncGenerator<Buffer> {
    yield* head;
    while (true) {
      const { value, done } = await rest.next();
      if (done) return;
      this.activity.record(route);
      yield value;
    }
  }

  private streamedBody(req: IncomingMessage, route: RouteMatch): AsyncIterable<Buffer> | null {
    const length = req.headers["content-length"];
    if (req.headers["transfer-encoding"] === undefined && (length === undefined || length === "0"))
      return null;
    return this.countedBody([], req[Symbol.asyncIterator]() as AsyncIterator<Buffer>, route);
  }

  private dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    match: RouteMatch,
    target: UpstreamTarget,
    segments: number,
    body: UpstreamRequest["body"],
    extraCookie: string | undefined,
  ): void {
    const { options } = this;
    const method = req.method ?? "GET";
    const encrypted = (req.socket as TLSSocket).encrypted === true;
    const headers = upstreamRequestHeaders(
      req.headers,
      { remoteAddress: req.socket.remoteAddress, encrypted },
      target.originHost,
      options.forwarding,
    );
    if (headers.host === undefined) headers.host = target.originHost;
    const sink = new ResponseRelay(this, req, res, match, target, extraCookie);
    const exchange = this.pools.for(target).request(
      {
        method,
        path: upstreamPath(target, req.url ?? "/", segments, options.paths),
        headers,
        body,
        timeoutMs: options.proxyTimeoutMs,
      },
      sink,
    );
    sink.control = exchange;
    res.on("close", () => exchange.abort());
  }

  /** The Location header as `--auto-rewrite` / `--protocol-rewrite` want it. */
  rewriteLocation(location: string, target: UpstreamTarget, req: IncomingMessage): string {
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

/** Streams one upstream response into the client's ServerResponse. */
class ResponseRelay implements ResponseSink {
  control: ExchangeControl | undefined;

  constructor(
    private readonly forwarder: HttpForwarder,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly route: RouteMatch,
    private readonly target: UpstreamTarget,
    private readonly extraCookie: string | undefined,
  ) {}

  onHead(head: ResponseHead): void {
    const { res } = this;
    this.forwarder.metrics?.requestsProxy.inc({ status: String(head.status) });
    const outgoing: string[] = [];
    const incoming = head.headers;
    const rewrite = REDIRECT_STATUSES.has(head.status);
    for (let i = 0; i < incoming.length; i += 2) {
      const name = incoming[i];
      if (HOP_BY_HOP.has(name)) continue;
      const value = incoming[i + 1];
      outgoing.push(
        name,
        rewrite && name === "location" ? this.forwarder.rewriteLocation(value, this.target, this.req) : value,
      );
    }
    if (this.extraCookie) outgoing.push("set-cookie", this.extraCookie);
    try {
      res.writeHead(head.status, head.statusMessage || undefined, outgoing);
    } catch (error) {
      // Node refuses some heads an upstream can send (control characters, odd status codes): a broken answer.
      this.onError(error as Error);
      return;
    }
    // Head, body and end of a small answer usually arrive in one read: corked, they leave in one write.
    res.cork();
    process.nextTick(uncork, res);
  }

  onData(chunk: Buffer): boolean {
    const { res } = this;
    // Node's 16 KiB high-water mark would stop the upstream after every 64 KiB read; a few hundred KiB
    // in flight per response keeps large downloads streaming with far fewer pause/resume rounds.
    if (res.write(chunk) || res.writableLength < RESPONSE_BUFFER_LIMIT) return true;
    res.once("drain", this.resume);
    return false;
  }

  /** Nothing queued in the response (nor its socket): every chunk went to the kernel during its write. */
  consumedData(): boolean {
    return this.res.writableLength === 0;
  }

  onEnd(): void {
    const { res } = this;
    res.end();
    if (res.statusCode < 300) this.forwarder.activity.record(this.route);
    else
      this.forwarder.log.debug(
        "Not recording activity for status %d on %s",
        res.statusCode,
        this.route.prefix,
      );
  }

  onError(error: Error): void {
    const { res, req, forwarder } = this;
    if (res.headersSent || res.destroyed) {
      forwarder.metrics?.upstreamErrors.inc({ kind: describeUpstreamError(error).kind });
      res.destroy();
      return;
    }
    reportUpstreamFailure(error, req.method, req.url, forwarder.log, forwarder.metrics);
    void forwarder.errors.respond(req, res, 503);
  }

  private readonly resume = (): void => this.control?.resume();
}

function uncork(res: ServerResponse): void {
  res.uncork();
}
