import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import type { Readable } from "node:stream";

/** The built CLI, started exactly as a user starts it (`bin/ltictr-proxy.js`). */
/**
 * The binary under test: this checkout's, or another build's launcher named by PROXY_BIN_UNDER_TEST (to show that a
 * test fails on a build without the fix it covers).
 */
export const PROXY_BIN =
  process.env.PROXY_BIN_UNDER_TEST ?? fileURLToPath(new URL("../../../bin/ltictr-proxy.js", import.meta.url));

export interface RunningProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout+stderr match `pattern`; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name) once the process ends. */
  exited(): Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when gone. */
  stop(graceMs?: number): Promise<number | string>;
}

export function startProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): RunningProcess {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    notify();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
    notify();
  });
  const exit: Promise<number | string> = (
    child.exitCode !== null
      ? Promise.resolve(child.exitCode)
      : once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string)
  ).then(async (code) => {
    await outputRead(child);
    return code;
  });
  let done = false;
  void exit.then(() => {
    done = true;
    notify();
  });

  // Generous: on a loaded 2-core machine a Node process can take seconds to start; a hang is still caught.
  const waitFor = (pattern: RegExp, timeoutMs = 40000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(out + err)) {
          cleanup();
          resolve();
        } else if (done) {
          cleanup();
          reject(new Error(`process exited before ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const stop = async (graceMs = 5000) => {
    if (!done) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
    }
    return exit;
  };

  return { child, stdout: () => out, stderr: () => err, waitFor, exited: () => exit, stop };
}

/**
 * A child's exit can be reported before the last bytes of its stdout and stderr pipes were read (its last line, its
 * error message). Waits for both pipes to close, but not for long: a grandchild that inherited them may hold them.
 */
async function outputRead(child: ChildProcess): Promise<void> {
  const pipes = [child.stdout, child.stderr].filter((pipe) => pipe !== null && !pipe.closed);
  if (pipes.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(pipes.map((pipe) => once(pipe as Readable, "close"))),
    new Promise((resolve) => (timer = setTimeout(resolve, 1000))),
  ]);
  clearTimeout(timer);
}

/**
 * Starts the proxy CLI with `args` and `env` added to this process's environment (`undefined` removes a
 * variable); callers wait for their own readiness line. `bin` runs another script with node instead (the
 * conformance suite's reference run against CHP).
 */
export function startProxy(args: string[], env: NodeJS.ProcessEnv = {}, bin = PROXY_BIN): RunningProcess {
  return startProcess(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
}
