import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startBackend } from "./lib/backend.js";
import { installCleanup, pinSelf, stopAll } from "./lib/children.js";
import { machineInfo } from "./lib/machine.js";
import { parseBenchOptions } from "./lib/options.js";
import { REPO_ROOT, RESULTS_DIR } from "./lib/paths.js";
import type { Row } from "./lib/results.js";
import type { BenchContext } from "./lib/scenario.js";
import { renderLineChart, type LineSeries } from "./lib/svg-line-chart.js";
import { kernelWsStream } from "./scenarios/kernel-ws-stream.js";
import { idleWebSockets } from "./scenarios/idle-websockets.js";

/**
 * `npm run bench:commits -- <commit> <commit> …`: memory per idle kernel socket (scenario 4) and proxy CPU per
 * kernel message (scenario 3) of each commit's build, measured one after the other in one run beside CHP 5.3.0
 * (measured again with every build, so host drift shows in CHP's figures too and the CPU figures are given as
 * a ratio to it), drawn as a line chart over the commits. Each commit is exported from git into a temporary
 * directory and compiled there with this checkout's node_modules; the directories are removed at the end.
 */
const USAGE = `usage: npm run bench:commits -- [--rounds n] [--sockets n] <commit> [<commit> ...]
       npm run bench:commits -- --chart <commits-….json>
  --rounds <n>    scenario-3 repetitions per build (default 1)
  --sockets <n>   idle kernel sockets held per measurement (default 5000)
  --chart <file>  draw the chart of a recorded run again (its .svg beside it), measuring nothing`;

interface CommitsRun {
  startedAt: string;
  finishedAt: string;
  machine: ReturnType<typeof machineInfo>;
  idleSockets: number;
  points: CommitPoint[];
}

interface CommitPoint {
  commit: string;
  date: string;
  subject: string;
  /** Scenario 4, KB per socket: this build, and CHP measured beside it. */
  idleAfterKernelInfoKb?: number;
  idleHandshakeKb?: number;
  chpIdleAfterKernelInfoKb?: number;
  /** Scenario 3: CPU per message, this build ÷ CHP, per case ("v1, 1 socket" …). */
  cpuPerMessageVsChp: Record<string, number>;
  /** Scenario 3: CPU per message of this build, µs, per case. */
  cpuPerMessageUs: Record<string, number>;
}

function git(...args: string[]): string {
  return execFileSync("git", ["-C", REPO_ROOT, ...args], { encoding: "utf8" }).trim();
}

/** Exports `commit` into a new directory and compiles it there; returns the directory. */
async function buildCommit(commit: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `ltictr-commit-${commit}-`));
  execFileSync("sh", ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", REPO_ROOT, commit, dir]);
  await symlink(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
  try {
    execFileSync(process.execPath, [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", dir], {
      stdio: "ignore",
    });
  } catch {
    // Type errors of an old commit against today's dependencies still emit JavaScript; whether the build
    // runs is checked when the bench starts it.
  }
  return dir;
}

function rowsLabelled(rows: readonly Row[], prefix: string): Row[] {
  return rows.filter((r) => r.label.startsWith(prefix));
}

/** "proxy CPU per message, v1, 1 socket" → "v1, 1 socket". */
function caseOf(label: string): string {
  return label.replace(/^proxy CPU per message, /, "");
}

async function measure(ctx: BenchContext, point: CommitPoint): Promise<void> {
  const idle = await idleWebSockets.run(ctx);
  const [afterKernelInfo] = rowsLabelled(
    idle.rows,
    "proxy RSS per idle kernel WebSocket after kernel_info, after a full GC",
  );
  const [handshake] = rowsLabelled(
    idle.rows,
    "proxy RSS per idle WebSocket, handshake only, after a full GC",
  );
  point.idleAfterKernelInfoKb = afterKernelInfo?.values.baseline;
  point.chpIdleAfterKernelInfoKb = afterKernelInfo?.values.chp;
  point.idleHandshakeKb = handshake?.values.baseline;
  const stream = await kernelWsStream.run(ctx);
  for (const row of rowsLabelled(stream.rows, "proxy CPU per message")) {
    const { baseline, chp } = row.values;
    if (baseline === undefined) continue;
    point.cpuPerMessageUs[caseOf(row.label)] = baseline;
    if (chp !== undefined && chp > 0) point.cpuPerMessageVsChp[caseOf(row.label)] = baseline / chp;
  }
}

const CASE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];

