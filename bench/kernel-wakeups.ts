/**
 * Why a proxy's kernel msg/s with many sockets depends on how soon it reads (not part of `npm test` or `npm run
 * bench`; needs Linux `perf` with access to tracepoints). Each proxy alone streams scenario 3's kernel messages
 * at full speed while `perf stat` counts, per message relayed: the proxy's reads, event-loop wake-ups
 * (`epoll_pwait`) and context switches, and the context switches and system calls of the load core (the stream
 * client and the fake kernel share it). The fake kernel writes each message with its own system call whichever
 * proxy is in between, so what the load core does beyond that is set by the proxy's writes to the client: a
 * proxy that reads each socket as soon as a message arrives writes smaller pieces more often, and every piece
 * that finds the client asleep wakes it, in time the fake kernel on the same core needed. ltictr-proxy holds an
 * upstream that just sent a small piece until its `--websocket-hold` window ends; `LTICTR_WEBSOCKET_HOLD=0` in this
 * script's environment (the proxies inherit it) shows it reading at once.
 *
 *   npm run build && node dist/bench/kernel-wakeups.js [--targets ltictr,chp] [--baseline ../old-checkout]
 *       [--sockets 50] [--format v1|legacy] [--messages 100000] [--runs 2]
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { runAgent, resultNumber } from "./lib/agent-io.js";
import { startBackend } from "./lib/backend.js";
import { installCleanup, LOAD_CORE, pinningEnabled, pinSelf, stopAll } from "./lib/children.js";
import { alternatingOrder } from "./lib/scenario.js";
import { failFor, positiveWholeNumbers } from "./lib/script-args.js";
import {
  startTargets,
  stopTargets,
  TARGET_KINDS,
  wsUrl,
  type Target,
  type TargetKind,
} from "./lib/targets.js";
import { startCpuMeter } from "../test/support/proc-stats.js";

const { values } = parseArgs({
  options: {
    targets: { type: "string", default: "ltictr,chp" },
    baseline: { type: "string" },
    sockets: { type: "string", default: "50" },
    format: { type: "string", default: "v1" },
    messages: { type: "string", default: "100000" },
    runs: { type: "string", default: "2" },
  },
});

const fail = failFor("kernel-wakeups");

const kinds = values.targets.split(",").map((kind) => {
  if (kind === "direct" || !(TARGET_KINDS as readonly string[]).includes(kind))
    fail(`--targets takes chp, ltictr and baseline, got '${kind}'`);
  return kind as TargetKind;
});
if (kinds.includes("baseline") && values.baseline === undefined)
  fail("the baseline target needs --baseline <checkout dir> (a compiled checkout of another build)");
if (values.format !== "v1" && values.format !== "legacy")
  fail(`--format must be v1 or legacy, got '${values.format}'`);
const format = values.format;
const { sockets, messages, runs } = positiveWholeNumbers(
  { sockets: values.sockets, messages: values.messages, runs: values.runs },
  fail,
);
if (!pinningEnabled())
  fail("needs ≥ 2 CPUs and taskset: the load core's counts are only the load's when it is pinned");

/** Each execute_request is answered by 99 iopub outputs and one shell reply, as in scenario 3. */
const MSGS_PER_REQUEST = 100;
const PROXY_EVENTS = ["syscalls:sys_enter_read", "syscalls:sys_enter_epoll_pwait", "context-switches"];
const LOAD_EVENTS = ["context-switches", "raw_syscalls:sys_enter"];

/** A running `perf stat`: `stop()` ends it and resolves with each event's count. */
interface Counting {
  stop(): Promise<Map<string, number>>;
}

function count(events: string[], scope: string[]): Counting {
  const perf: ChildProcess = spawn("perf", ["stat", "-x,", "-e", events.join(","), ...scope], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let report = "";
  perf.stderr?.on("data", (chunk: Buffer) => (report += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => perf.on("close", resolve));
  perf.on("error", (error) => fail(`cannot run perf: ${error.message}`));
  return {
    async stop() {
      perf.kill("SIGINT");
      await exited;
      const counts = new Map<string, number>();
      // `perf stat -x,` prints one line per event: count, unit, event name, …
      for (const line of report.split("\n")) {
        const [value, , event] = line.split(",");
        if (event !== undefined && value !== undefined && /^\d+$/.test(value))
          counts.set(event, Number(value));
      }
      for (const event of events)
        if (!counts.has(event))
          fail(`perf counted no '${event}' (permissions?): ${report.trim().slice(0, 300)}`);
      return counts;
    },
  };
}

function perMessage(counts: Map<string, number>, event: string, relayed: number): string {
  return ((counts.get(event) ?? NaN) / relayed).toFixed(3);
}

/** Streams about `count` kernel messages through `target` over `--sockets` sockets; the stream client's result. */
function stream(target: Target, count: number): Promise<unknown> {
  return runAgent("ws-stream-client", {
    url: wsUrl(target),
    connections: sockets,
    requests: Math.max(1, Math.round(count / sockets / MSGS_PER_REQUEST)),
    "msgs-per-request": MSGS_PER_REQUEST,
    format,
  });
}

async function measure(target: Target): Promise<void> {
  if (target.pid === undefined) fail(`${target.kind} has no process id`);
  const proxy = count(PROXY_EVENTS, ["-p", String(target.pid)]);
  const load = count(LOAD_EVENTS, ["-a", "-C", String(LOAD_CORE)]);
  // perf needs a moment to attach before the stream starts.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const cpu = startCpuMeter(target.pid);
  const result = await stream(target, messages);
  const used = cpu();
  const [atProxy, atLoad] = await Promise.all([proxy.stop(), load.stop()]);
  const relayed = resultNumber(result, "messages");
  const rate = Math.round(resultNumber(result, "messagesPerSecond"));
  console.log(
    `${target.kind.padEnd(8)} ${rate} msg/s, ${used === undefined ? "–" : (used / relayed).toFixed(2)} µs CPU/msg | ` +
      `proxy: reads ${perMessage(atProxy, "syscalls:sys_enter_read", relayed)}, ` +
      `wake-ups ${perMessage(atProxy, "syscalls:sys_enter_epoll_pwait", relayed)}, ` +
      `context switches ${perMessage(atProxy, "context-switches", relayed)} | ` +
      `load core: context switches ${perMessage(atLoad, "context-switches", relayed)}, ` +
      `system calls ${perMessage(atLoad, "raw_syscalls:sys_enter", relayed)}`,
  );
}

installCleanup();
pinSelf();
const backend = await startBackend({ msgsPerRequest: MSGS_PER_REQUEST, contentBytes: 1024 });
const baselineBin =
  values.baseline === undefined ? undefined : path.resolve(values.baseline, "bin", "ltictr-proxy.js");
try {
  const targets = await startTargets(kinds, backend.url, { baselineBin });
  try {
    console.log(
      `${format} kernel streams on ${sockets} socket(s), ${messages} messages per run; counts per message`,
    );
    for (const target of targets.values()) {
      // Unmeasured first: the relay's hot paths compiled, as scenario 3 does.
      await stream(target, messages / 2);
    }
    for (let run = 0; run < runs; run++)
      for (const kind of alternatingOrder(kinds, run)) await measure(targets.get(kind) as Target);
  } finally {
    await stopTargets(targets);
  }
} finally {
  await backend.stop();
  await stopAll();
}
