import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import type { Identity } from "./identity.js";
import type { UserVolumes } from "./volumes.js";

/** The host's files, as far as the plan looks at them. */
export interface HostFiles {
  isFile(path: string): boolean;
}

/** The notice files the notebook's notice extension shows (memory use, activity limit, a sticky message). */
export const NOTICE_FILES = ["notice_memory.txt", "notice_active.txt", "notice_sticky.txt"] as const;

/**
 * The container's `Binds`, in this order: the home (same path inside), the visible task volumes, the visible
 * submit volumes (at `<work dir>/<volumes dir>/<volume name>`), then each notice file the host has, read-only,
 * at `<work dir>/.<file>`. Personal volumes are folders in the home and need no mount.
 */
export function planBinds(
  identity: Identity,
  volumes: UserVolumes,
  policy: SpawnerPolicy,
  hostFiles: HostFiles,
): string[] {
  const volumeBinds = [...volumes.task, ...volumes.submit].map(
    ({ name }) => `${name}:${identity.workDir}/${policy.volumesDir}/${name}:rw`,
  );
  const noticeBinds = NOTICE_FILES.flatMap((file) => {
    const source = `${policy.noticeDir}/${file}`;
    return hostFiles.isFile(source) ? [`${source}:${identity.workDir}/.${file}:ro`] : [];
  });
  return [`${identity.home}:${identity.home}:rw`, ...volumeBinds, ...noticeBinds];
}

/** The container's `Volumes`: every bind target, sorted. */
export function mountPoints(binds: readonly string[]): Record<string, Record<string, never>> {
  const targets = binds.map((bind) => bind.split(":")[1]!).sort();
  return Object.fromEntries(targets.map((target) => [target, {}]));
}
