import { NOT_HEADER_VALUE } from "./http-chars.js";
import { UpstreamProtocolError, type ResponseHead } from "./response-head.js";
import { ResponseParser, type ResponseParserSink } from "./response-parser.js";

/** One request to an upstream, as the forwarder hands it over. */
export interface UpstreamRequest {
  method: string;
  /** Path and query, already joined with the target's. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** A buffered body (sent with its length), a stream (sent chunked unless a Content-Length is given), or none. */
  body: Buffer | AsyncIterable<Buffer> | null;
  /** ms without upstream progress before the exchange fails with ETIMEDOUT; 0 = wait forever. */
  timeoutMs: number;
}

/** Where a response goes. Exactly one of onEnd/onError ends every exchange that was not aborted. */
export interface ResponseSink {
  onHead(head: ResponseHead): void;
  /**
   * `chunk` may be a view of the connection's read memory. Returns false when the consumer is full: the upstream
   * is paused until `resume()`.
   */
  onData(chunk: Buffer): boolean;
  /**
   * Whether no byte given to onData is referenced any more (all written out, none queued): the connection may
   * then read into the same memory again. Absent: never (the sink may keep chunks).
   */
  consumedData?(): boolean;
  onEnd(): void;
  onError(error: Error): void;
}

/** What the requester may do to a running exchange. */
export interface ExchangeControl {
  /** Stops the exchange without further sink calls; its connection is closed if it was in use. */
  abort(): void;
  resume(): void;
}

/** The connection an exchange runs on, as the exchange sees it. */
export interface ExchangeTransport {
  write(data: Buffer | string, encoding?: BufferEncoding): boolean;
  waitForDrain(): Promise<boolean>;
  pause(): void;
  resume(): void;
  cork(): void;
  uncork(): void;
  /** The exchange is over; `reusable` says whether the connection can carry another one. */
  release(reusable: boolean): void;
  /** Drops the connection (aborted or broken exchange). */
  destroy(): void;
}

export function upstreamError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

type Phase = "waiting" | "head" | "body" | "done";

/**
 * One HTTP/1.1 request/response over a keep-alive connection: writes the request, parses the answer's head and
 * frames its body (length, chunked or until close), and tells whether the connection can be reused.
 */
export class UpstreamExchange implements ExchangeControl, ResponseParserSink {
  private phase: Phase = "waiting";
  private transport: ExchangeTransport | undefined;
  private parser: ResponseParser | undefined;
  /** From the final head: whether the connection may be reused, and the upstream's idle timeout hint. */
  private keepAlive = false;
  private keepAliveHintMs: number | undefined;
  private requestSent = false;
  /** Any response byte has arrived: from then on a failure cannot be retried. */
  responseStarted = false;
  /**
   * A request that can be sent again, on a fresh connection, when a kept-alive one turns out stale: idempotent
   * (GET, HEAD, OPTIONS, TRACE, PUT, DELETE: sending one twice has the effect of sending it once, whereas the upstream
   * may have acted on a POST before the connection dropped) and with a buffered body.
   */
  readonly replayable: boolean;
  retried = false;

  constructor(
    readonly request: UpstreamRequest,
    private readonly sink: ResponseSink,
    private readonly onAbortWhileWaiting: (exchange: UpstreamExchange) => void,
  ) {
    this.replayable = !isStream(request.body) && IDEMPOTENT.has(request.method);
  }

  get finished(): boolean {
    return this.phase === "done";
  }

  /** `Keep-Alive: timeout=N` of the answer, in ms, if it said one: it bounds how long the connection may stay idle. */
  get keepAliveTimeoutMs(): number | undefined {
    return this.keepAliveHintMs;
  }

  /** Starts on `transport`: the request goes out now. */
  start(transport: ExchangeTransport): void {
    this.transport = transport;
    this.phase = "head";
    this.responseStarted = false;
    this.keepAlive = false;
    this.keepAliveHintMs = undefined;
    // Made when the answer starts, not here: what a request allocates should not outlive the upstream's round trip.
    this.parser = undefined;
    const { request } = this;
    const head = requestHead(request);
    const body = request.body;
    if (body === null) {
      transport.write(head, "latin1");
      this.requestSent = true;
    } else if (Buffer.isBuffer(body)) {
      transport.cork();
      transport.write(head, "latin1");
      transport.write(body);
      transport.uncork();
      this.requestSent = true;
    } else {
      transport.write(head, "latin1");
      void this.streamBody(transport, body, request.headers["content-length"] === undefined);
    }
  }

  /** Back to waiting, off its broken connection, to be started again on another. */
  detach(): void {
    this.transport = undefined;
    this.phase = "waiting";
  }

