import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { request } from "undici";
import { freePort } from "./ports.js";
import { PROXY_BIN, startProcess, type RunningProcess } from "./proxy-process.js";
import { sleep } from "./wait.js";

/** Debian's interpreter: the jupyterhub 3.0 / jupyter_server 1.23 packages live there, not in a venv. */
export const SYSTEM_PYTHON = "/usr/bin/python3";

export type ProxyMode = "hub-starts-proxy" | "external-proxy";

export interface JupyterHubOptions {
  mode: ProxyMode;
  /** argv prefix of the proxy; JupyterHub (or the harness, in external mode) appends CHP's flags. */
  proxyCommand: string[];
  /** When given, only these names may log in (`Authenticator.allowed_users`). */
  users?: string[];
  /** Python appended to the generated jupyterhub_config.py. */
  extraConfig?: string;
  /**
   * External-proxy mode with two replicas sharing this route store (a `redis://` URL): JupyterHub talks to one
   * replica's API, the browser is served by the other one.
   */
  sharedStore?: string;
}

export interface HubStopReport {
  /** Exit code or signal of the hub process. */
  hubExit: number | string;
  /** Exit code or signal of the proxy the harness started (external-proxy mode); undefined otherwise. */
  proxyExit: number | string | undefined;
  /** With a shared store: the exit code or signal of the replica that served the browser. */
  servingReplicaExit?: number | string;
  /** Processes of this hub (single-user servers, kernels, proxy) still alive after the graceful stop; killed. */
  leftovers: string[];
}

export interface Hub {
  mode: ProxyMode;
  /** Public URL of the proxy, what a browser uses (no trailing slash). */
  publicUrl: string;
  /** Base URL of the proxy's REST API (no trailing slash; routes under `/api/routes`). */
  apiUrl: string;
  /** The proxy's API token (`CONFIGPROXY_AUTH_TOKEN`), known to the hub as `ConfigurableHTTPProxy.auth_token`. */
  token: string;
  /** Where the hub binds itself (the target of the `/` route). */
  hubUrl: string;
  /** The temp dir holding config, database, cookie secret and user homes. */
  dir: string;
  /** Graceful stop of hub, servers and proxy, then a sweep for processes left behind. Idempotent. */
  stop(): Promise<HubStopReport>;
  /** Hub (and proxy, when the harness started it) stdout/stderr so far. */
  logs(): string;
  /** `GET <api>/api/routes` with the token, as JupyterHub's `get_all_routes` asks it. */
  routes(): Promise<Record<string, Record<string, unknown>>>;
}

/** Environment variable carried by every process of one hub, so the stop sweep finds exactly those. */
const MARKER_VARIABLE = "LTICTR_E2E_HUB";

const requireFromHere = createRequire(import.meta.url);

/**
 * The proxy the e2e tests drive: our binary by default; `E2E_PROXY=chp` runs the same tests against the
 * reference configurable-http-proxy 5.3.0 from node_modules (to tell harness problems from proxy problems).
 */
export function e2eProxyCommand(): string[] {
  if (process.env.E2E_PROXY === "chp") {
    const chpPackage = requireFromHere.resolve("configurable-http-proxy/package.json");
    return [process.execPath, join(chpPackage, "..", "bin", "configurable-http-proxy")];
  }
  return [process.execPath, PROXY_BIN];
}

/** A Python literal for a string/list/boolean: JSON strings and arrays are valid Python literals. */
function py(value: string | string[] | boolean): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  return JSON.stringify(value);
}

interface ConfigInput {
  options: JupyterHubOptions;
  dir: string;
  publicUrl: string;
  apiUrl: string;
  hubUrl: string;
  token: string;
}

