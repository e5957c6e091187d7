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
  rpsMany: number;
  /** Median over back-to-back pairs of requests/s at the full table ÷ at one route, in %. */
  kept: number;
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

/** Pairs of back-to-back throughput runs (1 route, 10,000 routes) whose ratio is the goal's figure. */
const MIN_RATIO_PAIRS = 3;

/**
 * Two instances of the same proxy, one with the default route only and one with the whole table, measured in
 * alternation: drift on the machine and JIT warm-up then hit both alike, which a before/after on one process
 * does not give.
 */
async function measure(ctx: BenchContext, kind: TargetKind, script: string): Promise<RouteFigures> {
  const users = ctx.options.routes;
  const one = await startTarget(kind, ctx.backend.url, ctx.targetOptions);
  let many: Target | undefined;
  let api: RouteApi | undefined;
  try {
    many = await startTarget(kind, ctx.backend.url, ctx.targetOptions);
    api = new RouteApi(many);
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
        `GET all ${figures.getAll.toFixed(1)} ms`,
    );
    // Both processes are fresh: warm each as long as a measurement, or the first figures are JIT warm-up.
    const warm = Math.max(ctx.options.warmupS, ctx.options.durationS);
    for (const target of [one, many]) {
      await runWrk({ url: target.url, connections: CONNECTIONS, durationS: warm, script });
    }
    const tables = [
      { routes: 1, target: one },
      { routes: users, target: many },
    ];
    const rpsMany: number[] = [];
    const kept: number[] = [];
    for (let round = 0; round < Math.max(MIN_RATIO_PAIRS, ctx.options.rounds); round++) {
      const rps = new Map<Target, number>();
      for (const { routes, target } of alternatingOrder(tables, round)) {
        ctx.log(`  ${kind}: throughput with ${routes} route${routes === 1 ? "" : "s"}`);
        rps.set(target, await throughput(ctx, target, script, ctx.options.warmupS));
      }
      rpsMany.push(rps.get(many) ?? NaN);
      kept.push((100 * (rps.get(many) ?? NaN)) / (rps.get(one) ?? NaN));
    }
    return { ...figures, rpsMany: median(rpsMany) ?? NaN, kept: median(kept) ?? NaN };
  } finally {
    await api?.close();
    await many?.stop();
    await one.stop();
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
      // One pass per proxy (each adds the whole table); the throughput ratio is itself a median over pairs.
      for (const kind of alternatingOrder(proxies, 0)) {
        const f = await measure(ctx, kind, script);
        pushSample(samples.postP50, kind, f.postP50);
        pushSample(samples.postP99, kind, f.postP99);
        pushSample(samples.getAll, kind, f.getAll);
        pushSample(samples.rpsMany, kind, f.rpsMany);
        pushSample(samples.kept, kind, f.kept);
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
