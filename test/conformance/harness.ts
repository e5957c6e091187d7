import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/ports.js";
import { WebSocket, type ClientOptions } from "ws";
import { PROXY_BIN, startProcess, type RunningProcess } from "../support/proxy-process.js";

/**
 * What every conformance file needs: the built binary started as a user starts it (CHP's flags, token in
 * CONFIGPROXY_AUTH_TOKEN), an HTTP client that can also speak over UNIX sockets, and raw-socket requests for the
 * cases no well-behaved client produces.
 */

export const TOKEN = "conformance-secret";

/**
 * `CONFORMANCE_PROXY=chp` runs the suite against the reference configurable-http-proxy 5.3.0 from node_modules:
 * there only the checks of deliberate differences and fixed CHP bugs may fail, which shows the checks measure the
 * proxy and not the harness. Run such files with plain `node dist/test/conformance/<file>.js`: the tap runner's
 * process hooks keep CHP's extension-less ESM bin from loading.
 */
export const AGAINST_CHP = process.env.CONFORMANCE_PROXY === "chp";

function proxyCommand(): string {
  if (!AGAINST_CHP) return PROXY_BIN;
  const chpPackage = createRequire(import.meta.url).resolve("configurable-http-proxy/package.json");
  return join(chpPackage, "..", "bin", "configurable-http-proxy");
}

/** Starts the proxy binary with `args` and `env` added to this process's environment. */
export function startBinary(args: string[], env: NodeJS.ProcessEnv = {}): RunningProcess {
  return startProcess(process.execPath, [proxyCommand(), ...args], { env: { ...process.env, ...env } });
}

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface HttpAnswer {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Request over this UNIX socket; `url` then only supplies the path. */
  socketPath?: string;
  agent?: Agent;
  /** For https URLs: trust this CA (the test PKI); without it certificates are not verified. */
  ca?: string;
  /** A request still unanswered after this long fails the check instead of hanging the suite. */
  timeoutMs?: number;
}

export function httpRequestTo(url: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  const parsed = new URL(url);
  const secure = parsed.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      {
        method: options.method ?? "GET",
        hostname: parsed.hostname,
        port: parsed.port,
        path: parsed.pathname + parsed.search,
        headers: options.headers,
        socketPath: options.socketPath,
        agent: options.agent ?? false,
        ...(secure ? { ca: options.ca, rejectUnauthorized: options.ca !== undefined } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            statusMessage: res.statusMessage ?? "",
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () =>
      req.destroy(
        new Error(`no answer to ${options.method ?? "GET"} ${url} within ${options.timeoutMs ?? 10_000} ms`),
      ),
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * Sends `text` as is and collects everything the server writes until it closes the connection (or `waitMs`
 * passes: then `closedByServer` is false).
 */
export function rawExchange(
  target: { port: number } | { socketPath: string },
  text: string,
  waitMs = 3000,
): Promise<{ response: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = "port" in target ? connect(target.port, "127.0.0.1") : connect(target.socketPath);
    let response = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response, closedByServer: false });
    }, waitMs);
    socket.on("data", (chunk: Buffer) => (response += chunk.toString("latin1")));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ response, closedByServer: true });
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(text);
  });
}

/** Distinct free ports (freePort alone can hand out one port twice when nothing binds in between). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function tempDir(t: Teardown, prefix = "ltictr-conf-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh `--data-dir` per proxy, so no test writes state into the checkout (CHP has no such option). */
export function dataDirArgs(t: Teardown): string[] {
  return AGAINST_CHP ? [] : ["--data-dir", tempDir(t, "ltictr-conf-data-")];
}

export interface ProxyUnderTest {
  process: RunningProcess;
  port: number;
  apiPort: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  apiUrl: string;
  /** A REST API call with the token. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpAnswer>;
  /** POSTs `{target, ...extra}` at `path` and checks the 201. */
  addRoute(path: string, target: string, extra?: Record<string, unknown>): Promise<void>;
  /** The route's data from `GET /api/routes/<path>`, undefined on 404. */
  route(path: string): Promise<Record<string, unknown> | undefined>;
  /** The route's `last_activity` in ms since the epoch. */
  lastActivity(path: string): Promise<number>;
}

export interface StartOptions {
  /** Token for CONFIGPROXY_AUTH_TOKEN; TOKEN unless given; `""` runs the API open. */
  token?: string;
  /** Stdout line to wait for besides `Proxy API at` (e.g. `Route added /`). */
  readyPattern?: RegExp;
  /** More environment for the proxy process. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts the proxy on 127.0.0.1 with free public and API ports plus `args`, waits for the readiness lines, and
 * stops it (SIGTERM) in the test's teardown.
 */
export async function startProxyUnderTest(
  t: Teardown,
  args: string[],
  options: StartOptions = {},
): Promise<ProxyUnderTest> {
  const [port, apiPort] = await freePorts(2);
  const token = options.token ?? TOKEN;
  const proc = startBinary(
    [
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--api-ip",
      "127.0.0.1",
      "--api-port",
      String(apiPort),
      ...dataDirArgs(t),
      ...args,
    ],
    { ...options.env, CONFIGPROXY_AUTH_TOKEN: token },
  );
  t.teardown(() => proc.stop());
  await proc.waitFor(/Proxy API at/);
  if (options.readyPattern) await proc.waitFor(options.readyPattern);
  // CHP logs its readiness lines before the sockets are bound; its own cli_spec waits 100 ms for that.
  if (AGAINST_CHP) await sleep(200);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    httpRequestTo(`${apiUrl}/api/routes${path}`, {
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
  return {
    process: proc,
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
  };
}

export interface WebSocketClient {
  ws: WebSocket;
  /** The next message from the server (text), waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<string>;
  /** Closes cleanly and resolves once the close handshake is done. */
  close(): Promise<void>;
}

/** Opens a WebSocket (`ws://` or `ws+unix://`), resolves once it is open, and is terminated in teardown. */
export async function openWebSocket(
  t: Teardown,
  url: string,
  options: ClientOptions = {},
): Promise<WebSocketClient> {
  const ws = new WebSocket(url, options);
  t.teardown(() => {
    ws.on("error", () => undefined);
    ws.terminate();
  });
  const queue: string[] = [];
  const waiting: Array<(message: string) => void> = [];
  ws.on("message", (data: Buffer) => {
    const message = data.toString("utf8");
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    next: (timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const queued = queue.shift();
        if (queued !== undefined) return resolve(queued);
        const timer = setTimeout(
          () => reject(new Error(`no WebSocket message within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiting.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once("close", () => resolve());
        ws.close();
      }),
  };
}

/** Parses the JSON body of an echo-backend answer. */
export function json<T>(answer: HttpAnswer): T {
  return JSON.parse(answer.body) as T;
}
