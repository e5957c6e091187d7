import { createRequire } from "node:module";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "../log/logger.js";
import type { RouteStore } from "./route-store.js";

type StoreClass = new (
  options: Record<string, unknown>,
) => Partial<RouteStore> & { cleanPath?: (path: string) => string };

const REQUIRED: Array<keyof RouteStore> = ["get", "getTarget", "getAll", "add", "update", "remove"];

/**
 * CHP's `--storage-backend <module>` contract: a module (package name or path) whose
 * default export is a class; `new Store(options)`; the methods of RouteStore, sync or async.
 */
export async function loadStorageBackend(name: string, log: Logger): Promise<RouteStore> {
  const specifier = isAbsolute(name) || name.startsWith(".") ? resolve(name) : name;
  let exported: unknown;
  try {
    exported = createRequire(resolve("package.json"))(specifier);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ERR_REQUIRE_ESM" && code !== "ERR_REQUIRE_ASYNC_MODULE") throw error;
    exported = await import(isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier);
  }
  const candidate = (exported as { default?: unknown }).default ?? exported;
  if (typeof candidate !== "function") throw new Error(`Storage backend '${name}' does not export a class`);
  const store = new (candidate as StoreClass)({ log });
  const missing = REQUIRED.filter((method) => typeof store[method] !== "function");
  if (missing.length > 0) throw new Error(`Storage backend '${name}' lacks ${missing.join(", ")}`);
  log.info("Using storage backend %s (%s)", name, store.constructor.name);
  return store as RouteStore;
}
