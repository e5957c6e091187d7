import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { dependencyClosure, installedPackages, packageFiles } from "./debian-closure.js";
import { cachedImageStore } from "./image-store-cache.js";
import type { PodmanRoot } from "./podman-config.js";

/**
 * Container images for the tests, built on this machine without any network (nothing can be pulled here) and
 * cached in the repository's `tmp/container-images/` (see image-store-cache.ts). Pass `store` to
 * `startPodmanService({ imageStores: [...] })` and use `name` as the create body's `Image`.
 */
export interface TestImage {
  name: string;
  /** The read-only image store holding it. */
  store: string;
  /** How long building took; absent when it came from the cache. */
  buildMs?: number;
}

/**
 * A 2 MB image holding Debian's static BusyBox (`sh`, `sleep`, `httpd`, `wget`, `nc`, … as /bin links), for
 * tests of the engine driver. Default command `sh`.
 */
export async function busyboxImage(): Promise<TestImage> {
  const version = packageVersion("busybox-static");
  const key = hash(`busybox-image-1\n${version}`);
  const name = `localhost/ltictr-test-busybox:${key}`;
  const { store, buildMs } = await cachedImageStore("ltictr-test-busybox", key, async (podman) => {
    const rootfs = join(podman.root, "scratch", "rootfs");
    mkdirSync(join(rootfs, "bin"), { recursive: true });
    copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
    chmodSync(join(rootfs, "bin", "busybox"), 0o755);
    const applets = execFileSync("/bin/busybox", ["--list"], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
    for (const applet of applets) {
      if (applet !== "busybox") symlinkSync("busybox", join(rootfs, "bin", applet));
    }
    writeSkeleton(rootfs);
    await importRootFs(podman, name, ["-C", rootfs, "."], ['CMD ["sh"]']);
  });
  return { name, store, ...(buildMs === undefined ? {} : { buildMs }) };
}

/** What the Jupyter image is made of: these installed Debian packages and what they depend on. */
const JUPYTER_ROOTS = ["python3-jupyter-server", "python3-ipykernel", "jupyterhub", "dash", "coreutils"];

/**
 * Dependencies a single-user server does not use, left out to keep the image small: Node.js and its modules
 * (JupyterHub's proxy), the debugger stack of `python3-pydevd`, and MathJax (rendering only).
 */
const JUPYTER_EXCLUDED = new Set([
  "nodejs",
  "node-configurable-http-proxy",
  "gdb",
  "gdb-minimal",
  "python3-pydevd",
  "libjs-mathjax",
  "fonts-mathjax",
]);

/**
 * Stand-in for the single-user image's start script (`start-notebook.sh`, the command the spawner plans):
 * runs JupyterHub's single-user server with the spawner's arguments. The container's user may have no entry
 * in this image's /etc/passwd, so HOME follows `USER_HOME` (the home folder the spawner binds) when set;
 * Jupyter refuses to run as root without `--allow-root`.
 */
const START_NOTEBOOK = `#!/bin/sh
if [ -n "$USER_HOME" ]; then
  export HOME="$USER_HOME"
  cd "$HOME" || exit 1
fi
if [ "$(id -u)" = 0 ]; then set -- --allow-root "$@"; fi
exec jupyterhub-singleuser "$@"
`;

const JUPYTER_CHANGES = [
  'CMD ["start-notebook.sh"]',
  // JupyterHub 3's single-user server extends the classic notebook unless told to use jupyter_server
  "ENV JUPYTERHUB_SINGLEUSER_APP=jupyter_server.serverapp.ServerApp",
  "EXPOSE 8888",
];

/**
 * An image that runs JupyterHub's single-user server (JupyterHub 3.0, jupyter_server 1.23, ipykernel 6.17 for
 * Python 3.11): the root file system is the installed files of the Debian packages above and their
 * dependencies, copied from this machine, plus `/usr/local/bin/start-notebook.sh`. About 290 MB.
 */
export async function jupyterImage(): Promise<TestImage> {
  const packages = dependencyClosure(await installedPackages(), JUPYTER_ROOTS, JUPYTER_EXCLUDED);
  const key = hash(
    [
      "jupyter-image-1",
      START_NOTEBOOK,
      ...JUPYTER_CHANGES,
      ...packages.map((p) => `${p.name}=${p.version}`),
    ].join("\n"),
  );
  const name = `localhost/ltictr-test-jupyter:${key}`;
  const { store, buildMs } = await cachedImageStore("ltictr-test-jupyter", key, async (podman) => {
    const hostFiles = packageFiles(packages);
    const listFile = join(podman.root, "scratch", "files");
    writeFileSync(listFile, hostFiles.map((path) => `${path}\0`).join(""));
    const extras = join(podman.root, "scratch", "extras");
    writeSkeleton(extras);
    const script = join(extras, "usr/local/bin/start-notebook.sh");
    mkdirSync(dirname(script), { recursive: true });
    writeFileSync(script, START_NOTEBOOK, { mode: 0o755 });
    const inHostList = new Set(hostFiles);
    const extraPaths = [
      ...SKELETON_PATHS,
      "usr",
      "usr/local",
      "usr/local/bin",
      "usr/local/bin/start-notebook.sh",
    ];
    await importRootFs(
      podman,
      name,
      [
        "--no-recursion",
        "-C",
        "/",
        "--null",
        "--verbatim-files-from",
        "-T",
        listFile,
        "-C",
        extras,
        ...extraPaths.filter((path) => !inHostList.has(path)),
      ],
      JUPYTER_CHANGES,
    );
  });
  return { name, store, ...(buildMs === undefined ? {} : { buildMs }) };
}

const SKELETON_PATHS = ["etc", "etc/passwd", "etc/group", "tmp", "root", "home"];

/** The few files an image needs besides programs: users root and nobody, a sticky /tmp, root's home. */
function writeSkeleton(rootfs: string): void {
  for (const dir of ["etc", "tmp", "root", "home"]) mkdirSync(join(rootfs, dir), { recursive: true });
  chmodSync(join(rootfs, "tmp"), 0o1777);
  chmodSync(join(rootfs, "root"), 0o700);
  writeFileSync(
    join(rootfs, "etc", "passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
  );
  writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
}

/** `tar -c <tarArgs>` piped into `podman import`, with `changes` as the image's Dockerfile-style settings. */
async function importRootFs(
  podman: PodmanRoot,
  name: string,
  tarArgs: string[],
  changes: string[],
): Promise<void> {
  const tar = spawn("tar", ["-c", "-f", "-", ...tarArgs], { stdio: ["ignore", "pipe", "pipe"] });
  const importer = spawn("podman", ["import", ...changes.flatMap((c) => ["--change", c]), "-", name], {
    env: podman.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  tar.stdout.pipe(importer.stdin);
  const [tarResult, importResult] = await Promise.all([finished(tar), finished(importer)]);
  if (tarResult.code !== 0)
    throw new Error(`tar for ${name} failed (${tarResult.code}): ${tarResult.stderr}`);
  if (importResult.code !== 0) {
    throw new Error(`podman import of ${name} failed (${importResult.code}): ${importResult.stderr}`);
  }
}

function finished(child: ReturnType<typeof spawn>): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stdout?.resume();
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr: stderr.trim() }));
  });
}

function packageVersion(name: string): string {
  try {
    return execFileSync("dpkg-query", ["-W", "-f=${Version}", name], { encoding: "utf8" });
  } catch {
    throw new Error(`Debian package ${name} is not installed; run scripts/install-system-deps.sh`);
  }
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}
