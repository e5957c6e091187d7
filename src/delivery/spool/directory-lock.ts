import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

export class SpoolBusyError extends Error {
  override readonly name = "SpoolBusyError";
  readonly code = "SPOOL_BUSY";
}

/** Folders locked by this process: a second open in the same process is refused like one from another. */
const heldDirs = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * `<dir>/lock` holding the owner's pid: one process at a time owns a spool. A lock left by a process that is
 * gone (crash, SIGKILL) is taken over.
 */
export class DirectoryLock {
  private constructor(private readonly dir: string) {}

  /** Throws SpoolBusyError when a live process (this one included) holds the folder. */
  static acquire(dir: string): DirectoryLock {
    const path = join(dir, "lock");
    if (heldDirs.has(dir)) throw new SpoolBusyError(`delivery spool ${dir} is already open in this process`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        heldDirs.add(dir);
        return new DirectoryLock(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
          throw new SpoolBusyError(`delivery spool ${dir} is in use by process ${pid}`);
        }
        unlinkSync(path);
      }
    }
    throw new SpoolBusyError(`cannot lock delivery spool ${dir}`);
  }

  release(): void {
    if (!heldDirs.delete(this.dir)) return;
    try {
      unlinkSync(join(this.dir, "lock"));
    } catch {
      // Already gone; the next acquire checks the pid anyway.
    }
  }
}
