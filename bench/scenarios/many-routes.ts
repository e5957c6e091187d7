import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describeLoad, loadTogether } from "../lib/load-together.js";
import { rowFromSamples, type ScenarioResult } from "../lib/results.js";
import { RouteApi } from "../lib/route-api.js";
import { alternatingOrder, pushSample, type BenchContext, type Scenario } from "../lib/scenario.js";
import { median, percentile } from "../lib/stats.js";
import {
  LTICTR_BUILDS,
  startTarget,
  startTargets,
  stopTargets,
  type Target,
  type TargetKind,
} from "../lib/targets.js";

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

/** What JupyterHub posts for user `i`'s server, every one of them on the backend. */
function userRoute(i: number, backendUrl: string): Record<string, unknown> {
  return { user: `u${i}`, server_name: "", target: backendUrl, jupyterhub: true };
}

/** Fresh processes are warmed as long as a measurement lasts, or the first figures are JIT warm-up. */
function freshWarmupS(ctx: BenchContext): number {
  return Math.max(ctx.options.warmupS, ctx.options.durationS);
}

interface RouteFigures {
  postP50: number;
  postP99: number;
  /** The first GET after the routes were added (nothing serialised yet), ms. */
  getFirst: number;
  getAll: number;
  /** Per measuring window: requests/s at the full table. */
  rpsMany: number[];
  /** Per measuring window: requests/s at the full table ÷ at one route, both loaded at once, in %. */
  kept: number[];
}

/**
 * Fresh pairs of processes, and windows per pair in which both tables are measured; the goal's figure is the median
 * ratio over all windows. Each process keeps its own JIT decisions (which functions got inlined where) for its
 * life, worth ±2 % of throughput; more than one pair keeps one process's luck from being the result.
 */
const PAIRS = 2;
const MIN_WINDOWS_PER_PAIR = 2;

/**
 * Two instances of the same proxy that differ only in their table: one keeps the default route, the other gets
 * the whole table. Both receive the same 10,000 POSTs (the one-route instance re-sets its root route each time),
 * so their JIT and heap histories match: a proxy that served no API traffic runs a few per cent faster whatever
 * its table (measured: 95-96 % for the same table size when only one instance had the POSTs). Then both are
 * loaded at the same moment on the same core, so the host's drift (±15 % between consecutive 5-second runs on
 * these VMs) hits both alike, and the ratio is that of their per-request costs. Sharing the core's caches with
 * the other instance makes the large table pay more for its memory than alone: the figure errs on the low side.
 */
async function measure(ctx: BenchContext, kind: TargetKind, script: string): Promise<RouteFigures> {
  const users = ctx.options.routes;
  const one = await startTarget(kind, ctx.backend.url, ctx.targetOptions);
  let many: Target | undefined;
  const apis: RouteApi[] = [];
  try {
    many = await startTarget(kind, ctx.backend.url, ctx.targetOptions);
    const [oneApi, manyApi] = [new RouteApi(one), new RouteApi(many)];
    apis.push(oneApi, manyApi);
    const posts = new Float64Array(users);
    for (let i = 0; i < users; i++) {
      const body = userRoute(i, ctx.backend.url);
      posts[i] = await manyApi.add(`/user/u${i}`, body);
      await oneApi.add("/", body);
    }
    posts.sort();
    const gets: number[] = [];
    for (let i = 0; i < GET_REPEATS; i++) {
      const { ms, routes } = await manyApi.getAll();
      if (routes !== users + 1)
        throw new Error(`${kind}: GET /api/routes returned ${routes} routes, not ${users + 1}`);
      gets.push(ms);
    }
    const figures = {
      postP50: percentile(posts, 50) ?? NaN,
      postP99: percentile(posts, 99) ?? NaN,
      getFirst: gets[0],
      getAll: median(gets) ?? NaN,
    };
    ctx.log(
      `  ${kind}: POST p50 ${figures.postP50.toFixed(2)} ms, p99 ${figures.postP99.toFixed(2)} ms; ` +
        `GET all ${figures.getAll.toFixed(1)} ms (first ${figures.getFirst.toFixed(1)} ms)`,
    );
    await loadTogether([one, many], { connections: CONNECTIONS, durationS: freshWarmupS(ctx), script });
    const rpsMany: number[] = [];
    const kept: number[] = [];
    for (let round = 0; round < Math.max(MIN_WINDOWS_PER_PAIR, ctx.options.rounds); round++) {
      const [atOne, atMany] = await loadTogether([one, many], {
        connections: CONNECTIONS,
        durationS: ctx.options.durationS,
        script,
      });
      ctx.log(`  ${kind}: 1 route ${describeLoad(atOne)} | ${users} routes ${describeLoad(atMany)}, at once`);
      rpsMany.push(atMany.requestsPerSecond);
      kept.push((100 * atMany.requestsPerSecond) / atOne.requestsPerSecond);
    }
    return { ...figures, rpsMany, kept };
  } finally {
    await Promise.all(apis.map((api) => api.close()));
    await many?.stop();
    await one.stop();
  }
}

