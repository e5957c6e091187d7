import { mkdtemp, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { PROXY_BIN, type RunningProcess } from "../../test/support/proxy-process.js";
import { PROXY_CORE, spawnTracked } from "./children.js";
import { CHP_BIN } from "./paths.js";
import { waitUntil } from "../../test/support/wait.js";
import { freePorts, portAccepts } from "./ports.js";

/**
 * The paths every scenario compares: no proxy, CHP 5.3.0, ltictr-proxy, and (with `--baseline <dir>`) another
 * build of ltictr-proxy started exactly like this one, to compare two builds in one run.
 */
export type TargetKind = "direct" | "chp" | "ltictr" | "baseline";
export const TARGET_KINDS: readonly TargetKind[] = ["direct", "chp", "ltictr", "baseline"];
/** The proxies that are builds of ltictr-proxy (they take its options and write captured records). */
export const LTICTR_BUILDS: readonly TargetKind[] = ["ltictr", "baseline"];

export interface Target {
  kind: TargetKind;
  /** Base URL clients use (`http://127.0.0.1:<port>`). */
  url: string;
  /** Base URL of the route API (proxies only). */
  apiUrl?: string;
  token: string;
  /** The measured process (proxies only). */
  pid?: number;
  /** JSON-lines file of captured records (ltictr-proxy only). */
  recordsFile?: string;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** Extra command-line options for ltictr-proxy. */
  ltictrArgs?: string[];
  /** Extra environment for the proxy. */
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Run ltictr-proxy under `node --cpu-prof`, writing its profile here when it stops. */
  profileDir?: string;
  /** The launcher of the `baseline` build (`<checkout>/bin/ltictr-proxy.js`). */
  baselineBin?: string;
  /**
   * Ports the process binds besides its listeners (its inspector's): the listeners' ports are picked apart from
   * them. Picked separately, the two could be the same free port, and the process failed with EADDRINUSE.
   */
  takenPorts?: number[];
}

async function startProxyProcess(
  kind: Exclude<TargetKind, "direct">,
  backendUrl: string,
  options: TargetOptions,
): Promise<Target> {
  const [port, apiPort] = await freePorts(2, options.takenPorts);
  const token = randomBytes(16).toString("hex");
  const common = [
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--api-ip",
    "127.0.0.1",
    "--api-port",
    String(apiPort),
    "--default-target",
    backendUrl,
  ];
  let dataDir: string | undefined;
  let recordsFile: string | undefined;
  let proc: RunningProcess;
  const env = { ...process.env, ...options.env, CONFIGPROXY_AUTH_TOKEN: token };
  if (kind === "chp") {
    proc = spawnTracked(process.execPath, [CHP_BIN, ...common], { core: PROXY_CORE, env });
  } else {
    dataDir = await mkdtemp(path.join(tmpdir(), "ltictr-bench-"));
    recordsFile = path.join(dataDir, "records.jsonl");
    const args = [
      ...common,
      "--data-dir",
      dataDir,
      "--records-file",
      recordsFile,
      ...(options.ltictrArgs ?? []),
    ];
    const node = options.profileDir ? ["--cpu-prof", "--cpu-prof-dir", options.profileDir] : [];
    const bin = kind === "baseline" ? options.baselineBin : PROXY_BIN;
    if (bin === undefined) throw new Error("the baseline target needs --baseline <checkout dir>");
    proc = spawnTracked(process.execPath, [...node, bin, ...args], { core: PROXY_CORE, env });
  }
  const stop = async () => {
    await proc.stop(3000);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    // Both print these on stdout once listening (CHP's readiness lines).
    await proc.waitFor(/Proxy API at/, options.readyTimeoutMs);
    await proc.waitFor(/Route added \/ ->/, options.readyTimeoutMs);
    // CHP logs both lines right after calling listen(), before the sockets are bound.
    for (const p of [port, apiPort])
      await waitUntil(() => portAccepts(p), `${kind} listening on port ${p}`, options.readyTimeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    kind,
    url: `http://127.0.0.1:${port}`,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    token,
    pid: proc.child.pid,
    recordsFile,
    stop,
  };
}

export async function startTarget(
  kind: TargetKind,
  backendUrl: string,
  options: TargetOptions = {},
): Promise<Target> {
  if (kind === "direct") return { kind, url: backendUrl, token: "", stop: async () => undefined };
  return startProxyProcess(kind, backendUrl, options);
}

/** Starts one target per kind; stops the ones already started if any fails. */
export async function startTargets(
  kinds: readonly TargetKind[],
  backendUrl: string,
  options: TargetOptions = {},
): Promise<Map<TargetKind, Target>> {
  const started = new Map<TargetKind, Target>();
  try {
    for (const kind of kinds) started.set(kind, await startTarget(kind, backendUrl, options));
  } catch (err) {
    await stopTargets(started);
    throw err;
  }
  return started;
}

export async function stopTargets(targets: Map<TargetKind, Target>): Promise<void> {
  await Promise.all([...targets.values()].map((t) => t.stop()));
}

/** `ws://` form of a target's base URL. */
export function wsUrl(target: Target): string {
  return target.url.replace(/^http/, "ws");
}
