import { Pool } from "undici";
import { agentOptions, exitWithParent, numberOption, printResult } from "./agent-io.js";
import { percentile } from "./stats.js";

/**
 * Fixed-rate ("open-loop") HTTP load (agent process): issues requests on a fixed schedule regardless of how
 * fast answers come back, over a pool of keep-alive connections, and measures each latency from the time the
 * request was *due*, so a stalled proxy cannot hide its queueing (no coordinated omission). wrk cannot do
 * this and wrk2 is not packaged here.
 */
const options = agentOptions(["url", "rate", "duration", "connections", "warmup"]);
const target = new URL(options.url ?? "http://127.0.0.1/");
const rate = numberOption(options, "rate");
const durationS = numberOption(options, "duration", 5);
const warmupS = numberOption(options, "warmup", 1);
const connections = numberOption(options, "connections", 50);

const pool = new Pool(target.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
const path = target.pathname + target.search;

async function once(): Promise<boolean> {
  try {
    const { statusCode, body } = await pool.request({ method: "GET", path });
    await body.dump();
    return statusCode < 400;
  } catch {
    return false;
  }
}

/** Sends `total` requests at `rate`/s; resolves with each request's latency (ms) from its due time. */
async function schedule(total: number, latencies: Float64Array | undefined): Promise<number> {
  let errors = 0;
  let issued = 0;
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (issued < due) {
        const index = issued++;
        const dueAt = start + (index * 1000) / rate;
        const p = once().then((ok) => {
          if (!ok) errors++;
          if (latencies) latencies[index] = performance.now() - dueAt;
          inFlight.delete(p);
        });
        inFlight.add(p);
      }
      if (issued < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  return errors;
}

exitWithParent();
await schedule(Math.ceil(rate * warmupS), undefined);
const total = Math.ceil(rate * durationS);
const latencies = new Float64Array(total);
const started = performance.now();
const errors = await schedule(total, latencies);
const seconds = (performance.now() - started) / 1000;
latencies.sort();
await printResult({
  rate,
  requests: total,
  errors,
  achievedRate: total / seconds,
  latencyMs: {
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
    max: latencies[latencies.length - 1],
  },
});
await pool.close();
