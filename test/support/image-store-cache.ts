import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { preparePodmanRoot, type PodmanRoot } from "./podman-config.js";
import { sleep } from "./wait.js";

/**
 * Where built test images are kept between test files and runs: the repository's `tmp/container-images/`
 * (ignored by git). Each image is a read-only Podman image store (a storage graph root) named
 * `<image>-<key>`, the key being a hash of everything the image is built from, so a changed input builds anew.
 */
export const IMAGE_CACHE_DIR = fileURLToPath(new URL("../../../tmp/container-images/", import.meta.url));

export interface CachedStore {
  /** The graph root to list in a Podman's `additionalimagestores`. */
  store: string;
  /** How long the build took; absent when the store came from the cache. */
  buildMs?: number;
}

/**
 * The image store `<image>-<key>`, built by `build` (which imports into the given Podman root's storage) if it
 * is not cached yet. One test process builds while the others wait, so two test files starting together do
 * not build the same image twice.
 */
export async function cachedImageStore(
  image: string,
  key: string,
  build: (podman: PodmanRoot) => Promise<void>,
): Promise<CachedStore> {
  mkdirSync(IMAGE_CACHE_DIR, { recursive: true });
  const store = join(IMAGE_CACHE_DIR, `${image}-${key}`);
  const lock = `${store}.lock`;
  while (!existsSync(store)) {
    if (!takeLock(lock)) {
      await sleep(250);
      continue;
    }
    try {
      if (existsSync(store)) break;
      const started = Date.now();
      const staging = mkdtempSync(join(IMAGE_CACHE_DIR, `.staging-${image}-`));
      try {
        await build(preparePodmanRoot(staging));
        // the graph root holds no absolute paths, so it can move to its final place in one step
        renameSync(join(staging, "graph"), store);
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
      removeOtherKeys(image, key);
      return { store, buildMs: Date.now() - started };
    } finally {
      rmSync(lock, { force: true });
    }
  }
  return { store };
}

/** Creates the lock file holding our pid; false if another live process holds it (a dead holder's is removed). */
function takeLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  let holder: number;
  try {
    holder = Number(readFileSync(lock, "utf8"));
  } catch {
    return false; // released meanwhile
  }
  if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) rmSync(lock, { force: true });
  return false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Older builds of `image` (other keys) are outdated once a new one exists. */
function removeOtherKeys(image: string, key: string): void {
  for (const entry of readdirSync(IMAGE_CACHE_DIR)) {
    if (entry.startsWith(`${image}-`) && entry !== `${image}-${key}` && !entry.endsWith(".lock")) {
      rmSync(join(IMAGE_CACHE_DIR, entry), { recursive: true, force: true });
    }
  }
}
