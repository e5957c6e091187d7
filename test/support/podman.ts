import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { preparePodmanRoot } from "./podman-config.js";
import { startProcess, type RunningProcess } from "./proxy-process.js";
import type { Teardown } from "./temp-dir.js";
import { waitUntil } from "./wait.js";

const run = promisify(execFile);

/**
 * A real Podman API service (`podman system service`, Docker-compatible Engine API) on a UNIX socket in a
 * temp folder that also holds all of its state: storage, volumes, locks, events. See podman-config.ts for why
 * each setting is what it is.
 */
export interface PodmanService {
  socketPath: string;
  root: string;
  /** Environment for the `podman` command to act on this service's storage. */
  env: NodeJS.ProcessEnv;
  /** Runs `podman <args>` on this service's storage; resolves with its stdout. */
  podman(args: string[]): Promise<string>;
  /** Removes every container, stops the service, ends any process left behind, removes the folder. */
  stop(): Promise<void>;
}

export interface PodmanServiceOptions {
  /** Read-only image stores (see container-images.ts) whose images the service can run. */
  imageStores?: readonly string[];
}

/** Starts a Podman service for one test file; stopped (and everything removed) at `t`'s teardown. */
export async function startPodmanService(
  t: Teardown,
  options: PodmanServiceOptions = {},
): Promise<PodmanService> {
  const root = mkdtempSync(join(tmpdir(), "ltictr-podman-"));
  const { env } = preparePodmanRoot(root, options.imageStores);
  const socketPath = join(root, "podman.sock");
  const service = startProcess("podman", ["system", "service", "--time=0", `unix://${socketPath}`], { env });
  const podman = async (args: string[]) => (await run("podman", args, { env, maxBuffer: 64 << 20 })).stdout;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= stopService(root, service, podman));
  t.teardown(stop);
  try {
    await waitUntil(
      async () => service.child.exitCode === null && (await pingAnswers(socketPath)),
      `the Podman service on ${socketPath}`,
      30000,
      100,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; its output:\n${service.stdout()}${service.stderr()}`);
  }
  return { socketPath, root, env, podman, stop };
}

async function stopService(
  root: string,
  service: RunningProcess,
  podman: (args: string[]) => Promise<string>,
): Promise<void> {
  // Containers outlive the service (each has its own conmon), so they go first.
  await podman(["rm", "--all", "--force", "--time", "0"]).catch(() => undefined);
  await service.stop(5000);
  // A removed container's conmon still runs `podman container cleanup` for a moment.
  await waitUntil(
    () => processesMentioning(root).size === 0,
    `the end of the processes of ${root}`,
    10000,
    100,
  ).catch(() => undefined);
  const leftovers = processesMentioning(root);
  for (const pid of leftovers.keys()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // ended meanwhile
    }
  }
  for (const mountPoint of mountsBelow(root).reverse()) {
    await run("umount", ["--lazy", mountPoint]).catch(() => undefined);
  }
  rmSync(root, { recursive: true, force: true });
  if (leftovers.size > 0) {
    throw new Error(
      `processes of the Podman in ${root} were left behind: ${[...leftovers.values()].join("; ")}`,
    );
  }
}

/** Processes whose command line names `path` (a conmon names its container's folder), by pid. */
export function processesMentioning(path: string): Map<number, string> {
  const found = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {
      continue; // ended meanwhile
    }
    if (commandLine.includes(path)) found.set(Number(entry), commandLine.slice(0, 200));
  }
  return found;
}

function mountsBelow(path: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter(
      (mountPoint): mountPoint is string => mountPoint !== undefined && mountPoint.startsWith(`${path}/`),
    );
}

function pingAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
