import { startCpuMeter } from "../../test/support/proc-stats.js";
import { resultNumber, runAgent } from "./agent-io.js";
import type { WireFormat } from "./kernel-messages.js";
import { wsUrl, type Target } from "./targets.js";
import { runWrk } from "./wrk.js";

export interface Loaded {
  requestsPerSecond: number;
  cpuPerRequest: number | undefined;
}

/**
 * wrk on several targets at the same moment, each with its own `connections`; with each target's CPU per request.
 * Targets that share the proxy core and are loaded at once see the same host drift, so their ratio is that of
 * their per-request costs (consecutive runs on these shared VMs differ by up to ±15 %).
 */
export async function loadTogether(
  targets: Target[],
  options: { connections: number; durationS: number; path?: string; script?: string },
): Promise<Loaded[]> {
  const meters = targets.map((target) => startCpuMeter(target.pid));
  const results = await Promise.all(
    targets.map((target) =>
      runWrk({
        url: target.url + (options.path ?? ""),
        connections: options.connections,
        durationS: options.durationS,
        script: options.script,
      }),
    ),
  );
  return results.map((result, i) => {
    if (result.errors) throw new Error(`${targets[i].kind}: ${result.errors} errors under wrk`);
    const used = meters[i]();
    return {
      requestsPerSecond: result.requestsPerSecond,
      cpuPerRequest: used === undefined ? undefined : used / result.requests,
    };
  });
}

export interface Streamed {
  messagesPerSecond: number;
  cpuPerMessage: number | undefined;
}

/**
 * Scenario 3's kernel streams on several targets at the same moment, each through its own `ws-stream-client` with
 * the same options (`requests` execute_requests per socket, each answered by `msgsPerRequest` messages, paced for
 * `rate` messages/s when given); with each target's CPU per message relayed.
 */
export async function streamTogether(
  targets: Target[],
  options: { format: WireFormat; sockets: number; requests: number; msgsPerRequest: number; rate?: number },
): Promise<Streamed[]> {
  const meters = targets.map((target) => startCpuMeter(target.pid));
  const results = await Promise.all(
    targets.map((target) =>
      runAgent("ws-stream-client", {
        url: wsUrl(target),
        connections: options.sockets,
        requests: options.requests,
        "msgs-per-request": options.msgsPerRequest,
        format: options.format,
        rate: options.rate ?? 0,
      }),
    ),
  );
  return results.map((result, i) => {
    const used = meters[i]();
    const messages = resultNumber(result, "messages");
    return {
      messagesPerSecond: resultNumber(result, "messagesPerSecond"),
      cpuPerMessage: used === undefined || messages === 0 ? undefined : used / messages,
    };
  });
}

export function describeLoad(loaded: Loaded): string {
  const cpu = loaded.cpuPerRequest === undefined ? "" : `, ${loaded.cpuPerRequest.toFixed(0)} µs CPU/req`;
  return `${Math.round(loaded.requestsPerSecond)} req/s${cpu}`;
}
