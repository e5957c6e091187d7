import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { events } from "../events.js";
import { describeUpstreamError } from "../http1/upstream-error.js";
import type { ResponseHead } from "../http1/response-head.js";
import type { ExchangeControl, ResponseSink, UpstreamRequest } from "../http1/upstream-exchange.js";
import type { UpstreamPools } from "../http1/upstream-pools.js";
import type { UpstreamTarget } from "../http1/upstream-target.js";
import type { Logger } from "../log/logger.js";
import type { ActivityRecorder } from "../routing/activity-recorder.js";
import type { RouteMatch } from "../routing/route-store.js";
import type { ErrorResponder } from "./error-responder.js";
import {
  ClientInfo,
  connectionListed,
  HOP_BY_HOP,
  upstreamRequestHeaders,
  type OutgoingHeaders,
  type UpstreamHeaderOptions,
} from "./forwarded-headers.js";
import type { LaunchObserver } from "./launch-observer.js";
import { RequestBody, RequestBodyTimeout } from "./request-body.js";
import { upstreamPath, type PathOptions } from "./upstream-path.js";
import { reportUpstreamFailure } from "./upstream-failure.js";

export interface HttpForwarderOptions {
  pools: UpstreamPools;
  forwarding: UpstreamHeaderOptions;
  paths: PathOptions;
  /** `--proxy-timeout`: ms without upstream progress before answering 503; 0 = none. */
  proxyTimeoutMs: number;
  /** `--request-body-timeout`: ms without a byte of an announced request body before answering 408; 0 = none. */
  bodyIdleTimeoutMs: number;
  autoRewrite: boolean;
  protocolRewrite?: string;
  activity: ActivityRecorder;
  errors: ErrorResponder;
  log: Logger;
  /** Sees launch-like request bodies on their way (the LTI launch capture). */
  launches?: LaunchObserver;
}

const RESPONSE_BUFFER_LIMIT = 256 * 1024;

/** Statuses whose Location CHP rewrites with --auto-rewrite / --protocol-rewrite. */
const REDIRECT_STATUSES = new Set([201, 301, 302, 307, 308]);

/**
 * One proxied request as it goes to the upstream pool. Made by a constructor, not a literal, as every object made
 * per proxied request (see the note in listener/proxy-dispatcher.ts): the exchange keeps it for a replay.
 */
class ProxiedRequest implements UpstreamRequest {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly headers: OutgoingHeaders,
    readonly body: UpstreamRequest["body"],
    readonly timeoutMs: number,
  ) {}
}

/**
 * The response head's fields for `writeHead`, reused by every response: Node turns them into the head's text before
 * writeHead returns and keeps nothing of the array, and an array made per response could be moved to the old
 * generation with its strings (see ProxiedRequest). Its slots are overwritten, not emptied: emptying an array drops
 * its memory, which the next head's fields then allocate again.
 */
const outgoingFields: string[] = [];

/** What a response in flight needs from the forwarder: the activity to note, errors to answer, the Location rule. */
interface ResponseContext {
  activity: ActivityRecorder;
  errors: ErrorResponder;
  log: Logger;
  rewriteLocation(location: string, target: UpstreamTarget, req: IncomingMessage): string;
}

/** Forwards one ordinary HTTP request through a keep-alive upstream pool and streams the answer back. */
export class HttpForwarder {
  private readonly context: ResponseContext;

  constructor(private readonly options: HttpForwarderOptions) {
    this.context = {
      activity: options.activity,
      errors: options.errors,
      log: options.log,
      rewriteLocation: (location, target, req) => this.rewriteLocation(location, target, req),
    };
  }

  forward(
    req: IncomingMessage,
    res: ServerResponse,
    match: RouteMatch,
    target: UpstreamTarget,
    segments: number,
  ): void {
    const length = req.headers["content-length"];
    if (req.headers["transfer-encoding"] === undefined && (length === undefined || length === "0")) {
      this.dispatch(req, res, match, target, segments, null, undefined, undefined);
      return;
    }
    const body = new RequestBody(req, {
      idleTimeoutMs: this.options.bodyIdleTimeoutMs,
      onChunk: () => this.options.activity.record(match),
    });
    const launches = this.options.launches;
    if (launches?.wantsBody(req))
      void this.forwardObserved(req, res, match, target, segments, body, launches);
    else void this.forwardStreamed(req, res, match, target, segments, body);
  }

