import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startCpuMeter } from "../lib/proc-stats.js";
import { rowFromSamples, type ScenarioResult } from "../lib/results.js";
import { RouteApi } from "../lib/route-api.js";
import { alternatingOrder, pushSample, type BenchContext, type Scenario } from "../lib/scenario.js";
import { median, percentile } from "../lib/stats.js";
import { startTarget, type Target, type TargetKind } from "../lib/targets.js";
import { runWrk } from "../lib/wrk.js";

const CONNECTIONS = 50;
const GET_REPEATS = 5;

/** wrk script: every request goes to a random user's server, so lookups touch the whole table. */
function spreadScript(users: number): string {
  return [
    "math.randomseed(os.time())",
    "request = function()",
    `  return wrk.format("GET", "/user/u" .. math.random(0, ${users - 1}) .. "/api/status")`,
    "end",
    "",
  ].join("\n");
}

interface RouteFigures {
  postP50: number;
  postP99: number;
  getAll: number;
  rpsOne: number;
  rpsMany: number;
}

async function throughput(
  ctx: BenchContext,
  target: Target,
  script: string,
  warmupS: number,
): Promise<number> {
  await runWrk({ url: target.url, connections: CONNECTIONS, durationS: warmupS, script });
  const cpu = startCpuMeter(target.pid);
  const result = await runWrk({
    url: target.url,
    connections: CONNECTIONS,
    durationS: ctx.options.durationS,
    script,
  });
  if (result.errors) throw new Error(`${target.kind}: ${result.errors} errors under wrk`);
  const used = cpu();
  ctx.log(
    `    ${Math.round(result.requestsPerSecond)} req/s` +
      (used === undefined ? "" : `, ${(used / result.requests).toFixed(0)} µs CPU/req`),
  );
  return result.requestsPerSecond;
}

async function measure(ctx: BenchContext, kind: TargetKind, script: string): Promise<RouteFigures> {
  const users = ctx.options.routes;
  const target = await startTarget(kind, ctx.backend.url, ctx.targetOptions);
  const api = new RouteApi(target);
  try {
    ctx.log(`  ${kind}: throughput with the default route only`);
    // The proxy is fresh here: warm it as long as the measurement itself, or the first figure is JIT warm-up.
    const rpsOne = await throughput(
      ctx,
      target,
      script,
      Math.max(ctx.options.warmupS, ctx.options.durationS),
    );

    const posts = new Float64Array(users);
    for (let i = 0; i < users; i++) {
      posts[i] = await api.add(`/user/u${i}`, {
        user: `u${i}`,
        server_name: "",
        target: ctx.backend.url,
        jupyterhub: true,
      });
    }
    posts.sort();
    const gets: number[] = [];
    for (let i = 0; i < GET_REPEATS; i++) {
      const { ms, routes } = await api.getAll();
      if (routes !== users + 1)
        throw new Error(`${kind}: GET /api/routes returned ${routes} routes, not ${users + 1}`);
      gets.push(ms);
    }
    const figures = {
      postP50: percentile(posts, 50) ?? NaN,
      postP99: percentile(posts, 99) ?? NaN,
      getAll: median(gets) ?? NaN,
    };
    ctx.log(
      `  ${kind}: POST p50 ${figures.postP50.toFixed(2)} ms, p99 ${figures.postP99.toFixed(2)} ms; ` +
        `GET all ${figures.getAll.toFixed(1)} ms; throughput with ${users} routes`,
    );
    const rpsMany = await throughput(ctx, target, script, ctx.options.warmupS);
    return { ...figures, rpsOne, rpsMany };
  } finally {
    await api.close();
    await target.stop();
  }
}

export const manyRoutes: Scenario = {
  id: 5,
  title: "Large routing table: route API latency and proxy throughput",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const users = ctx.options.routes;
    const dir = await mkdtemp(path.join(tmpdir(), "ltictr-bench-routes-"));
    const script = path.join(dir, "spread.lua");
    await writeFile(script, spreadScript(users));
    const samples = {
      postP50: new Map<TargetKind, number[]>(),
      postP99: new Map<TargetKind, number[]>(),
      getAll: new Map<TargetKind, number[]>(),
      rpsMany: new Map<TargetKind, number[]>(),
      kept: new Map<TargetKind, number[]>(),
    };
    try {
      const proxies = ctx.kinds.filter((k) => k !== "direct");
      // One round only: each pass adds the whole table, which dominates the scenario's time.
      for (const kind of alternatingOrder(proxies, 0)) {
        const f = await measure(ctx, kind, script);
        pushSample(samples.postP50, kind, f.postP50);
        pushSample(samples.postP99, kind, f.postP99);
        pushSample(samples.getAll, kind, f.getAll);
        pushSample(samples.rpsMany, kind, f.rpsMany);
        pushSample(samples.kept, kind, (100 * f.rpsMany) / f.rpsOne);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const n = users.toLocaleString("en-US");
    return {
      id: this.id,
      title: this.title,
      notes: [],
      rows: [
        rowFromSamples(
          {
            scenario: 5,
            label: `POST /api/routes/… p50 (to ${n} routes)`,
            unit: "ms",
            better: "lower",
            goal: { kind: "max", value: 1, text: "≤ 1 ms" },
          },
          samples.postP50,
          median,
        ),
        rowFromSamples(
          { scenario: 5, label: `POST /api/routes/… p99 (to ${n} routes)`, unit: "ms", better: "lower" },
          samples.postP99,
          median,
        ),
        rowFromSamples(
          {
            scenario: 5,
            label: `GET /api/routes with ${n} routes`,
            unit: "ms",
            better: "lower",
            goal: { kind: "max", value: 50, text: "≤ 50 ms" },
          },
          samples.getAll,
          median,
        ),
        rowFromSamples(
          { scenario: 5, label: `requests/s with ${n} routes`, unit: "req/s", better: "higher" },
          samples.rpsMany,
          median,
        ),
        rowFromSamples(
          {
            scenario: 5,
            label: `requests/s at ${n} routes ÷ at 1 route`,
            unit: "%",
            better: "higher",
            goal: { kind: "min", value: 95, text: "≥ 95 %" },
          },
          samples.kept,
          median,
        ),
      ],
    };
  },
};
