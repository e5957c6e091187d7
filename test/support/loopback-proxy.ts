import { freePorts } from "./ports.js";
import { PROXY_BIN, startProxy, type RunningProcess } from "./proxy-process.js";
import { tempDir, type Teardown } from "./temp-dir.js";
import { webRequest, type WebResponse } from "./web-client.js";

export interface ProxyPorts {
  port: number;
  apiPort: number;
}

/** `--ip <ip> --port <port> --api-ip 127.0.0.1 --api-port <apiPort>`. */
export function listenArgs({ port, apiPort }: ProxyPorts, ip = "127.0.0.1"): string[] {
  return ["--ip", ip, "--port", String(port), "--api-ip", "127.0.0.1", "--api-port", String(apiPort)];
}

/** `--ssl-cert <cert> --ssl-key <key>` for certificate and key files. */
export function sslArgs(certificate: { cert: string; key: string }): string[] {
  return ["--ssl-cert", certificate.cert, "--ssl-key", certificate.key];
}

export interface LoopbackProxyOptions {
  /**
   * CONFIGPROXY_AUTH_TOKEN, also sent by `api()`; `""` runs the API open. Without it the test runner's own
   * CONFIGPROXY_AUTH_TOKEN is not passed on.
   */
  token?: string;
  /** Added to the test runner's environment; `undefined` removes a variable. */
  env?: NodeJS.ProcessEnv;
  /** Output that means ready, waited for after the `Proxy API at` line (e.g. `Route added /`). */
  ready?: RegExp | RegExp[];
  /** Listen on these ports (free ones by default). */
  ports?: ProxyPorts;
  /** `--data-dir`: this folder; by default a fresh temporary one, removed at teardown; `false`: no --data-dir. */
  dataDir?: string | false;
  /** The script node runs instead of bin/ltictr-proxy.js. */
  bin?: string;
}

/** The binary listening on 127.0.0.1 only, stopped when the test ends. */
export interface LoopbackProxy extends ProxyPorts {
  /** The running process (a new one after `restart()`). */
  process: RunningProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `http://127.0.0.1:<apiPort>` */
  apiUrl: string;
  /** A REST API call (`/api/routes<path>`) with the token. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<WebResponse>;
  /** POSTs `{target, ...extra}` at `path` and checks the 201. */
  addRoute(path: string, target: string, extra?: Record<string, unknown>): Promise<void>;
  /** The route's data from `GET /api/routes/<path>`, undefined on 404. */
  route(path: string): Promise<Record<string, unknown> | undefined>;
  /** The route's `last_activity` in ms since the epoch. */
  lastActivity(path: string): Promise<number>;
  /** Stops the process if it still runs (SIGTERM) and starts it again: same arguments, ports and data dir. */
  restart(): Promise<void>;
}

/**
 * Starts `bin/ltictr-proxy.js --ip 127.0.0.1 --port <free> --api-ip 127.0.0.1 --api-port <free> --data-dir <temp>
 * ...args`, waits until it is ready, and stops it (SIGTERM) in the test's teardown.
 */
export async function startLoopbackProxy(
  t: Teardown,
  args: string[],
  options: LoopbackProxyOptions = {},
): Promise<LoopbackProxy> {
  // tap runs teardowns last-in first-out: this folder is removed after the process is stopped.
  const dataDir = options.dataDir === undefined ? tempDir(t, "ltictr-data-") : options.dataDir || undefined;
  const token = options.token;
  const ready = async (proc: RunningProcess) => {
    await proc.waitFor(/Proxy API at /);
    for (const pattern of [options.ready ?? []].flat()) await proc.waitFor(pattern);
  };
  const spawnerOn = (ports: ProxyPorts) => {
    const fullArgs = [...listenArgs(ports), ...(dataDir ? ["--data-dir", dataDir] : []), ...args];
    return () =>
      startProxy(fullArgs, { ...options.env, CONFIGPROXY_AUTH_TOKEN: token }, options.bin ?? PROXY_BIN);
  };

  // Ports found free are not reserved until the proxy binds them: a test running beside this one can take one in
  // between as the local port of an outgoing connection. A start that loses that race is made again on others.
  let ports: ProxyPorts;
  let spawnProxy: () => RunningProcess;
  let first: RunningProcess;
  for (let attempt = 1; ; attempt++) {
    const [port, apiPort] = options.ports ? [options.ports.port, options.ports.apiPort] : await freePorts(2);
    ports = { port, apiPort };
    spawnProxy = spawnerOn(ports);
    first = spawnProxy();
    const failure = await ready(first).then(
      () => undefined,
      (error: Error) => error,
    );
    if (!failure) break;
    await first.stop();
    if (options.ports || attempt === 5 || !/EADDRINUSE/.test(first.stderr())) throw failure;
  }
  const { port, apiPort } = ports;

  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    webRequest(`${apiUrl}/api/routes${path}`, {
      method,
      headers: { ...(token ? { authorization: `token ${token}` } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  // `GET /api/routes/` lists the table, so the root route is read from the list.
  const route = async (path: string) => {
    const answer = await api("GET", path === "/" ? "" : path);
    if (answer.status !== 200) return undefined;
    const data = JSON.parse(answer.body) as Record<string, unknown>;
    return path === "/" ? (data["/"] as Record<string, unknown> | undefined) : data;
  };
  const proxy: LoopbackProxy = {
    process: first,
    port,
    apiPort,
    url: `http://127.0.0.1:${port}`,
    apiUrl,
    api,
    route,
    async addRoute(path, target, extra = {}) {
      const answer = await api("POST", path, { ...extra, target });
      if (answer.status !== 201) throw new Error(`POST ${path} answered ${answer.status} ${answer.body}`);
    },
    async lastActivity(path) {
      const data = await route(path);
      if (!data || typeof data.last_activity !== "string")
        throw new Error(`route ${path} has no last_activity`);
      return Date.parse(data.last_activity);
    },
    async restart() {
      await proxy.process.stop();
      proxy.process = spawnProxy();
      await ready(proxy.process);
    },
  };
  t.teardown(() => proxy.process.stop());
  return proxy;
}