  /**
   * An upstream connection is taken once the body's first bytes are here: a client that announces a body and
   * sends none never holds one.
   */
  private async forwardStreamed(
    req: IncomingMessage,
    res: ServerResponse,
    match: RouteMatch,
    target: UpstreamTarget,
    segments: number,
    body: RequestBody,
  ): Promise<void> {
    try {
      await body.started();
    } catch (error) {
      this.bodyFailed(req, res, error);
      return;
    }
    this.dispatch(req, res, match, target, segments, body, undefined, body);
  }

  private async forwardObserved(
    req: IncomingMessage,
    res: ServerResponse,
    match: RouteMatch,
    target: UpstreamTarget,
    segments: number,
    body: RequestBody,
    observer: LaunchObserver,
  ): Promise<void> {
    let read: Awaited<ReturnType<RequestBody["readUpTo"]>>;
    try {
      read = await body.readUpTo(observer.bodyLimit);
    } catch (error) {
      this.bodyFailed(req, res, error);
      return;
    }
    if (read.overflow) {
      this.options.log.warn(
        "Launch-like request body over %d bytes on %s passed through uncaptured",
        observer.bodyLimit,
        match.prefix,
      );
      this.dispatch(req, res, match, target, segments, body, undefined, body);
      return;
    }
    const whole = Buffer.concat(read.chunks, read.size);
    let cookie: string | undefined;
    try {
      cookie = observer.observe(whole, req);
    } catch (error) {
      this.options.log.error({ err: error }, "Launch capture failed; request forwarded without it");
    }
    this.dispatch(req, res, match, target, segments, whole, cookie, undefined);
  }

  /** The client stopped sending its body before any upstream saw it (or its connection failed). */
  private bodyFailed(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (error instanceof RequestBodyTimeout) {
      answerBodyTimeout(req, res, error, this.options.log);
    } else {
      res.destroy();
    }
  }

  private dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    match: RouteMatch,
    target: UpstreamTarget,
    segments: number,
    body: UpstreamRequest["body"],
    extraCookie: string | undefined,
    streamed: RequestBody | undefined,
  ): void {
    const { options } = this;
    const method = req.method ?? "GET";
    const headers = upstreamRequestHeaders(
      req.headers,
      ClientInfo.of(req.socket),
      target.originHost,
      options.forwarding,
    );
    if (headers.host === undefined) headers.host = target.originHost;
    const sink = new ResponseRelay(this.context, req, res, match, target, extraCookie, streamed);
    const exchange = options.pools
      .for(target)
      .request(
        new ProxiedRequest(
          method,
          upstreamPath(target, req.url ?? "/", segments, options.paths),
          headers,
          body,
          options.proxyTimeoutMs,
        ),
        sink,
        req.socket.remoteAddress,
      );
    sink.control = exchange;
    res.on("close", () => exchange.abort());
  }

  /** The Location header as `--auto-rewrite` / `--protocol-rewrite` want it. */
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

/** Streams one upstream response into the client's ServerResponse. */
class ResponseRelay implements ResponseSink {
  control: ExchangeControl | undefined;
  /** A `drain` listener is waiting: pieces decoded from one read must not add one each. */
  private waitingForDrain = false;

  constructor(
    private readonly context: ResponseContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly route: RouteMatch,
    private readonly target: UpstreamTarget,
    private readonly extraCookie: string | undefined,
    private readonly body: RequestBody | undefined,
  ) {}