function hubConfig({ options, dir, publicUrl, apiUrl, hubUrl, token }: ConfigInput): string {
  const external = options.mode === "external-proxy";
  const lines = [
    "c = get_config()  # noqa",
    `c.JupyterHub.bind_url = ${py(publicUrl + "/")}`,
    `c.JupyterHub.hub_bind_url = ${py(hubUrl)}`,
    `c.JupyterHub.db_url = ${py(`sqlite:///${join(dir, "jupyterhub.sqlite")}`)}`,
    `c.JupyterHub.cookie_secret_file = ${py(join(dir, "jupyterhub_cookie_secret"))}`,
    // A graceful hub stop must take the single-user servers (and the hub-started proxy) with it.
    "c.JupyterHub.cleanup_servers = True",
    "c.JupyterHub.cleanup_proxy = True",
    "c.JupyterHub.log_level = 'DEBUG'",
    `c.ConfigurableHTTPProxy.api_url = ${py(apiUrl)}`,
    `c.ConfigurableHTTPProxy.auth_token = ${py(token)}`,
    `c.ConfigurableHTTPProxy.pid_file = ${py(join(dir, "jupyterhub-proxy.pid"))}`,
    `c.ConfigurableHTTPProxy.should_start = ${py(!external)}`,
    ...(external ? [] : [`c.ConfigurableHTTPProxy.command = ${py(options.proxyCommand)}`]),
    "c.JupyterHub.authenticator_class = 'dummy'",
    ...(options.users ? [`c.Authenticator.allowed_users = set(${py(options.users)})`] : []),
    // SimpleLocalProcessSpawner runs servers as the hub's user (root here) on random ports.
    "c.JupyterHub.spawner_class = 'simple'",
    `c.SimpleLocalProcessSpawner.home_dir_template = ${py(join(dir, "home", "{username}"))}`,
    "c.Spawner.ip = '127.0.0.1'",
    `c.Spawner.cmd = ${py([SYSTEM_PYTHON, "-m", "jupyterhub.singleuser"])}`,
    // jupyter_server refuses to run as root without it.
    "c.Spawner.args = ['--allow-root']",
    "c.Spawner.environment = {",
    "    'JUPYTERHUB_SINGLEUSER_APP': 'jupyter_server.serverapp.ServerApp',",
    `    ${py(MARKER_VARIABLE)}: ${py(dir)},`,
    "}",
    "c.Spawner.start_timeout = 60",
    "c.Spawner.http_timeout = 60",
    "",
    options.extraConfig ?? "",
  ];
  return lines.join("\n") + "\n";
}

/**
 * Starts `command` with NODE_OPTIONS removed by /usr/bin/env: tap's processinfo hook re-adds its `--import`
 * loader to the environment of every child it sees spawned, every Node descendant (here the proxy, even when
 * JupyterHub starts it) would inherit it, and it breaks CommonJS programs such as configurable-http-proxy
 * (ERR_REQUIRE_CYCLE_MODULE). env execs in place, so the child's pid and signals stay the program's own.
 */
function startUninstrumented(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string },
): RunningProcess {
  return startProcess("/usr/bin/env", ["-u", "NODE_OPTIONS", command, ...args], options);
}

/** `pid: cmdline` of every live process whose environment carries this hub's marker. */
async function markedProcesses(dir: string): Promise<{ pid: number; description: string }[]> {
  const needle = Buffer.from(`${MARKER_VARIABLE}=${dir}\0`);
  const found: { pid: number; description: string }[] = [];
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = await readFile(`/proc/${pid}/environ`);
      if (!environ.includes(needle)) continue;
      const cmdline = (await readFile(`/proc/${pid}/cmdline`)).toString().split("\0").join(" ").trim();
      found.push({ pid, description: `${pid}: ${cmdline}` });
    } catch {
      // the process ended while we looked, or is not ours to read
    }
  }
  return found;
}

/**
 * This hub's processes still alive after `graceMs`. The grace matters: jupyter_server 1.23 leaves on the
 * spawner's SIGINT without shutting its kernels down, and each orphaned ipykernel exits on its own within
 * about a second (its parent poller notices the reparenting).
 */
async function processesOutliving(
  dir: string,
  graceMs: number,
): Promise<{ pid: number; description: string }[]> {
  const deadline = Date.now() + graceMs;
  let alive = await markedProcesses(dir);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(250);
    alive = await markedProcesses(dir);
  }
  return alive;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Starts JupyterHub 3.0 (`/usr/bin/python3 -m jupyterhub`) in a fresh temp dir, with DummyAuthenticator and
 * SimpleLocalProcessSpawner, in front of the given proxy; resolves once the hub reports it is running.
 */