  abort(): void {
    if (this.phase === "done") return;
    const waiting = this.phase === "waiting";
    this.phase = "done";
    if (waiting) this.onAbortWhileWaiting(this);
    else this.transport?.destroy();
  }

  resume(): void {
    // A late resume (a client's drain after the last chunk) must not touch the connection's next exchange.
    if (this.phase === "body") this.transport?.resume();
  }

  /** Bytes from the connection. Returns whether their memory is free again once this returns. */
  receive(chunk: Buffer): boolean {
    if (this.phase === "done") return true;
    this.responseStarted = true;
    try {
      this.parser ??= new ResponseParser(this.request.method, this);
      const end = this.parser.push(chunk);
      if (end !== -1 && this.phase === "body") this.complete(end < chunk.length);
    } catch (error) {
      this.fail(error as Error);
    }
    return this.sink.consumedData?.() ?? false;
  }

  /** The upstream closed its side. A close-delimited body ends here; anything else was cut short. */
  receiveEnd(): void {
    if (this.phase === "body" && this.parser?.end()) this.complete(false);
    else this.fail(upstreamError("socket hang up", "ECONNRESET"));
  }

  /** Ends the exchange with `error`; the sink hears about it, the connection is dropped. */
  fail(error: Error): void {
    if (this.phase === "done") return;
    this.phase = "done";
    this.transport?.destroy();
    this.sink.onError(error);
  }

  /**
   * What the parser reads (this exchange is its sink): the final head, then the body. The parser accepts what llhttp
   * accepts; a head that the proxy cannot pass on is dealt with here, before the sink sees it.
   */
  onHead(head: ResponseHead): void {
    // The proxy never asks for a protocol switch on an exchange (WebSocket upgrades are relayed elsewhere).
    if (head.status === 101) throw new UpstreamProtocolError("upstream switched protocols unasked");
    // llhttp reads any three digits, but a server cannot answer with a status below 100.
    if (head.status < 100) throw new UpstreamProtocolError(`upstream answered with status ${head.status}`);
    // llhttp takes control characters in the reason phrase, which Node's server refuses to write; the reason
    // is free text a client must not act on (the status code alone carries the meaning), so the client gets the
    // status's standard one instead.
    if (NOT_HEADER_VALUE.test(head.statusMessage)) head = { ...head, statusMessage: "" };
    this.keepAlive = head.keepAlive;
    this.keepAliveHintMs = head.keepAliveTimeoutMs;
    this.phase = "body";
    this.sink.onHead(head);
  }

  onData(data: Buffer): void {
    if (this.phase !== "body") return;
    if (!this.sink.onData(data)) this.transport?.pause();
  }

  /** `trailingBytes`: the upstream sent more than the response; its connection is not to be trusted again. */
  private complete(trailingBytes: boolean): void {
    this.phase = "done";
    const reusable = this.keepAlive && !trailingBytes && this.requestSent;
    this.transport?.release(reusable);
    this.sink.onEnd();
  }

  private async streamBody(
    transport: ExchangeTransport,
    body: AsyncIterable<Buffer>,
    chunked: boolean,
  ): Promise<void> {
    try {
      for await (const piece of body) {
        if (this.phase === "done") return;
        if (piece.length === 0) continue;
        let flowing: boolean;
        if (chunked) {
          transport.cork();
          transport.write(`${piece.length.toString(16)}\r\n`, "latin1");
          transport.write(piece);
          flowing = transport.write("\r\n", "latin1");
          transport.uncork();
        } else {
          flowing = transport.write(piece);
        }
        if (!flowing && !(await transport.waitForDrain())) return;
      }
      if (this.phase === "done") return;
      if (chunked) transport.write("0\r\n\r\n", "latin1");
      this.requestSent = true;
    } catch (error) {
      // The client's side of the body failed (it went away mid-upload): the upstream must not get a torn request.
      this.fail(error as Error);
    }
  }
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

function isStream(body: UpstreamRequest["body"]): body is AsyncIterable<Buffer> {
  return body !== null && !Buffer.isBuffer(body);
}

/**
 * The request line and headers; a buffered body gets its own length. Values come from Node's parser or validated
 * options: no CR/LF can be in them.
 */
function requestHead(request: UpstreamRequest): string {
  const { headers, body } = request;
  const buffered = Buffer.isBuffer(body);
  let head = `${request.method} ${request.path} HTTP/1.1\r\n`;
  if (buffered) head += `content-length: ${body.length}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || (buffered && name === "content-length")) continue;
    if (typeof value === "string") head += `${name}: ${value}\r\n`;
    else for (const item of value) head += `${name}: ${item}\r\n`;
  }
  if (body !== null && !buffered && headers["content-length"] === undefined)
    head += "transfer-encoding: chunked\r\n";
  return `${head}\r\n`;
}
