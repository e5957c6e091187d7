import { chmod, chown, lstat, mkdir, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { dirname } from "node:path";
import type { HostDirectory } from "../plan/plan-container.js";

/** A host folder of the plan that could not be made ready; the message names it. */
export class HostDirectoryError extends Error {
  override readonly name = "HostDirectoryError";
  readonly code = "HOST_DIRECTORY_FAILED";
}

/**
 * Creates the plan's host folders that are missing, in the plan's order (each one's parent first), with
 * their owner and mode; folders that exist are left as they are. The folder above the first must exist: the
 * spawner creates no other folders.
 *
 * A user owns their home, so an entry in it may be a symbolic link the user made (`jupyter` → `/etc`), and
 * the next `mkdir` and `chown` would act wherever it points. A link is therefore followed only in a folder
 * that only root can change (owned by root, not writable by group or others); anywhere else the spawn is
 * refused.
 */
export async function ensureHostDirectories(directories: readonly HostDirectory[]): Promise<void> {
  for (const directory of directories) await ensureDirectory(directory);
}

async function ensureDirectory({ path, uid, gid, mode }: HostDirectory): Promise<void> {
  const parent = dirname(path);
  const parentStats = await stat(parent).catch((error: Error) => {
    throw new HostDirectoryError(
      `cannot create ${path}: its folder ${parent} is not usable: ${error.message}`,
    );
  });
  if (!parentStats.isDirectory())
    throw new HostDirectoryError(`cannot create ${path}: ${parent} is not a folder`);
  const existing = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new HostDirectoryError(`cannot look at ${path}: ${error.message}`);
  });
  if (existing) {
    if (existing.isSymbolicLink() && !onlyRootChanges(parentStats)) {
      throw new HostDirectoryError(
        `${path} is a symbolic link in a folder that users other than root can change: it is not followed`,
      );
    }
    const target = existing.isSymbolicLink() ? await stat(path).catch(() => undefined) : existing;
    if (!target?.isDirectory()) throw new HostDirectoryError(`${path} exists and is not a folder`);
    return;
  }
  try {
    await mkdir(path, { mode });
    // mkdir's mode is reduced by the process's umask. Set while the proxy still owns the folder: after the
    // chown, only root (or CAP_FOWNER) could.
    await chmod(path, mode);
    await chown(path, uid, gid);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "EPERM"
        ? " (creating homes for other users needs root, or CAP_CHOWN and write access to the folder; otherwise create them beforehand)"
        : "";
    throw new HostDirectoryError(
      `cannot create ${path} for ${uid}:${gid}: ${(error as Error).message}${reason}`,
    );
  }
}

function onlyRootChanges(folder: Stats): boolean {
  return folder.uid === 0 && (folder.mode & 0o022) === 0;
}