export async function startJupyterHub(options: JupyterHubOptions): Promise<Hub> {
  const dir = await mkdtemp(join(tmpdir(), "ltictr-e2e-hub-"));
  const [publicPort, apiPort, hubPort] = await distinctFreePorts(3);
  const publicUrl = `http://127.0.0.1:${publicPort}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const hubUrl = `http://127.0.0.1:${hubPort}`;
  const token = randomBytes(24).toString("hex");
  const configFile = join(dir, "jupyterhub_config.py");
  await writeFile(configFile, hubConfig({ options, dir, publicUrl, apiUrl, hubUrl, token }));

  const env: NodeJS.ProcessEnv = { ...process.env, [MARKER_VARIABLE]: dir };
  let proxy: RunningProcess | undefined;
  let servingReplica: RunningProcess | undefined;
  let hub: RunningProcess | undefined;
  const logs = () =>
    [
      proxy ? `--- proxy stdout ---\n${proxy.stdout()}\n--- proxy stderr ---\n${proxy.stderr()}` : "",
      servingReplica
        ? `--- serving replica stdout ---\n${servingReplica.stdout()}\n--- stderr ---\n${servingReplica.stderr()}`
        : "",
      hub ? `--- hub stdout ---\n${hub.stdout()}\n--- hub stderr ---\n${hub.stderr()}` : "",
    ].join("\n");

  // If the test process dies without stop() (an uncaught error), SIGTERM still lets the hub stop its servers.
  const onExit = () => [hub, proxy, servingReplica].forEach((p) => p?.child.kill("SIGTERM"));
  process.once("exit", onExit);
  let stopping: Promise<HubStopReport> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off("exit", onExit);
      // cleanup_servers only runs on a graceful stop, so give the hub time to stop every spawner
      // (SIGINT, then SIGTERM after interrupt_timeout=10 s per server).
      const hubExit = hub ? await hub.stop(30000) : "not started";
      const proxyExit = proxy ? await proxy.stop(5000) : undefined;
      const servingReplicaExit = servingReplica ? await servingReplica.stop(5000) : undefined;
      const left = await processesOutliving(dir, 10000);
      left.forEach(({ pid }) => killQuietly(pid));
      await rm(dir, { recursive: true, force: true });
      return { hubExit, proxyExit, servingReplicaExit, leftovers: left.map((p) => p.description) };
    })();
    return stopping;
  };

  try {
    if (options.mode === "external-proxy") {
      const [command, ...args] = options.proxyCommand;
      const replica = (publicListen: number, apiListen: number, name: string) =>
        startUninstrumented(
          command,
          [
            ...args,
            ...["--ip", "127.0.0.1", "--port", String(publicListen)],
            ...["--api-ip", "127.0.0.1", "--api-port", String(apiListen)],
            ...["--error-target", `${hubUrl}/hub/error`],
            ...(options.sharedStore
              ? [
                  ...["--storage-backend", options.sharedStore],
                  ...["--data-dir", join(dir, `proxy-${name}`)],
                  ...["--launch-cookie-key-file", join(dir, "launch-cookie.key")],
                ]
              : []),
          ],
          { env: { ...env, CONFIGPROXY_AUTH_TOKEN: token }, cwd: dir },
        );
      if (options.sharedStore) {
        // The hub's replica serves the API; its public port is one nobody uses. The browser's replica serves the
        // public URL; its API is never called.
        const [apiReplicaPublic, servingReplicaApi] = await distinctFreePorts(2, [
          publicPort,
          apiPort,
          hubPort,
        ]);
        proxy = replica(apiReplicaPublic, apiPort, "api");
        servingReplica = replica(publicPort, servingReplicaApi, "serving");
        await servingReplica.waitFor(/Proxy API at /, 20000);
      } else {
        proxy = replica(publicPort, apiPort, "single");
      }
      await proxy.waitFor(/Proxy API at /, 20000);
    }
    hub = startUninstrumented(SYSTEM_PYTHON, ["-m", "jupyterhub", "-f", configFile], { env, cwd: dir });
    await hub.waitFor(/JupyterHub is now running/, 60000);
  } catch (error) {
    await stop();
    throw error;
  }

  const routes = async () => {
    const response = await request(`${apiUrl}/api/routes`, { headers: { authorization: `token ${token}` } });
    const body = await response.body.text();
    if (response.statusCode !== 200)
      throw new Error(`GET /api/routes answered ${response.statusCode}: ${body}`);
    return JSON.parse(body) as Record<string, Record<string, unknown>>;
  };

  return { mode: options.mode, publicUrl, apiUrl, token, hubUrl, dir, stop, logs, routes };
}

/** freePort() can hand out the same port twice when nothing binds in between; the hub needs several at once. */
async function distinctFreePorts(count: number, taken: number[] = []): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = await freePort();
    if (!taken.includes(port)) ports.add(port);
  }
  return [...ports];
}
