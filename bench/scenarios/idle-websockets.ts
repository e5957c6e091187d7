import { startAgent } from "../lib/agent-io.js";
import { rssBytes, settledRss } from "../../test/support/proc-stats.js";
import { rowFromSamples, type Row, type ScenarioResult } from "../lib/results.js";
import { alternatingOrder, pushSample, sleep, type BenchContext, type Scenario } from "../lib/scenario.js";
import { median } from "../lib/stats.js";
import { startTarget, wsUrl, type Target, type TargetKind } from "../lib/targets.js";

const WARMUP_SOCKETS = 200;
const OPEN_TIMEOUT_MS = 180_000;
/**
 * Fresh proxies per figure, the median taken. The settled figures of one build agree within ±0.1 KB between
 * passes; the figures 3 s after opening moved by ±0.7 KB (9.1 to 11.1 KB after kernel_info), hence two passes.
 */
const PASSES = 2;
/** When the first figure is read: 3 s after the last socket opened (and after the warm-up's sockets closed). */
const EARLY_MS = 3000;
/**
 * V8 grows its young generation under the burst of openings (in CHP as in ltictr-proxy) and gives it back once
 * the process has been idle for a while (its memory reducer): RSS fell ≈ 9 s after the warm-up and ≈ 22 s after
 * 5,000 openings here, by 10 MiB and 30–50 MiB, then stayed flat for over a minute. RSS counts as settled once it
 * has fallen this much below the phase's peak and then kept still for `SETTLED_STILL_MS`; or, if it never falls,
 * once it has kept still at `SETTLE_LIMIT_MS`.
 */
const SETTLED_DROP = 0.05;
const SETTLED_STILL_MS = 5000;
const SETTLE_LIMIT_MS = 60_000;
/** "Still": RSS within this fraction of the first sample of the still period. */
const STILL_TOLERANCE = 0.005;

/**
 * How the held sockets are used before they go idle: `handshake` only, or `kernel_info` — the
 * kernel_info_request / reply that JupyterLab exchanges on every kernel socket it opens, so every real
 * notebook socket has had kernel traffic (and the proxy's inspection has seen it) before it idles.
 */
type IdleKind = "handshake" | "kernel_info";
const IDLE_KINDS: readonly IdleKind[] = ["kernel_info", "handshake"];

/** KB (1000 bytes, as the goal is stated) per socket, read twice: soon after opening, and once RSS settled. */
interface PerSocket {
  earlyKb: number;
  settledKb: number;
  opened: number;
}

/** Opens `count` idle kernel sockets through `target`; resolves with how many opened and a closer. */
async function holdSockets(
  target: Target,
  count: number,
  idle: IdleKind,
): Promise<{ opened: number; close(): Promise<void> }> {
  const agent = startAgent("idle-ws-client", {
    url: wsUrl(target),
    count,
    concurrency: 100,
    "kernel-info": idle === "kernel_info" ? 1 : 0,
  });
  try {
    await agent.waitFor(/OPENED \d+ FAILED \d+/, OPEN_TIMEOUT_MS);
  } catch (err) {
    await agent.stop(1000);
    throw err;
  }
  const opened = Number(/OPENED (\d+)/.exec(agent.stdout())?.[1] ?? 0);
  return {
    opened,
    close: async () => {
      await agent.stop(2000);
    },
  };
}

/** RSS of `pid` once settled (see SETTLED_DROP), counted from `since` (when the phase's last socket changed). */
async function settledIdleRss(pid: number, since: number): Promise<number | undefined> {
  let peak = 0;
  let still: { from: number; rss: number } | undefined;
  for (;;) {
    const rss = rssBytes(pid);
    if (rss === undefined) return undefined;
    const now = Date.now();
    peak = Math.max(peak, rss);
    if (still === undefined || Math.abs(rss - still.rss) > still.rss * STILL_TOLERANCE) {
      still = { from: now, rss };
    } else if (now - still.from >= SETTLED_STILL_MS) {
      const fell = still.rss <= peak * (1 - SETTLED_DROP);
      if (fell || now - since >= SETTLE_LIMIT_MS) return settledRss(pid);
    }
    await sleep(1000);
  }
}

