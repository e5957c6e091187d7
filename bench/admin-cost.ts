/**
 * What the admin page costs the proxy (not part of `npm test` or `npm run bench`).
 *
 * First its own work, timed in this process: what its counters add to each proxied request, and what one second's
 * tick to `--pages` live pages costs (with 20 results in it). These figures do not depend on other load.
 *
 * Then scenario 1's HTTP load (`wrk -t1 -c50`, small responses) against
 *   - off:    ltictr-proxy without `--admin-port`;
 *   - closed: ltictr-proxy with `--admin-port`, no page open (the page's counters follow the proxy's events);
 *   - open:   the same process with `--pages` admin pages open and live (each an event stream that reads every tick
 *             and change, as a browser tab does; the streams live in this process, on the load core).
 * Both proxies run side by side on the proxy core, one loaded at a time, in rotating order; figures are medians
 * over `--rounds`. Printed: req/s and proxy CPU µs per request of each, and the ratios open ÷ closed and
 * open ÷ off — of the medians, and the median of each round's own ratio (runs of one round are adjacent in time, so
 * load from elsewhere on a shared machine hits them more alike).
 *
 *   npm run build && node dist/bench/admin-cost.js [--duration 8] [--rounds 5] [--pages 10]
 */
import { request, type IncomingMessage } from "node:http";
import { parseArgs } from "node:util";
import { freePort } from "../test/support/ports.js";
import { startCpuMeter } from "../test/support/proc-stats.js";
import { waitUntil } from "../test/support/wait.js";
import { measureFeedCost } from "./lib/admin-feed-cost.js";
import { startBackend } from "./lib/backend.js";
import { installCleanup, pinSelf, stopAll } from "./lib/children.js";
import { alternatingOrder } from "./lib/scenario.js";
import { median } from "./lib/stats.js";
import { startTarget, type Target } from "./lib/targets.js";
import { runWrk } from "./lib/wrk.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    rounds: { type: "string", default: "5" },
    pages: { type: "string", default: "10" },
  },
});
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const pageCount = Number(values.pages);
const PATH = "/user/bench/api/status";
const CONNECTIONS = 50;
const WARMUP_S = 2;

type Mode = "off" | "closed" | "open";

/** One admin page's live stream; resolves once the first tick arrived. */
function openPage(adminUrl: string, token: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${adminUrl}/admin/api/events`,
      { headers: { authorization: `token ${token}` } },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`the event stream answered ${res.statusCode}`));
        let ticked = false;
        res.on("data", (chunk: Buffer) => {
          if (!ticked && chunk.toString().includes("event: tick")) {
            ticked = true;
            resolve(res);
          }
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

installCleanup();
pinSelf();
const cost = await measureFeedCost(pageCount, 20);
log(
  `the page's own work: ${cost.perRequestNs.toFixed(1)} ns per proxied request; ` +
    `${cost.perTickMicros.toFixed(0)} µs per second for a ${cost.tickBytes}-byte tick to ${pageCount} pages`,
);
const backend = await startBackend({ msgsPerRequest: 100, contentBytes: 1024 });
try {
  const adminPort = await freePort();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const off = await startTarget("ltictr", backend.url);
  const on = await startTarget("ltictr", backend.url, { ltictrArgs: ["--admin-port", String(adminPort)] });
  await waitUntil(async () => {
    try {
      return (await fetch(`${adminUrl}/admin/`)).ok;
    } catch {
      return false;
    }
  }, "the admin listener");

  const requestsPerSecond = new Map<Mode, number[]>();
  const cpuPerRequest = new Map<Mode, number[]>();
  log(
    `wrk -t1 -c${CONNECTIONS}, ${durationS} s per run, ${rounds} rounds, ${pageCount} pages open in "open"`,
  );
  for (let round = 0; round < rounds; round++) {
    for (const mode of alternatingOrder<Mode>(["off", "closed", "open"], round)) {
      const target: Target = mode === "off" ? off : on;
      const pages =
        mode === "open"
          ? await Promise.all(Array.from({ length: pageCount }, () => openPage(adminUrl, on.token)))
          : [];
      await runWrk({ url: target.url + PATH, connections: CONNECTIONS, durationS: WARMUP_S });
      const cpu = startCpuMeter(target.pid);
      const wrk = await runWrk({ url: target.url + PATH, connections: CONNECTIONS, durationS });
      const used = cpu();
      for (const page of pages) page.destroy();
      requestsPerSecond.set(mode, [...(requestsPerSecond.get(mode) ?? []), wrk.requestsPerSecond]);
      if (used !== undefined && wrk.requests > 0)
        cpuPerRequest.set(mode, [...(cpuPerRequest.get(mode) ?? []), used / wrk.requests]);
      log(
        `  round ${round + 1} ${mode.padEnd(6)} ${Math.round(wrk.requestsPerSecond)} req/s` +
          (used === undefined ? "" : `, ${(used / wrk.requests).toFixed(1)} µs CPU/req`) +
          (wrk.errors ? `, ${wrk.errors} errors` : ""),
      );
    }
  }
  const rps = (mode: Mode) => median(requestsPerSecond.get(mode) ?? []) ?? Number.NaN;
  const cpu = (mode: Mode) => median(cpuPerRequest.get(mode) ?? []) ?? Number.NaN;
  log("");
  for (const mode of ["off", "closed", "open"] as const)
    log(`${mode.padEnd(6)} median ${Math.round(rps(mode))} req/s, ${cpu(mode).toFixed(1)} µs CPU/req`);
  const percent = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)} %`;
  const perRound = (samples: Map<Mode, number[]>, a: Mode, b: Mode) => {
    const [as, bs] = [samples.get(a) ?? [], samples.get(b) ?? []];
    const ratio = median(as.map((value, i) => value / (bs[i] ?? Number.NaN))) ?? Number.NaN;
    return `${((ratio - 1) * 100).toFixed(1)} %`;
  };
  for (const [a, b] of [
    ["open", "closed"],
    ["open", "off"],
  ] as const) {
    log(
      `${a} ÷ ${b}:`.padEnd(15) +
        `throughput ${percent(rps(a), rps(b))} (per round ${perRound(requestsPerSecond, a, b)}), ` +
        `CPU/req ${percent(cpu(a), cpu(b))} (per round ${perRound(cpuPerRequest, a, b)})`,
    );
  }
} finally {
  await backend.stop();
  await stopAll();
}
