import { readFile } from "node:fs/promises";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { Logger } from "../log/logger.js";
import { fetchBuffered } from "../http1/fetch-buffered.js";
import type { UpstreamPools } from "../http1/upstream-pools.js";
import { parseUpstreamTarget } from "../http1/upstream-target.js";

/** Built-in pages; they sit in src/ and are copied beside the compiled file by the build. */
export const BUILT_IN_ERROR_PATH = fileURLToPath(
  new URL("../../../src/forward/error-pages", import.meta.url),
);

/**
 * An error target is fetched through the upstream pools, so it gets what routes get: keep-alive, UNIX sockets
 * (`http+unix://`), the `--client-ssl-*` identity and `--insecure`.
 */
export type ErrorPageSource =
  { kind: "target"; url: string; pools: UpstreamPools } | { kind: "path"; dir: string };

/**
 * Answers a failed proxy request as CHP does: 404 no route, 503 upstream failure, 500 internal.
 * With `--error-target` the page comes from `GET <target><code>?url=<original url>` (its status ignored);
 * otherwise from `<code>.html` or `error.html` in the error path; the plain status text as the last resort.
 */
export class ErrorResponder {
  private readonly pageCache = new Map<string, Buffer | null>();

  constructor(
    private readonly source: ErrorPageSource,
    private readonly log: Logger,
  ) {}

  async respond(req: IncomingMessage, res: ServerResponse, code: number): Promise<void> {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    try {
      if (this.source.kind === "target" && (await this.fromTarget(req, res, code))) return;
      if (this.source.kind === "path" && (await this.fromPath(res, code, this.source.dir))) return;
    } catch (error) {
      this.log.error({ err: error }, "Failed to get custom error page: %s", (error as Error).message);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    try {
      res.writeHead(code);
      res.end(STATUS_CODES[code]);
    } catch (error) {
      // Nothing can be answered on this response any more: the client sees its connection close.
      this.log.error({ err: error }, "Cannot answer %d: %s", code, (error as Error).message);
      res.destroy();
    }
  }

  private async fromTarget(req: IncomingMessage, res: ServerResponse, code: number): Promise<boolean> {
    if (this.source.kind !== "target") return false;
    const url = new URL(`${code}`, this.source.url);
    url.searchParams.set("url", req.url ?? "/");
    this.log.debug("Requesting custom error page: %s", url.pathname);
    const target = parseUpstreamTarget(this.source.url);
    const page = await fetchBuffered(
      this.source.pools.for(target),
      {
        method: "GET",
        path: url.pathname + url.search,
        headers: { host: target.originHost },
        body: null,
        timeoutMs: ERROR_PAGE_TIMEOUT_MS,
      },
      ERROR_PAGE_LIMIT,
      ERROR_PAGE_TIMEOUT_MS,
    );
    if (!page.complete) throw new Error(`error page over ${ERROR_PAGE_LIMIT} bytes`);
    const headers: string[] = [];
    for (let i = 0; i < page.head.headers.length; i += 2) {
      const name = page.head.headers[i];
      if (name === "content-type" || name === "content-encoding")
        headers.push(name, page.head.headers[i + 1]);
    }
    res.writeHead(code, headers);
    res.end(page.body);
    return true;
  }

  private async fromPath(res: ServerResponse, code: number, dir: string): Promise<boolean> {
    const page = (await this.page(join(dir, `${code}.html`))) ?? (await this.page(join(dir, "error.html")));
    if (!page) {
      this.log.error("No error file %s", join(dir, "error.html"));
      return false;
    }
    res.writeHead(code, { "content-type": "text/html" });
    res.end(page);
    return true;
  }

  private async page(file: string): Promise<Buffer | undefined> {
    if (!this.pageCache.has(file)) {
      try {
        this.pageCache.set(file, await readFile(file));
      } catch {
        this.log.debug("No error file %s", file);
        this.pageCache.set(file, null);
      }
    }
    return this.pageCache.get(file) ?? undefined;
  }
}

const ERROR_PAGE_TIMEOUT_MS = 10_000;
/** Error pages are small; a larger answer is refused rather than held in memory. */
const ERROR_PAGE_LIMIT = 1024 * 1024;
