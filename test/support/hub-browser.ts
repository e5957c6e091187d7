import { randomUUID } from "node:crypto";
import { Agent, request, type Dispatcher } from "undici";
import WebSocket from "ws";
import { sleep } from "./wait.js";

/**
 * What a browser does through the proxy's public URL in front of JupyterHub 3.0 + jupyter_server 1.23:
 * cookie-keeping requests, the login form, spawning, the hub→server OAuth dance, `_xsrf`-protected API calls
 * and a kernel WebSocket speaking the legacy JSON protocol exactly like JupyterLab 3.
 */

export interface BrowserResponse {
  status: number;
  /** Path (+query) this response answered. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface NavigationResult extends BrowserResponse {
  /** Every `status path` hop, first request included; for error messages. */
  hops: string[];
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

/** RFC 6265 path-match (5.1.4); the proxy serves one host, so domains play no part. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}

/** The default-path of RFC 6265 5.1.4: the request path up to, not including, its last `/`. */
function defaultCookiePath(requestPath: string): string {
  const end = requestPath.lastIndexOf("/");
  return end <= 0 ? "/" : requestPath.slice(0, end);
}

/** A single-host cookie jar honouring Path, Max-Age and Expires (enough for hub, OAuth and `_xsrf` cookies). */
export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();

