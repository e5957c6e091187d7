import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { BodyTooLarge } from "../api/json-body.js";
import type { Logger } from "../log/logger.js";
import { AdminApi } from "./admin-api.js";
import { AdminError } from "./admin-error.js";
import { AdminFeed } from "./admin-feed.js";
import type { AdminSources } from "./admin-sources.js";
import { readAdminBody } from "./request-body.js";
import { fromSameOrigin } from "./same-origin.js";
import { csrfTokenMatches, SessionStore } from "./session-store.js";
import { SignIn, type Caller } from "./sign-in.js";
import { SseHub } from "./sse-hub.js";
import { StaticAssets } from "./static-assets.js";
import { SECURITY_HEADERS, sendEmpty, sendJson } from "./admin-response.js";

export interface AdminAppOptions {
  /** How long a sign-in lasts. Default 8 hours (a teaching day). */
  sessionLifetimeMs?: number;
  /** Signed-in pages at once. Default 64. */
  maxSessions?: number;
  /** Live streams at once. Default 256. */
  maxStreams?: number;
  /** Unread bytes a stream may hold before it is dropped. Default 256 KiB. */
  maxStreamBufferBytes?: number;
  heartbeatMs?: number;
}

interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  caller: Caller;
  secure: boolean;
  body: Record<string, unknown>;
}

/** Answered by the endpoint itself (a stream, a cookie). */
const ANSWERED = Symbol("answered");

interface Endpoint {
  method: "GET" | "POST";
  /** Below `/admin/api`. */
  path: string;
  run(context: RequestContext): unknown;
}

/** The page loads only its own files and talks only to its own origin. */
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The admin page's web application, served on its own listener: the static page, sign-in, the JSON API under
 * `/admin/api/` and the live event stream. Reads go through AdminApi; state changes are POSTs that need a
 * session's CSRF token from the page's own origin, or the token in `Authorization`.
 */