/**
 * Rounds of this build against the baseline build, both with the whole table, started afresh for every round and
 * loaded at once (in alternating order): their CPU per request at the full table, the figure that says whether
 * serving a large table got dearer. The share above cannot: it is a ratio of one build's two tables, which moves
 * when only the one-route path gets cheaper, and its pairs feed back on each other (the instance that runs ahead
 * reads bigger batches per wake-up, which makes its requests cheaper and keeps it ahead), so its windows are not
 * independent. Fresh processes per round break that feedback (measured with `bench/ab-together.ts`: two rounds of
 * the same two processes gave 0.85 and 0.97; fresh pairs of one build stay within ± 4 % of each other here).
 */
const BUILD_ROUNDS = 6;

async function compareBuilds(ctx: BenchContext, script: string): Promise<Map<TargetKind, number[]>> {
  const users = ctx.options.routes;
  const cpu = new Map<TargetKind, number[]>();
  for (let round = 0; round < BUILD_ROUNDS; round++) {
    const kinds = alternatingOrder(LTICTR_BUILDS, round);
    const started = await startTargets(kinds, ctx.backend.url, ctx.targetOptions);
    const targets = kinds.map((kind) => started.get(kind) as Target);
    const apis = targets.map((target) => new RouteApi(target));
    try {
      await Promise.all(
        apis.map(async (api) => {
          for (let i = 0; i < users; i++) await api.add(`/user/u${i}`, userRoute(i, ctx.backend.url));
        }),
      );
      await loadTogether(targets, { connections: CONNECTIONS / 2, durationS: freshWarmupS(ctx), script });
      const loaded = await loadTogether(targets, {
        connections: CONNECTIONS / 2,
        durationS: ctx.options.durationS,
        script,
      });
      ctx.log(
        `  round ${round + 1}: ${kinds.map((kind, i) => `${kind} ${describeLoad(loaded[i])}`).join(" | ")}`,
      );
      kinds.forEach((kind, i) => pushSample(cpu, kind, loaded[i].cpuPerRequest));
    } finally {
      await Promise.all(apis.map((api) => api.close()));
      await stopTargets(started);
    }
  }
  return cpu;
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
      getFirst: new Map<TargetKind, number[]>(),
      getAll: new Map<TargetKind, number[]>(),
      rpsMany: new Map<TargetKind, number[]>(),
      kept: new Map<TargetKind, number[]>(),
    };
    let buildCpu = new Map<TargetKind, number[]>();
    try {
      const proxies = ctx.kinds.filter((k) => k !== "direct");
      // Pairs of fresh processes per proxy, the proxies alternating; each pair adds the whole table.
      for (let pair = 0; pair < PAIRS; pair++) {
        for (const kind of alternatingOrder(proxies, pair)) {
          const f = await measure(ctx, kind, script);
          pushSample(samples.postP50, kind, f.postP50);
          pushSample(samples.postP99, kind, f.postP99);
          pushSample(samples.getFirst, kind, f.getFirst);
          pushSample(samples.getAll, kind, f.getAll);
          for (const value of f.rpsMany) pushSample(samples.rpsMany, kind, value);
          for (const value of f.kept) pushSample(samples.kept, kind, value);
        }
      }
      if (LTICTR_BUILDS.every((kind) => ctx.kinds.includes(kind))) {
        ctx.log(
          `  this build and the baseline at ${users} routes, loaded at once, fresh processes per round:`,
        );
        buildCpu = await compareBuilds(ctx, script);
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
            goal: { kind: "max", value: 0.2, text: "≤ 0.2 ms" },
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
            label: `GET /api/routes with ${n} routes, first after adding them`,
            unit: "ms",
            better: "lower",
            goal: { kind: "max", value: 15, text: "≤ 15 ms" },
          },
          samples.getFirst,
          median,
        ),
        rowFromSamples(
          {
            scenario: 5,
            label: `GET /api/routes with ${n} routes`,
            unit: "ms",
            better: "lower",
            goal: { kind: "max", value: 15, text: "≤ 15 ms" },
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
            label: `requests/s at ${n} routes ÷ at 1 route (loaded at once)`,
            unit: "%",
            better: "higher",
            goal: { kind: "min", value: 97, text: "≥ 97 %" },
          },
          samples.kept,
          median,
        ),
        ...(buildCpu.size === 0
          ? []
          : [
              rowFromSamples(
                {
                  scenario: 5,
                  label: `proxy CPU per request at ${n} routes (both builds loaded at once)`,
                  unit: "µs",
                  better: "lower",
                },
                buildCpu,
                median,
              ),
            ]),
      ],
    };
  },
};
