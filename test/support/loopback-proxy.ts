import type { Test } from "tap";
import { freePort } from "./ports.js";
import { startProxy, type RunningProcess } from "./proxy-process.js";

/** The binary listening on 127.0.0.1 only, on free ports, stopped when the test ends. */
export interface LoopbackProxy {
  process: RunningProcess;
  port: number;
  apiPort: number;
  /** `http://127.0.0.1:<apiPort>` */
  apiUrl: string;
}

export interface LoopbackProxyOptions {
  /** Added to the test runner's environment; `undefined` removes a variable. */
  env?: NodeJS.ProcessEnv;
  /** Stdout/stderr text that means ready (default: the API line, printed once every listener is bound). */
  ready?: RegExp;
}

/**
 * Starts `bin/ltictr-proxy.js --ip 127.0.0.1 --port <free> --api-ip 127.0.0.1 --api-port <free> ...args` and waits
 * until it is ready. The test runner's own `CONFIGPROXY_AUTH_TOKEN` is not passed on unless `env` sets it.
 */
export async function startLoopbackProxy(
  t: Test,
  args: string[],
  options: LoopbackProxyOptions = {},
): Promise<LoopbackProxy> {
  const port = await freePort();
  const apiPort = await freePort();
  const proxy = startProxy(
    [
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--api-ip",
      "127.0.0.1",
      "--api-port",
      String(apiPort),
      ...args,
    ],
    { CONFIGPROXY_AUTH_TOKEN: undefined, ...options.env },
  );
  t.teardown(() => proxy.stop());
  await proxy.waitFor(options.ready ?? /Proxy API at /);
  return { process: proxy, port, apiPort, apiUrl: `http://127.0.0.1:${apiPort}` };
}
