import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import tap from "tap";
import { join } from "node:path";
import {
  startLoopbackProxy,
  type LoopbackProxy,
  type LoopbackProxyOptions,
} from "../support/loopback-proxy.js";
import { PROXY_BIN, startProxy, type RunningProcess } from "../support/proxy-process.js";
import { RedisServer } from "../support/redis-server.js";
import { tempDir, type Teardown } from "../support/temp-dir.js";
import { sleep } from "../support/wait.js";

/**
 * What only the conformance files need on top of test/support: the binary started as a user starts it (CHP's
 * flags, token in CONFIGPROXY_AUTH_TOKEN), or the reference CHP in its place.
 */

export const TOKEN = "conformance-secret";

/**
 * `CONFORMANCE_PROXY=chp` runs the suite against the reference configurable-http-proxy 5.3.0 from node_modules:
 * there only the checks of deliberate differences and fixed CHP bugs may fail, which shows the checks measure the
 * proxy and not the harness. Run such files with plain `node dist/test/conformance/<file>.js`: the tap runner's
 * process hooks keep CHP's extension-less ESM bin from loading.
 */
export const AGAINST_CHP = process.env.CONFORMANCE_PROXY === "chp";

/**
 * `CONFORMANCE_STORAGE=redis` runs the suite with the routes in Redis (`--storage-backend redis://…`, a key prefix
 * per proxy), against a redis-server this process starts: the CHP contract must hold on the shared store too.
 */
const sharedRedis =
  process.env.CONFORMANCE_STORAGE === "redis" && !AGAINST_CHP ? await RedisServer.start(tap) : undefined;

function storageArgs(args: string[]): string[] {
  if (!sharedRedis || args.includes("--storage-backend")) return [];
  return ["--storage-backend", sharedRedis.url(), "--storage-key-prefix", `conformance-${randomUUID()}:`];
}

function proxyCommand(): string {
  if (!AGAINST_CHP) return PROXY_BIN;
  const chpPackage = createRequire(import.meta.url).resolve("configurable-http-proxy/package.json");
  return join(chpPackage, "..", "bin", "configurable-http-proxy");
}

/** Starts the proxy binary with `args` and `env` added to this process's environment. */
export function startBinary(args: string[], env: NodeJS.ProcessEnv = {}): RunningProcess {
  return startProxy(args, env, proxyCommand());
}

/** A fresh `--data-dir` per proxy, so no test writes state into the checkout (CHP has no such option). */
export function dataDirArgs(t: Teardown): string[] {
  return AGAINST_CHP ? [] : ["--data-dir", tempDir(t, "ltictr-conf-data-")];
}

export interface StartOptions extends LoopbackProxyOptions {
  /** Routes (path → target) added through the API once the proxy is ready. */
  routes?: Record<string, string>;
}

/**
 * The loopback proxy (or CHP) with the API token TOKEN unless `options.token` says otherwise (`""`: open API).
 */
export async function startProxyUnderTest(
  t: Teardown,
  args: string[],
  options: StartOptions = {},
): Promise<LoopbackProxy> {
  const { routes = {}, ...rest } = options;
  const proxy = await startLoopbackProxy(t, [...args, ...storageArgs(args)], {
    ...rest,
    token: options.token ?? TOKEN,
    ...(AGAINST_CHP ? { bin: proxyCommand(), dataDir: false } : {}),
  });
  // CHP logs its readiness lines before the sockets are bound; its own cli_spec waits 100 ms for that.
  if (AGAINST_CHP) await sleep(200);
  for (const [path, target] of Object.entries(routes)) await proxy.addRoute(path, target);
  return proxy;
}
