import { LOAD_CORE, runTool } from "./children.js";

/** What one wrk run reports (latencies in ms, throughput in bytes/s). */
export interface WrkResult {
  requests: number;
  requestsPerSecond: number;
  bytesPerSecond: number;
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  /** Socket errors (connect/read/write/timeout) plus non-2xx/3xx responses. */
  errors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const UNIT_BYTES: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function durationMs(text: string | undefined): number | undefined {
  const m = text === undefined ? null : /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}

function percentileLine(output: string, p: number): number | undefined {
  const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, "m").exec(output);
  return durationMs(m?.[1]);
}

/** Parses wrk 4's summary (run with `--latency`); undefined when the text is not one. */
export function parseWrkOutput(output: string): WrkResult | undefined {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const transfer = /^Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB|TB)/m.exec(output);
  const requests = /^\s*(\d+) requests in/m.exec(output);
  const p50 = percentileLine(output, 50);
  const p75 = percentileLine(output, 75);
  const p90 = percentileLine(output, 90);
  const p99 = percentileLine(output, 99);
  if (!rps || !transfer || !requests || p50 === undefined || p75 === undefined) return undefined;
  if (p90 === undefined || p99 === undefined) return undefined;
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const errors =
    (socketErrors ? socketErrors.slice(1).reduce((s, v) => s + Number(v), 0) : 0) + Number(non2xx?.[1] ?? 0);
  return {
    requests: Number(requests[1]),
    requestsPerSecond: Number(rps[1]),
    bytesPerSecond: Number(transfer[1]) * UNIT_BYTES[transfer[2]],
    latencyMs: { p50, p75, p90, p99 },
    errors,
  };
}

export interface WrkOptions {
  url: string;
  connections: number;
  durationS: number;
  /** Path of a Lua script (e.g. to spread requests over many routes). */
  script?: string;
}

/** One wrk thread on the load core (`wrk -t1 -c50`): the other core is the proxy's. */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    "--latency",
    "--timeout",
    "10s",
  ];
  if (options.script) args.push("-s", options.script);
  const output = await runTool("wrk", [...args, options.url], { core: LOAD_CORE });
  const result = parseWrkOutput(output);
  if (!result) throw new Error(`could not read wrk output:\n${output}`);
  return result;
}