  store(requestPath: string, setCookie: string | string[] | undefined): void {
    const lines = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
    for (const line of lines) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const cookie: StoredCookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        path: defaultCookiePath(requestPath.split("?")[0]),
      };
      let expired = false;
      for (const attribute of attributes) {
        const [rawKey, ...rest] = attribute.split("=");
        const key = rawKey.trim().toLowerCase();
        const value = rest.join("=").trim();
        if (key === "path" && value.startsWith("/")) cookie.path = value;
        else if (key === "max-age") expired = Number(value) <= 0;
        else if (key === "expires" && !attributes.some((a) => a.trim().toLowerCase().startsWith("max-age")))
          expired = Date.parse(value) <= Date.now();
      }
      const key = `${cookie.name}\0${cookie.path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, cookie);
    }
  }

  /** `Cookie` header value for a request to `requestPath`, longest paths first as browsers order them. */
  header(requestPath: string): string | undefined {
    const path = requestPath.split("?")[0];
    const matching = [...this.cookies.values()]
      .filter((c) => pathMatches(path, c.path))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join("; ") : undefined;
  }

  /** Value of cookie `name` as it would be sent to `requestPath`. */
  get(name: string, requestPath: string): string | undefined {
    const path = requestPath.split("?")[0];
    return [...this.cookies.values()]
      .filter((c) => c.name === name && pathMatches(path, c.path))
      .sort((a, b) => b.path.length - a.path.length)[0]?.value;
  }
}

export interface BrowserRequest {
  method?: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: string;
}

export interface KernelOutput {
  /** iopub msg_type: stream, execute_result, display_data or error. */
  type: string;
  content: Record<string, unknown>;
}

export interface ExecutionResult {
  /** `content.status` of the shell execute_reply: ok | error | aborted. */
  status: string;
  executionCount: number | undefined;
  outputs: KernelOutput[];
  msgId: string;
}

export interface ExecuteOptions {
  cellId?: string;
  tags?: string[];
  timeoutMs?: number;
}

interface KernelMessage {
  channel?: unknown;
  msg_type?: unknown;
  header?: { msg_type?: unknown };
  parent_header?: { msg_id?: unknown };
  content?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const OUTPUT_TYPES = new Set(["stream", "execute_result", "display_data", "error"]);

/** One kernel `channels` WebSocket, as JupyterLab 3 holds it (client session id = its clientId). */
export class KernelChannel {
  readonly sessionId: string;
  private readonly listeners = new Set<(message: KernelMessage) => void>();

  constructor(
    private readonly socket: WebSocket,
    sessionId: string,
  ) {
    this.sessionId = sessionId;
    socket.on("message", (data, isBinary) => {
      // Binary frames only carry messages with buffers (comms); nothing this client waits for.
      if (isBinary) return;
      let message: unknown;
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (isRecord(message)) this.listeners.forEach((listener) => listener(message as KernelMessage));
    });
  }

  /**
   * Sends `code` as JupyterLab 3 does for a notebook cell run (legacy JSON, compact, its key order) and
   * resolves once both the shell execute_reply and the iopub `idle` status for it arrived.
   */
  execute(code: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    const msgId = randomUUID();
    const tags = options.tags ?? [];
    const message = {
      buffers: [],
      channel: "shell",
      content: {
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: true,
        stop_on_error: !tags.includes("raises-exception"),
        code,
      },
      header: {
        date: new Date().toISOString(),
        msg_id: msgId,
        msg_type: "execute_request",
        session: this.sessionId,
        username: "",
        version: "5.2",
      },
      metadata: {
        ...(tags.length ? { tags } : {}),
        deletedCells: [],
        recordTiming: false,
        cellId: options.cellId ?? randomUUID(),
      },
      parent_header: {},
    };
    return new Promise<ExecutionResult>((resolve, reject) => {
      const outputs: KernelOutput[] = [];
      let reply: Record<string, unknown> | undefined;
      let idle = false;
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        this.socket.off("close", onClose);
        if (error) reject(error);
        else if (reply)
          resolve({
            status: String(reply.status),
            executionCount: typeof reply.execution_count === "number" ? reply.execution_count : undefined,
            outputs,
            msgId,
          });
      };
      const listener = (incoming: KernelMessage) => {
        if (incoming.parent_header?.msg_id !== msgId) return;
        const type = incoming.header?.msg_type;
        const content = isRecord(incoming.content) ? incoming.content : {};
        if (incoming.channel === "shell" && type === "execute_reply") reply = content;
        else if (incoming.channel === "iopub" && typeof type === "string" && OUTPUT_TYPES.has(type))
          outputs.push({ type, content });
        else if (incoming.channel === "iopub" && type === "status" && content.execution_state === "idle")
          idle = true;
        if (reply && idle) finish();
      };
      const onClose = () => finish(new Error(`kernel socket closed before the reply to ${msgId}`));
      const timer = setTimeout(
        () =>
          finish(new Error(`no execute_reply + idle for ${msgId} within ${options.timeoutMs ?? 30000} ms`)),
        options.timeoutMs ?? 30000,
      );
      this.listeners.add(listener);
      this.socket.once("close", onClose);
      this.socket.send(JSON.stringify(message), (error) => {
        if (error) finish(error);
      });
    });
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.close(1000);
    });
  }
}

/** Cookie-keeping browser for one user session against the proxy's public URL. */
export class HubBrowser {
  readonly jar = new CookieJar();
  private readonly agent = new Agent();
  private readonly sockets = new Set<KernelChannel>();
  private closing: Promise<void> | undefined;

  constructor(readonly publicUrl: string) {}

  /** One request, no redirects followed; `Set-Cookie` goes into the jar. */
  async fetch(path: string, init: BrowserRequest = {}): Promise<BrowserResponse> {
    const cookie = this.jar.header(path);
    const response = await request(this.publicUrl + path, {
      dispatcher: this.agent,
      method: init.method ?? "GET",
      headers: { ...(cookie ? { cookie } : {}), ...init.headers },
      body: init.body,
    });
    const body = await response.body.text();
    this.jar.store(path, response.headers["set-cookie"]);
    return { status: response.statusCode, path, headers: response.headers, body };
  }

  /** Like a browser address bar: follows redirects (303/302/301 turn into GET), at most 20 hops. */
  async navigate(path: string, init: BrowserRequest = {}): Promise<NavigationResult> {
    const hops: string[] = [];
    let current = path;
    let currentInit: BrowserRequest = init;
    for (let hop = 0; hop < 20; hop++) {
      const response = await this.fetch(current, currentInit);
      hops.push(`${response.status} ${current}`);
      const location = response.headers.location;
      if (response.status < 300 || response.status >= 400 || typeof location !== "string") {
        return { ...response, hops };
      }
      const next = new URL(location, this.publicUrl + current);
      if (next.origin !== new URL(this.publicUrl).origin) {
        throw new Error(`redirect leaves the proxy: ${location}; hops: ${hops.join(" -> ")}`);
      }
      current = next.pathname + next.search;
      if (response.status !== 307 && response.status !== 308) currentInit = {};
    }
    throw new Error(`too many redirects: ${hops.join(" -> ")}`);
  }

  /**
   * Submits JupyterHub's login form (with its `_xsrf` field when the form has one) and checks the session by
   * asking the hub who is logged in. Returns the hub's user model.
   */
  async login(name: string, password = "any-password"): Promise<Record<string, unknown>> {
    const page = await this.fetch("/hub/login");
    if (page.status !== 200) throw new Error(`GET /hub/login answered ${page.status}`);
    const form = new URLSearchParams({ username: name, password });
    const xsrf = /name="_xsrf"\s+value="([^"]*)"/.exec(page.body)?.[1];
    if (xsrf !== undefined) form.set("_xsrf", xsrf);
    const action = /<form[^>]*action="([^"]*)"/.exec(page.body)?.[1]?.replace(/&amp;/g, "&") ?? "/hub/login";
    const posted = await this.fetch(action, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        referer: `${this.publicUrl}/hub/login`,
      },
      body: form.toString(),
    });
    if (posted.status !== 302)
      throw new Error(`login POST answered ${posted.status}: ${posted.body.slice(0, 300)}`);
    const me = await this.hubApi("GET", "/user");
    if (me.status !== 200) throw new Error(`GET /hub/api/user after login answered ${me.status}`);
    return JSON.parse(me.body) as Record<string, unknown>;
  }

  /** Hub REST call with the login cookie; JupyterHub 3 only honours cookies with a same-origin Referer. */
  hubApi(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<BrowserResponse> {
    return this.fetch(`/hub/api${path}`, {
      method,
      headers: {
        referer: `${this.publicUrl}/hub/home`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** The user model from the hub API (servers, pending state). */
  async userModel(name: string): Promise<Record<string, unknown>> {
    const response = await this.hubApi("GET", `/users/${encodeURIComponent(name)}`);
    if (response.status !== 200) throw new Error(`GET /hub/api/users/${name} answered ${response.status}`);
    return JSON.parse(response.body) as Record<string, unknown>;
  }

  /**
   * Clicks "Start My Server": `/hub/spawn`, then waits on `/hub/spawn-pending/<name>` until the hub redirects
   * to the server, and follows that redirect. Returns the landing navigation.
   */
  async spawn(name: string, timeoutMs = 60000): Promise<NavigationResult> {
    const started = await this.navigate("/hub/spawn");
    const serverPrefix = `/user/${encodeURIComponent(name)}/`;
    if (started.hops.some((hop) => hop.split(" ")[1].startsWith(serverPrefix))) return started;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const pending = await this.fetch(`/hub/spawn-pending/${encodeURIComponent(name)}`);
      const location = pending.headers.location;
      if (pending.status === 302 && typeof location === "string" && location.startsWith(serverPrefix)) {
        return this.navigate(location);
      }
      if (pending.status !== 200)
        throw new Error(`spawn-pending answered ${pending.status}: ${pending.body}`);
      await sleep(300);
    }
    throw new Error(`server of ${name} not ready within ${timeoutMs} ms; hops: ${started.hops.join(" -> ")}`);
  }

  /**
   * Opens an authenticated page of the user's server so the server sends the browser through the hub's OAuth
   * authorisation and sets its `jupyterhub-user-<name>` cookie (API handlers answer 403 instead of redirecting).
   * jupyter_server 1.23 without a frontend has no HTML app page; `files/` is the plainest authenticated one.
   */
  async authorizeServer(name: string, page = "files/"): Promise<NavigationResult> {
    const prefix = `/user/${encodeURIComponent(name)}/`;
    const result = await this.navigate(prefix + page);
    if (!this.jar.get(`jupyterhub-user-${encodeURIComponent(name)}`, prefix)) {
      throw new Error(`no server login cookie after ${result.hops.join(" -> ")}`);
    }
    return result;
  }

  /** Headers a page's JavaScript adds to a same-origin API call: `_xsrf` echo and Origin. */
  private serverApiHeaders(path: string): Record<string, string> {
    const xsrf = this.jar.get("_xsrf", path);
    return {
      origin: this.publicUrl,
      referer: this.publicUrl + path,
      ...(xsrf ? { "x-xsrftoken": xsrf } : {}),
    };
  }

  /** `POST /user/<name>/api/kernels` as JupyterLab does; returns the kernel model. */
  async startKernel(name: string, kernelName = "python3"): Promise<{ id: string } & Record<string, unknown>> {
    const path = `/user/${encodeURIComponent(name)}/api/kernels`;
    const response = await this.fetch(path, {
      method: "POST",
      headers: { ...this.serverApiHeaders(path), "content-type": "application/json" },
      body: JSON.stringify({ name: kernelName }),
    });
    if (response.status !== 201)
      throw new Error(`POST ${path} answered ${response.status}: ${response.body}`);
    const model = JSON.parse(response.body) as Record<string, unknown>;
    if (typeof model.id !== "string") throw new Error(`kernel model without id: ${response.body}`);
    return { ...model, id: model.id };
  }

  /** Opens `…/api/kernels/<id>/channels?session_id=<uuid>` with the browser's cookies and Origin. */
  async openKernel(name: string, kernelId: string): Promise<KernelChannel> {
    const sessionId = randomUUID();
    const path = `/user/${encodeURIComponent(name)}/api/kernels/${kernelId}/channels?session_id=${sessionId}`;
    const cookie = this.jar.header(path);
    const socket = new WebSocket(this.publicUrl.replace(/^http/, "ws") + path, {
      headers: { origin: this.publicUrl, ...(cookie ? { cookie } : {}) },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
      socket.once("unexpected-response", (_request, response) =>
        reject(new Error(`kernel WebSocket upgrade answered ${response.statusCode}`)),
      );
    });
    const channel = new KernelChannel(socket, sessionId);
    this.sockets.add(channel);
    return channel;
  }

  /** Stops the default server through the hub API and waits until the hub reports it gone. */
  async stopServer(name: string, timeoutMs = 60000): Promise<void> {
    const response = await this.hubApi("DELETE", `/users/${encodeURIComponent(name)}/server`);
    if (response.status !== 202 && response.status !== 204) {
      throw new Error(`DELETE server answered ${response.status}: ${response.body}`);
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const model = await this.userModel(name);
      if (model.server === null && model.pending === null) return;
      await sleep(300);
    }
    throw new Error(`server of ${name} still running ${timeoutMs} ms after DELETE`);
  }

  /** Closes kernel sockets and pooled connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.sockets].map((s) => s.close()));
      await this.agent.close();
    })();
    return this.closing;
  }
}