function chart(points: readonly CommitPoint[], started: string, sockets: number): string {
  const labels = points.map((p) => p.commit);
  const cases = [...new Set(points.flatMap((p) => Object.keys(p.cpuPerMessageVsChp)))];
  const cpuSeries: LineSeries[] = cases.map((name, i) => ({
    name,
    color: CASE_COLORS[i % CASE_COLORS.length],
    values: points.map((p) => p.cpuPerMessageVsChp[name]),
  }));
  return renderLineChart(
    `ltictr-proxy over commits — ${started.slice(0, 16).replace("T", " ")} UTC`,
    labels,
    [
      {
        title: `proxy RSS per idle kernel WebSocket after a full GC (${sockets.toLocaleString("en")} held)`,
        unit: "KB per socket",
        goal: { value: 10, text: "goal ≤ 10 KB after kernel_info" },
        series: [
          { name: "after kernel_info", color: "#1f77b4", values: points.map((p) => p.idleAfterKernelInfoKb) },
          {
            name: "handshake only",
            color: "#1f77b4",
            dashed: true,
            values: points.map((p) => p.idleHandshakeKb),
          },
          {
            name: "CHP, after kernel_info",
            color: "#999",
            values: points.map((p) => p.chpIdleAfterKernelInfoKb),
          },
        ],
      },
      {
        title: "proxy CPU per kernel message ÷ CHP's (inspection on)",
        unit: "× CHP",
        goal: { value: 1, text: "goal ≤ 1.0× CHP" },
        series: cpuSeries,
      },
    ],
  );
}

function tableLine(p: CommitPoint): string {
  const cpu = Object.entries(p.cpuPerMessageVsChp)
    .map(([name, ratio]) => `${name} ${ratio.toFixed(2)}×`)
    .join(", ");
  const kb = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(1));
  return `${p.commit}  ${p.date}  idle ${kb(p.idleAfterKernelInfoKb)} / ${kb(p.idleHandshakeKb)} KB (CHP ${kb(p.chpIdleAfterKernelInfoKb)})  CPU/msg ÷ CHP: ${cpu || "–"}  ${p.subject.slice(0, 60)}`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      rounds: { type: "string" },
      sockets: { type: "string" },
      chart: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.chart !== undefined) {
    const run = JSON.parse(await readFile(values.chart, "utf8")) as CommitsRun;
    const svg = values.chart.replace(/\.json$/, "") + ".svg";
    await writeFile(svg, chart(run.points, run.startedAt, run.idleSockets));
    process.stdout.write(`wrote ${svg}\n`);
    return 0;
  }
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 1;
  }
  const commits = positionals.map((c) => git("rev-parse", "--short", `${c}^{commit}`));
  installCleanup();
  pinSelf();
  const started = new Date().toISOString();
  const log = (message: string) => process.stdout.write(`${message}\n`);
  const backend = await startBackend({ msgsPerRequest: 100, contentBytes: 1024 });
  const points: CommitPoint[] = [];
  const sockets = values.sockets === undefined ? undefined : Number(values.sockets);
  let idleSockets = sockets ?? 0;
  try {
    for (const commit of commits) {
      const [date, subject] = git(
        "log",
        "-1",
        "--format=%cd%x09%s",
        "--date=format:%Y-%m-%d %H:%M",
        commit,
      ).split("\t");
      log(`\n${commit} ${date} ${subject.slice(0, 100)}`);
      const dir = await buildCommit(commit);
      const point: CommitPoint = { commit, date, subject, cpuPerMessageVsChp: {}, cpuPerMessageUs: {} };
      try {
        const options = parseBenchOptions([
          "--targets",
          "chp,baseline",
          "--baseline",
          dir,
          "--rounds",
          values.rounds ?? "1",
        ]);
        if (options === "help") throw new Error("unreachable");
        if (sockets !== undefined) options.idleSockets = sockets;
        idleSockets = options.idleSockets;
        await measure(
          {
            options,
            backend,
            kinds: ["chp", "baseline"],
            targetOptions: { baselineBin: options.baselineBin },
            log,
          },
          point,
        );
      } catch (err) {
        log(`  ${commit}: not measured: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      points.push(point);
      log(tableLine(point));
    }
  } finally {
    await backend.stop();
    await stopAll();
  }
  log(`\n${points.map(tableLine).join("\n")}`);
  const base = path.join(RESULTS_DIR, `commits-${started.replace(/[:.]/g, "-")}`);
  const run = {
    startedAt: started,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    idleSockets,
    points,
  };
  await writeFile(`${base}.json`, JSON.stringify(run, null, 2) + "\n");
  await writeFile(`${base}.svg`, chart(points, started, idleSockets));
  log(`\nwrote ${base}.json, ${base}.svg`);
  return 0;
}

process.exitCode = await main();
