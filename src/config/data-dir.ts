import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError } from "./config-error.js";

/**
 * Creates the data folder (mode 0700) and checks it is writable, before anything else uses it. Components are
 * created one by one: Node's recursive mkdir never returns for some unwritable paths (e.g. under /proc).
 */
export function prepareDataDir(dir: string): void {
  const missing: string[] = [];
  let existing = dir;
  while (!exists(existing)) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  try {
    for (const path of missing) mkdirSync(path, { mode: 0o700 });
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new ConfigError(
      `--data-dir ${dir}: cannot use it as the state folder (${(error as Error).message})`,
    );
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
