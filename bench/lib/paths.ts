import { fileURLToPath } from "node:url";
import path from "node:path";

// Compiled to dist/bench/lib/, so the checkout's root is three levels up from the emitted file.
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const RESULTS_DIR = path.join(REPO_ROOT, "bench", "results");
/** Where the agent entry points (backend, load clients) are emitted. */
export const AGENT_DIR = fileURLToPath(new URL(".", import.meta.url));
/** CHP 5.3.0 from the pinned dev dependency, run by node directly so its pid is the measured process. */
export const CHP_BIN = path.join(
  REPO_ROOT,
  "node_modules",
  "configurable-http-proxy",
  "bin",
  "configurable-http-proxy",
);
