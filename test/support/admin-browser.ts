import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { tempDir, type Teardown } from "./temp-dir.js";

/** Debian's Chromium, driven by playwright-core (no browser download). */
export const CHROMIUM_PATH = "/usr/bin/chromium";
/** A browser that talks to nothing but the pages it is sent to: no updates, no sync, no background requests. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Where the admin tests save their screenshots: `$LTICTR_SCREENSHOT_DIR` when set (kept, e.g. to refresh the
 * README's pictures), else a temporary folder removed when the test ends.
 */
export function screenshotDir(t: Teardown): string {
  const kept = process.env.LTICTR_SCREENSHOT_DIR;
  if (!kept) return tempDir(t, "ltictr-admin-shots-");
  mkdirSync(kept, { recursive: true });
  return kept;
}

export interface AdminBrowserOptions {
  colorScheme?: "light" | "dark";
  viewport?: { width: number; height: number };
  /** The proxy's self-signed certificate is accepted (its CA is not in the browser's store). */
  acceptSelfSigned?: boolean;
}

/** One headless Chromium with a fresh profile, one page, and a record of what the page did. */
export interface AdminBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Requests the page tried to make to anything but the loopback addresses (refused). */
  outsideRequests: string[];
  /** Console errors with their URL, and uncaught exceptions (a Content-Security-Policy violation is one). */
  pageErrors: string[];
  /** Every response body the page received, for the "no secrets reach the page" check. */
  responseBodies(): Promise<string[]>;
  /** Saves a full-page PNG as `<dir>/<name>.png`; resolves with its path once written. */
  screenshot(dir: string, name: string): Promise<string>;
  /** A second page in the same profile (its cookies). */
  newPage(): Promise<Page>;
}

const LOOPBACK = /^(https?|wss?):\/\/(127\.0\.0\.1|\[::1\]|localhost)(:\d+)?\//;

/** Launches Chromium as the admin tests need it; it is closed when the test ends. */
export async function openAdminBrowser(
  t: Teardown,
  options: AdminBrowserOptions = {},
): Promise<AdminBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  // launch() runs Chromium on a new temporary profile (deleted when it closes); the context starts empty.
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 860 },
    colorScheme: options.colorScheme ?? "light",
    ignoreHTTPSErrors: options.acceptSelfSigned ?? false,
    serviceWorkers: "block",
  });
  const outsideRequests: string[] = [];
  const pageErrors: string[] = [];
  const bodies: Promise<string>[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (LOOPBACK.test(url) || url.startsWith("data:")) return route.continue();
    outsideRequests.push(url);
    return route.abort("blockedbyclient");
  });
  const watch = (page: Page) => {
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on("pageerror", (error) => pageErrors.push(error.message));
    // Only complete bodies: a live event stream never finishes.
    page.on("requestfinished", (request) => {
      bodies.push(
        request
          .response()
          .then((response) => response?.text() ?? "")
          .catch(() => ""),
      );
    });
    return page;
  };
  const page = watch(await context.newPage());
  return {
    browser,
    context,
    page,
    outsideRequests,
    pageErrors,
    responseBodies: () => Promise.all(bodies),
    async screenshot(dir, name) {
      const path = join(dir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      if (statSync(path).size < 1000) throw new Error(`screenshot ${path} is empty`);
      return path;
    },
    newPage: async () => watch(await context.newPage()),
  };
}