async function memoryPerSocket(
  ctx: BenchContext,
  kind: TargetKind,
  idle: IdleKind,
): Promise<PerSocket | undefined> {
  const count = ctx.options.idleSockets;
  const target = await startTarget(kind, ctx.backend.url, ctx.targetOptions);
  try {
    const pid = target.pid;
    if (pid === undefined) return undefined;
    // Load the WebSocket code paths once so the baseline is not the cold start.
    const warm = await holdSockets(target, WARMUP_SOCKETS, idle);
    await warm.close();
    const warmClosed = Date.now();
    await sleep(EARLY_MS);
    const earlyBaseline = await settledRss(pid);
    const settledBaseline = await settledIdleRss(pid, warmClosed);
    const held = await holdSockets(target, count, idle);
    const allOpen = Date.now();
    await sleep(EARLY_MS);
    const early = await settledRss(pid);
    const settled = await settledIdleRss(pid, allOpen);
    await held.close();
    if (
      earlyBaseline === undefined ||
      settledBaseline === undefined ||
      early === undefined ||
      settled === undefined ||
      held.opened === 0
    )
      return undefined;
    const kb = (from: number, to: number) => (to - from) / held.opened / 1000;
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    const result = {
      earlyKb: kb(earlyBaseline, early),
      settledKb: kb(settledBaseline, settled),
      opened: held.opened,
    };
    ctx.log(
      `  ${kind}, ${idle}: ${held.opened}/${count} sockets open; RSS ${mib(earlyBaseline)} → ${mib(early)} MiB ` +
        `3 s after, ${result.earlyKb.toFixed(1)} KB per socket; settled ${mib(settledBaseline)} → ` +
        `${mib(settled)} MiB, ${result.settledKb.toFixed(1)} KB per socket`,
    );
    return result;
  } finally {
    await target.stop();
  }
}

function rowsFor(
  idle: IdleKind,
  sockets: number,
  settled: Map<TargetKind, number[]>,
  early: Map<TargetKind, number[]>,
): Row[] {
  const what =
    idle === "kernel_info"
      ? "proxy RSS per idle kernel WebSocket after kernel_info"
      : "proxy RSS per idle WebSocket, handshake only";
  const goal =
    idle === "kernel_info"
      ? ({ kind: "max", value: 10, text: "≤ 10 KB" } as const)
      : ({ kind: "max", value: 12, text: "≤ 12 KB" } as const);
  return [
    rowFromSamples(
      { scenario: 4, label: `${what}, settled (${sockets})`, unit: "KB", better: "lower", goal },
      settled,
      median,
    ),
    rowFromSamples(
      { scenario: 4, label: `${what}, 3 s after opening (${sockets})`, unit: "KB", better: "lower" },
      early,
      median,
    ),
  ];
}

export const idleWebSockets: Scenario = {
  id: 4,
  title: "Idle proxied kernel WebSockets: proxy memory per connection",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const notes: string[] = [];
    const rows: Row[] = [];
    const proxies = ctx.kinds.filter((k) => k !== "direct");
    for (const idle of IDLE_KINDS) {
      const settled = new Map<TargetKind, number[]>();
      const early = new Map<TargetKind, number[]>();
      for (let pass = 0; pass < (ctx.options.quick ? 1 : PASSES); pass++) {
        for (const kind of alternatingOrder(proxies, pass)) {
          const measured = await memoryPerSocket(ctx, kind, idle);
          if (!measured) continue;
          pushSample(settled, kind, measured.settledKb);
          pushSample(early, kind, measured.earlyKb);
          if (measured.opened < ctx.options.idleSockets) {
            notes.push(
              `${kind}, ${idle}: only ${measured.opened} of ${ctx.options.idleSockets} sockets opened`,
            );
          }
        }
      }
      rows.push(...rowsFor(idle, ctx.options.idleSockets, settled, early));
    }
    return { id: this.id, title: this.title, notes, rows };
  },
};
