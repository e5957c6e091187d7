import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The page's own files: plain HTML, CSS and an ES module, used as they are (no build step). */
export const ADMIN_STATIC_DIR = fileURLToPath(new URL("../../../src/admin/static", import.meta.url));

const require = createRequire(import.meta.url);

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * The files the page needs, read once at start and served from memory: the page itself and uPlot, the charting
 * library, from the installed package (no CDN: the page works without any network but the proxy's).
 */
export class StaticAssets {
  private readonly assets = new Map<string, Asset>();

  constructor() {
    const own = (name: string) => join(ADMIN_STATIC_DIR, name);
    this.add("/admin/", own("index.html"), "text/html; charset=utf-8");
    this.add("/admin/app.js", own("app.js"), "text/javascript; charset=utf-8");
    this.add("/admin/app.css", own("app.css"), "text/css; charset=utf-8");
    this.add("/admin/favicon.svg", own("favicon.svg"), "image/svg+xml");
    this.add(
      "/admin/vendor/uplot.js",
      require.resolve("uplot/dist/uPlot.iife.min.js"),
      "text/javascript; charset=utf-8",
    );
    this.add(
      "/admin/vendor/uplot.css",
      require.resolve("uplot/dist/uPlot.min.css"),
      "text/css; charset=utf-8",
    );
  }

  has(path: string): boolean {
    return this.assets.has(path);
  }

  /** Answers GET/HEAD for `path` (known to exist), with a validator so that reloads cost a 304. */
  serve(path: string, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
    const asset = this.assets.get(path);
    if (!asset) throw new Error(`no admin asset ${path}`);
    const common = { ...headers, etag: asset.etag, "cache-control": "no-cache" };
    if (req.headers["if-none-match"] === asset.etag) {
      res.writeHead(304, common);
      res.end();
      return;
    }
    res.writeHead(200, { ...common, "content-type": asset.type, "content-length": asset.body.length });
    res.end(req.method === "HEAD" ? undefined : asset.body);
  }

  private add(path: string, file: string, type: string): void {
    const body = readFileSync(file);
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    this.assets.set(path, { body, type, etag });
  }
}
