import { createRequire } from "node:module";
import type { OutcomeHead, ResponseOutcome } from "./outcome.js";

/**
 * llhttp as Node's own HTTP client drives it, in-process: the `HTTPParser` binding that `http.request` uses
 * (from `_http_common`), initialised as the client does with no lenient flag (`insecureHTTPParser: false`), and
 * answered the way the client answers it: informational 1xx heads (but 101) and the answers to HEAD and 304 have
 * no body. In-process because a socket per case would make 100,000 cases take hours; `node-client-oracle.ts` runs
 * the real client over loopback sockets to show the two agree.
 */
interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenientFlags: number): void;
  execute(data: Buffer): number | ParseError;
  finish(): number | ParseError | undefined;
  close(): void;
  [callback: number]: ((...args: never[]) => unknown) | undefined;
}

interface ParseError extends Error {
  code: string;
  reason?: string;
}

interface ParserClass {
  new (): NativeParser;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kLenientNone: number;
}

const { HTTPParser } = createRequire(import.meta.url)("_http_common") as { HTTPParser: ParserClass };

/** Node's client treats these as informational: their heads are reported, no body follows, the answer goes on. */
function informational(status: number): boolean {
  return status >= 100 && status < 200 && status !== 101;
}

/** One parse of `bytes`, the final response's events collected. */
class ParseRun {
  head: OutcomeHead | undefined;
  complete = false;
  body: Buffer[] = [];
  error: string | undefined;
  private pendingHeaders: string[] = [];

  constructor(
    private readonly parser: NativeParser,
    private readonly method: string,
  ) {
    parser[HTTPParser.kOnHeaders] = this.onHeaders;
    parser[HTTPParser.kOnHeadersComplete] = this.onHeadersComplete;
    parser[HTTPParser.kOnBody] = this.onBody;
    parser[HTTPParser.kOnMessageComplete] = this.onMessageComplete;
  }

  /** Feeds `bytes`; with `finish`, the connection then closes. */
  run(bytes: Buffer, finish: boolean): void {
    const result = this.parser.execute(bytes);
    if (result instanceof Error) {
      this.fail(result);
      return;
    }
    if (!finish || this.complete) return;
    const end = this.parser.finish();
    if (end instanceof Error) this.fail(end);
  }

  private fail(error: ParseError): void {
    // Whatever follows a complete response belongs to no response of this exchange.
    if (!this.complete) this.error = `${error.code}${error.reason ? ` ${error.reason}` : ""}`;
  }

  private readonly onHeaders = (headers: string[]): void => {
    if (!this.complete) this.pendingHeaders.push(...headers);
  };

  private readonly onHeadersComplete = (
    versionMajor: number,
    versionMinor: number,
    headers: string[] | undefined,
    _method: unknown,
    _url: unknown,
    status: number,
    statusMessage: string,
    _upgrade: boolean,
    shouldKeepAlive: boolean,
  ): number => {
    const all = headers ? [...this.pendingHeaders, ...headers] : this.pendingHeaders;
    this.pendingHeaders = [];
    if (this.head) return 0;
    if (informational(status)) return 1;
    for (let i = 0; i < all.length; i += 2) all[i] = all[i].toLowerCase();
    this.head = {
      status,
      statusMessage,
      headers: all,
      keepAlive: shouldKeepAlive,
      version: `${versionMajor}.${versionMinor}`,
    };
    return this.method === "HEAD" || status === 304 ? 1 : 0;
  };

  private readonly onBody = (data: Buffer): void => {
    if (this.head && !this.complete) this.body.push(data);
  };

  private readonly onMessageComplete = (): void => {
    if (this.head) this.complete = true;
  };
}

export class LlhttpOracle {
  private readonly parser = new HTTPParser();

  /** `maxHeaderSize`: Node's limit on a head's status, name and value bytes (its `--max-http-header-size`). */
  constructor(private readonly maxHeaderSize: number) {}

  /** What Node's client makes of `bytes` sent in answer to `method`, the connection closed after them. */
  parse(bytes: Buffer, method: string): ResponseOutcome {
    const whole = this.runOn(bytes, method, true);
    if (!whole.complete || !whole.head) return { head: whole.head, complete: false, error: whole.error };
    return {
      head: whole.head,
      complete: true,
      body: Buffer.concat(whole.body),
      end: this.endOf(bytes, method),
    };
  }

  close(): void {
    this.parser.close();
  }

  private runOn(bytes: Buffer, method: string, finish: boolean): ParseRun {
    this.parser.initialize(HTTPParser.RESPONSE, {}, this.maxHeaderSize, HTTPParser.kLenientNone);
    const run = new ParseRun(this.parser, method);
    run.run(bytes, finish);
    return run;
  }

  /**
   * Where the complete response ends. The binding reports no offset, so this is the shortest prefix after which
   * the response is complete without the connection closing (a body read until the close ends at the input's
   * end). Completion only grows with the prefix, so a binary search finds it.
   */
  private endOf(bytes: Buffer, method: string): number {
    const completes = (length: number) => this.runOn(bytes.subarray(0, length), method, false).complete;
    if (!completes(bytes.length) || !completes(bytes.length - 1)) return bytes.length;
    let low = 0;
    let high = bytes.length - 1;
    while (high - low > 1) {
      const middle = (low + high) >>> 1;
      if (completes(middle)) high = middle;
      else low = middle;
    }
    return high;
  }
}
