import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Configuration for a Podman that keeps all of its state inside one folder, so that a test's Podman neither
 * reads nor writes /var/lib/containers, /run/libpod or /dev/shm, and several can run side by side.
 *
 * Why each setting, as found on the test machines (root in a VM, cgroup v1, Podman 4.3 from Debian bookworm):
 * - runtime `runc`, `cgroupfs` manager: there is no systemd to delegate cgroups to, and crun is not installed.
 * - default ulimits: Podman's defaults (nofile 1048576, nproc 4194304) exceed the hard limits this process
 *   runs under, and without CAP_SYS_RESOURCE runc cannot raise them, so every container start fails with
 *   "setrlimit … operation not permitted". They are set to 20000 open files and 1000 processes (Linux counts
 *   processes per user, and does not limit root), or lower if this process's own hard limits are lower. (The
 *   hard limits alone are not enough: Podman runs conmon with at most 32768 processes here.)
 * - `lock_type = "file"`: the default shared-memory locks (/dev/shm/libpod_lock) are one table per machine,
 *   shared by every rootful Podman; file locks live in `tmp_dir`.
 * - `events_logger = "file"`: there is no journald.
 * - `cni_plugin_dirs` points at an empty folder: a container on Podman's default bridge network would add
 *   interfaces and iptables rules to the host that outlive a crashed test, so that network mode is made to
 *   fail; tests name their network mode (`slirp4netns…` or `none`).
 * - no `static_dir`: Podman's database then lives in the graph root (`graph/libpod`), where the clean-up
 *   process conmon starts when a container exits (`podman --root <graph root> container cleanup`) looks for it;
 *   a database elsewhere made that process miss every container, so `AutoRemove` never removed one.
 * - storage driver `vfs`: it needs no kernel mount (overlay works on the test machines too, but leaves mounts
 *   behind when a test crashes); its cost is a copy of the image per container (about 2 s for the Jupyter image).
 */
export interface PodmanRoot {
  /** Everything of this Podman lives below it. */
  root: string;
  /** The environment that makes the `podman` command use this root's configuration. */
  env: NodeJS.ProcessEnv;
}

/** Writes the configuration files for a Podman rooted at `root` (created if missing). */
export function preparePodmanRoot(root: string, imageStores: readonly string[] = []): PodmanRoot {
  const containersConfPath = join(root, "containers.conf");
  const storageConfPath = join(root, "storage.conf");
  for (const dir of [root, join(root, "scratch"), join(root, "no-cni-plugins")])
    mkdirSync(dir, { recursive: true });
  writeFileSync(containersConfPath, containersConf(root));
  writeFileSync(storageConfPath, storageConf(root, imageStores));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_CONF: containersConfPath,
    CONTAINERS_STORAGE_CONF: storageConfPath,
    // `podman import` stages its copy of the archive in TMPDIR
    TMPDIR: join(root, "scratch"),
  };
  return { root, env };
}

/** `containers.conf` for a Podman rooted at `root`. */
export function containersConf(root: string, limits = containerLimits()): string {
  return [
    "[containers]",
    `default_ulimits = ["nofile=${limits.nofile}:${limits.nofile}", "nproc=${limits.nproc}:${limits.nproc}"]`,
    'log_driver = "k8s-file"',
    "",
    "[engine]",
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = ${toml(join(root, "events.log"))}`,
    'lock_type = "file"',
    `tmp_dir = ${toml(join(root, "tmp"))}`,
    `volume_path = ${toml(join(root, "volumes"))}`,
    "",
    "[network]",
    `network_config_dir = ${toml(join(root, "networks"))}`,
    `cni_plugin_dirs = [${toml(join(root, "no-cni-plugins"))}]`,
    "",
  ].join("\n");
}

/**
 * `storage.conf` with the graph and run roots below `root`. `imageStores` are read-only image stores (graph
 * roots built once and cached, see container-images.ts): their images are usable without being copied in.
 */
export function storageConf(root: string, imageStores: readonly string[] = []): string {
  return [
    "[storage]",
    'driver = "vfs"',
    `graphroot = ${toml(join(root, "graph"))}`,
    `runroot = ${toml(join(root, "run"))}`,
    "",
    "[storage.options]",
    `additionalimagestores = [${imageStores.map(toml).join(", ")}]`,
    "",
  ].join("\n");
}

export interface ContainerLimits {
  nofile: number;
  nproc: number;
}

/** The containers' limits: 20000 open files and 1000 processes, or this process's hard limits if lower. */
export function containerLimits(limitsText = readFileSync("/proc/self/limits", "utf8")): ContainerLimits {
  const hard = (label: string, wanted: number): number => {
    const line = limitsText.split("\n").find((l) => l.startsWith(label));
    const value = line?.slice(label.length).trim().split(/\s+/)[1];
    if (value === undefined) throw new Error(`no "${label}" line in /proc/self/limits`);
    return value === "unlimited" ? wanted : Math.min(Number(value), wanted);
  };
  return { nofile: hard("Max open files", 20000), nproc: hard("Max processes", 1000) };
}

function toml(value: string): string {
  return JSON.stringify(value);
}