  onHead(head: ResponseHead): void {
    const { res } = this;
    const outgoing = outgoingFields;
    let fields = 0;
    const incoming = head.headers;
    const rewrite = REDIRECT_STATUSES.has(head.status);
    const listed = connectionListed(headerValues(incoming, "connection"));
    for (let i = 0; i < incoming.length; i += 2) {
      const name = incoming[i];
      if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
      const value = incoming[i + 1];
      outgoing[fields++] = name;
      outgoing[fields++] =
        rewrite && name === "location" ? this.context.rewriteLocation(value, this.target, this.req) : value;
    }
    if (this.extraCookie) {
      outgoing[fields++] = "set-cookie";
      outgoing[fields++] = this.extraCookie;
    }
    // Only a head with another number of fields than the last one changes the array's length.
    if (outgoing.length !== fields) outgoing.length = fields;
    try {
      res.writeHead(head.status, head.statusMessage || undefined, outgoing);
    } catch (error) {
      // Node refuses some heads an upstream can send (odd status codes, values it will not write): the exchange
      // stops here and the client gets a complete 503 instead of a half-written answer.
      this.control?.abort();
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      // writeHead kept the reason it refused: the error answer must not inherit it.
      res.statusMessage = "";
      this.onError(error as Error);
      return;
    }
    if (events.proxyResponse.active) events.proxyResponse.publish({ status: head.status });
    // Head, body and end of a small answer usually arrive in one read: corked, they leave in one write.
    res.cork();
    process.nextTick(uncork, res);
  }

  onData(chunk: Buffer): boolean {
    const { res } = this;
    // Node's 16 KiB high-water mark would stop the upstream after every 64 KiB read; a few hundred KiB
    // in flight per response keeps large downloads streaming with far fewer pause/resume rounds.
    if (res.write(chunk) || res.writableLength < RESPONSE_BUFFER_LIMIT) return true;
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      res.once("drain", this.resume);
    }
    return false;
  }

  /** Nothing queued in the response (nor its socket): every chunk went to the kernel during its write. */
  consumedData(): boolean {
    return this.res.writableLength === 0;
  }

  onEnd(): void {
    const { res } = this;
    res.end();
    this.drainBody();
    if (res.statusCode < 300) this.context.activity.record(this.route);
    else
      this.context.log.debug("Not recording activity for status %d on %s", res.statusCode, this.route.prefix);
  }

  onError(error: Error): void {
    const { res, req, context } = this;
    if (error instanceof RequestBodyTimeout) {
      answerBodyTimeout(req, res, error, context.log);
      return;
    }
    this.drainBody();
    if (res.headersSent || res.destroyed) {
      if (events.upstreamFailure.active)
        events.upstreamFailure.publish({ kind: describeUpstreamError(error).kind });
      res.destroy();
      return;
    }
    reportUpstreamFailure(error, req.method, req.url, context.log);
    void context.errors.respond(req, res, 503);
  }

  private readonly resume = (): void => {
    this.waitingForDrain = false;
    this.control?.resume();
  };

  /**
   * The upstream answered before the client finished its body (e.g. a 413 that reads nothing): the rest is read
   * and dropped, so a client that only reads once its upload is done still gets the answer, and its connection
   * stays usable. A client that stops sending is cut off at the body's idle deadline.
   */
  private drainBody(): void {
    const { body, req } = this;
    if (!body || body.complete || req.destroyed) return;
    body.drain(() => req.socket.destroy());
  }
}

/** 408 and close: the rest of the body may still come, and the connection cannot carry another request. */
function answerBodyTimeout(
  req: IncomingMessage,
  res: ServerResponse,
  error: RequestBodyTimeout,
  log: Logger,
): void {
  log.warn("408 %s %s %s", req.method, (req.url ?? "").split("?")[0], error.message);
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (events.proxyResponse.active) events.proxyResponse.publish({ status: 408 });
  res.shouldKeepAlive = false;
  res.writeHead(408, { "content-type": "text/plain", connection: "close" });
  res.end(STATUS_CODES[408]);
}

/** The values of header `name` in a flat name/value list, joined as one field; undefined when absent. */
function headerValues(flat: string[], name: string): string | undefined {
  let joined: string | undefined;
  for (let i = 0; i < flat.length; i += 2)
    if (flat[i] === name) joined = joined === undefined ? flat[i + 1] : `${joined},${flat[i + 1]}`;
  return joined;
}

function uncork(res: ServerResponse): void {
  res.uncork();
}