export class AdminApp {
  private readonly hub: SseHub;
  private readonly feed: AdminFeed;
  private readonly api: AdminApi;
  private readonly sessions: SessionStore;
  private readonly signIn: SignIn;
  private readonly assets = new StaticAssets();
  private readonly endpoints: Map<string, Endpoint>;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    sources: AdminSources,
    private readonly log: Logger,
    options: AdminAppOptions = {},
  ) {
    const lifetimeMs = options.sessionLifetimeMs ?? 8 * 60 * 60 * 1000;
    this.hub = new SseHub({
      maxClients: options.maxStreams ?? 256,
      maxBufferedBytes: options.maxStreamBufferBytes ?? 256 * 1024,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      retryMs: 2000,
    });
    this.sessions = new SessionStore({ lifetimeMs, maxSessions: options.maxSessions ?? 64 });
    this.signIn = new SignIn({
      tokens: sources.tokens,
      sessions: this.sessions,
      hub: this.hub,
      lifetimeMs,
      log,
    });
    this.feed = new AdminFeed(sources, this.hub, log);
    this.api = new AdminApi(sources, this.feed, this.hub);
    this.endpoints = new Map(this.endpointList().map((e) => [`${e.method} ${e.path}`, e]));
    this.feed.start();
    this.sweep = setInterval(() => {
      for (const expired of this.sessions.sweep()) this.hub.closeOwner(expired.key);
    }, 30_000).unref();
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((error: unknown) => this.fail(req, res, error));
  };

  /** Ends every live stream and stops listening to the proxy's events. */
  close(): void {
    clearInterval(this.sweep);
    this.feed.close();
    this.hub.close();
  }

  private endpointList(): Endpoint[] {
    const api = this.api;
    return [
      {
        method: "POST",
        path: "/logout",
        run: ({ caller, res, secure }) => {
          this.signIn.logout(caller, res, secure);
          return ANSWERED;
        },
      },
      {
        method: "GET",
        path: "/events",
        run: ({ caller, res }) => {
          const owner = caller.kind === "session" ? caller.session.key : undefined;
          if (!this.hub.open(res, owner))
            throw new AdminError(503, "too_many_streams", "too many live admin pages; close some");
          return ANSWERED;
        },
      },
      { method: "GET", path: "/overview", run: () => api.overview() },
      { method: "GET", path: "/routes", run: () => api.routes() },
      { method: "POST", path: "/routes/delete", run: ({ body }) => api.removeRoute(body) },
      { method: "GET", path: "/sessions", run: () => api.sessions() },
      { method: "GET", path: "/results", run: () => api.results() },
      { method: "GET", path: "/delivery", run: () => api.delivery() },
      { method: "POST", path: "/delivery/replay", run: () => api.replayDeadLetters() },
      { method: "GET", path: "/images", run: ({ url }) => api.images(url.searchParams.get("filter")) },
      { method: "GET", path: "/volumes", run: () => api.volumes() },
      {
        method: "POST",
        path: "/volumes/create",
        run: async ({ body }) => {
          const volume = await api.createVolume(body);
          this.log.info("admin page: created course volume %s", volume.name);
          return volume;
        },
      },
      {
        method: "POST",
        path: "/volumes/remove",
        run: async ({ body }) => {
          await api.removeVolume(body);
          this.log.info("admin page: removed course volume %s", String(body.name));
        },
      },
    ];
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const secure = (req.socket as TLSSocket).encrypted === true;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://admin.invalid");
    } catch {
      throw new AdminError(400, "bad_url", "malformed request URL");
    }
    const path = url.pathname;
    const method = req.method ?? "";
    if (path === "/" || path === "/admin") {
      sendEmpty(res, 302, { location: "/admin/" });
      return;
    }
    if (this.assets.has(path)) {
      if (method !== "GET" && method !== "HEAD") throw methodNotAllowed("GET");
      const headers =
        path === "/admin/"
          ? { ...SECURITY_HEADERS, "content-security-policy": PAGE_POLICY }
          : SECURITY_HEADERS;
      this.assets.serve(path, req, res, headers);
      return;
    }
    if (!path.startsWith("/admin/api/")) throw new AdminError(404, "not_found", "no such page");
    const apiPath = path.slice("/admin/api".length);
    if (apiPath === "/login") {
      if (method !== "POST") throw methodNotAllowed("POST");
      await this.signIn.login(req, res, secure);
      return;
    }
    if (apiPath === "/session") {
      // Answered without a sign-in too: the page asks it first to know whether to show its sign-in form.
      if (method !== "GET") throw methodNotAllowed("GET");
      sendJson(res, 200, this.signIn.describe(this.signIn.authenticate(req)));
      return;
    }
    const endpoint = this.endpoints.get(`${method} ${apiPath}`);
    if (!endpoint) {
      const other = method === "GET" ? "POST" : "GET";
      if (this.endpoints.has(`${other} ${apiPath}`)) throw methodNotAllowed(other);
      throw new AdminError(404, "not_found", `no admin API endpoint ${apiPath}`);
    }
    const caller = this.signIn.authenticate(req);
    if (!caller) throw new AdminError(401, "unauthorized", "sign in first");
    if (endpoint.method === "POST" && caller.kind === "session") {
      if (!fromSameOrigin(req, secure))
        throw new AdminError(403, "cross_origin", "this action must come from the admin page");
      if (!csrfTokenMatches(caller.session, req.headers["x-csrf-token"]))
        throw new AdminError(403, "bad_csrf_token", "missing or wrong X-CSRF-Token");
    }
    const body = endpoint.method === "POST" ? await readAdminBody(req) : {};
    const result = await endpoint.run({ req, res, url, caller, secure, body });
    if (result === ANSWERED) return;
    if (result === undefined) {
      sendEmpty(res, 204);
      return;
    }
    sendJson(res, 200, result);
  }

  private fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    // An unread request body must not be taken for the next request on the connection.
    req.resume();
    let status = 500;
    let code = "internal_error";
    let message = "internal error (see the proxy's log)";
    if (error instanceof AdminError) ({ status, code, message } = error);
    else if (error instanceof BodyTooLarge) {
      status = 413;
      code = "body_too_large";
      message = error.message;
    } else
      this.log.error({ err: error }, "admin page: %s %s failed", req.method, (req.url ?? "").split("?")[0]);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    if (error instanceof AdminError && status === 405) headers.allow = error.message.split(" ")[0] ?? "";
    // The rest of an oversized body is not worth reading: the connection ends with the answer.
    if (status === 413) headers.connection = "close";
    sendJson(res, status, { error: message, code }, headers);
  }
}

function methodNotAllowed(allowed: string): AdminError {
  return new AdminError(405, "method_not_allowed", `${allowed} only`);
}
