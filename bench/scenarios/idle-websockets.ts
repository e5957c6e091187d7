import { startAgent } from "../lib/agent-io.js";
import { settledRss } from "../../test/support/proc-stats.js";
import { rowFromSamples, type ScenarioResult } from "../lib/results.js";
import { pushSample, sleep, type BenchContext, type Scenario } from "../lib/scenario.js";
import { median } from "../lib/stats.js";
import { startTarget, wsUrl, type Target, type TargetKind } from "../lib/targets.js";

const WARMUP_SOCKETS = 200;
const OPEN_TIMEOUT_MS = 180_000;
/** Time for the proxy's heap to settle after the last socket opened, before RSS is read. */
const SETTLE_MS = 3000;

/** Opens `count` idle kernel sockets through `target`; resolves with how many opened and a closer. */
async function holdSockets(
  target: Target,
  count: number,
): Promise<{ opened: number; close(): Promise<void> }> {
  const agent = startAgent("idle-ws-client", { url: wsUrl(target), count, concurrency: 100 });
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

async function memoryPerSocket(ctx: BenchContext, kind: TargetKind): Promise<[number, number] | undefined> {
  const count = ctx.options.idleSockets;
  const target = await startTarget(kind, ctx.backend.url, ctx.targetOptions);
  try {
    const pid = target.pid;
    if (pid === undefined) return undefined;
    // Load the WebSocket code paths once so the baseline is not the cold start.
    const warm = await holdSockets(target, WARMUP_SOCKETS);
    await warm.close();
    await sleep(SETTLE_MS);
    const baseline = await settledRss(pid);
    const held = await holdSockets(target, count);
    await sleep(SETTLE_MS);
    const loaded = await settledRss(pid);
    await held.close();
    if (baseline === undefined || loaded === undefined || held.opened === 0) return undefined;
    // KB = 1000 bytes, as the goal is stated.
    const perSocketKb = (loaded - baseline) / held.opened / 1000;
    ctx.log(
      `  ${kind}: ${held.opened}/${count} sockets open, RSS ${(baseline / 2 ** 20).toFixed(1)} → ` +
        `${(loaded / 2 ** 20).toFixed(1)} MiB, ${perSocketKb.toFixed(1)} KB per socket`,
    );
    return [perSocketKb, held.opened];
  } finally {
    await target.stop();
  }
}

export const idleWebSockets: Scenario = {
  id: 4,
  title: "Idle proxied kernel WebSockets: proxy memory per connection",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const perSocket = new Map<TargetKind, number[]>();
    const notes: string[] = [];
    const proxies = ctx.kinds.filter((k) => k !== "direct");
    // One pass even in a full run: each proxy is fresh, RSS per socket barely moves between runs,
    // and opening 5,000 sockets twice per proxy would double the scenario's time.
    for (const kind of proxies) {
      const measured = await memoryPerSocket(ctx, kind);
      if (!measured) continue;
      pushSample(perSocket, kind, measured[0]);
      if (measured[1] < ctx.options.idleSockets) {
        notes.push(`${kind}: only ${measured[1]} of ${ctx.options.idleSockets} sockets opened`);
      }
    }
    return {
      id: this.id,
      title: this.title,
      notes,
      rows: [
        rowFromSamples(
          {
            scenario: 4,
            label: `proxy RSS per idle WebSocket (${ctx.options.idleSockets})`,
            unit: "KB",
            better: "lower",
            goal: { kind: "max", value: 12, text: "≤ 12 KB" },
          },
          perSocket,
          median,
        ),
      ],
    };
  },
};
