import type { IncomingMessage, ServerResponse } from "node:http";
import { events, type ApiRequest } from "../events.js";
import type { Logger } from "../log/logger.js";
import type { ActivityRecorder } from "../routing/activity-recorder.js";
import {
  activityTime,
  cleanRoutePath,
  RouteStoreUnavailable,
  type RouteData,
  type RouteStore,
} from "../routing/route-store.js";
import { requestPathname } from "../routing/request-path.js";
import { BodyTooLarge, readBody } from "./json-body.js";
import type { RouteChanges } from "./route-changes.js";
import type { TokenCheck } from "./token-check.js";

/** Request bodies are route JSON from JupyterHub: a few hundred bytes. CHP read any size into memory. */
export const API_BODY_LIMIT = 1024 * 1024;

export interface RoutesApiOptions {
  store: RouteStore;
  tokens: TokenCheck;
  activity: ActivityRecorder;
  /** Adds and removes routes (shared with the admin page). */
  changes: RouteChanges;
  hostRouting: boolean;
  log: Logger;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * CHP's REST API with its hangs and crashes fixed (DELETE without a path, a malformed `%` escape, a body read
 * before the token was checked, bodies of any size): every request
 * gets an answer, malformed escapes are 400, auth comes before the body is read.
 */
export class RoutesApi {
  private readonly store: RouteStore;
  private readonly tokens: TokenCheck;
  private readonly activity: ActivityRecorder;
  private readonly log: Logger;

  constructor(private readonly options: RoutesApiOptions) {
    this.store = options.store;
    this.tokens = options.tokens;
    this.activity = options.activity;
    this.log = options.log;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    let message = "";
    let action: ApiRequest["action"];
    res.on("finish", () => {
      const status = res.statusCode;
      if (events.apiRequest.active) events.apiRequest.publish({ status, action });
      const line = `${status} ${req.method} ${(req.url ?? "").split("?")[0]} ${message}`;
      if (status < 400) this.log.info(line);
      else if (status < 500) this.log.warn(line);
      else this.log.error(line);
    });
    this.route(req, res, (done) => (action = done)).catch((error: unknown) => {
      const status =
        error instanceof ApiError
          ? error.status
          : error instanceof BodyTooLarge
            ? 413
            : error instanceof RouteStoreUnavailable
              ? 503
              : 500;
      message = error instanceof Error ? error.message : String(error);
      if (status === 500) this.log.error({ err: error }, "Error in handler for %s %s", req.method, req.url);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(status);
      res.end(status === 403 ? undefined : message);
    });
  };

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    did: (action: ApiRequest["action"]) => void,
  ): Promise<void> {
    const pathname = requestPathname(req.url ?? "/");
    if (pathname === undefined) throw new ApiError(400, "Invalid URL");
    const match = /^\/api\/routes(\/.*)?$/.exec(pathname);
    if (!match) throw new ApiError(404, "Not Found");
    const method = req.method ?? "";
    if (method !== "GET" && method !== "POST" && method !== "DELETE")
      throw new ApiError(405, "Method not supported");
    if (!this.tokens.allows(req.headers.authorization)) {
      this.log.debug(
        "Rejecting API request with %s",
        req.headers.authorization ? "a wrong token" : "no authorization",
      );
      req.resume();
      throw new ApiError(403, "");
    }
    let path: string | undefined;
    if (match[1] !== undefined) {
      try {
        path = decodeURIComponent(match[1]);
      } catch {
        throw new ApiError(400, `Invalid URL encoding in ${match[1]}`);
      }
    }
    if (method === "GET") {
      if (path === undefined || cleanRoutePath(path) === "/") did("read");
      return this.get(res, path, new URL(req.url ?? "/", "http://localhost").searchParams);
    }
    if (method === "POST") return this.post(req, res, path ?? "/", () => did("add"));
    did("delete");
    return this.remove(res, path ?? "/");
  }

  private async get(res: ServerResponse, path: string | undefined, query: URLSearchParams): Promise<void> {
    await this.activity.flush();
    if (path !== undefined && cleanRoutePath(path) !== "/") {
      const data = await this.store.get(path);
      if (!data) {
        res.writeHead(404);
        res.end();
        return;
      }
      sendJson(res, data);
      return;
    }
    const since = query.get("inactiveSince") || query.get("inactive_since");
    if (!since) {
      const { store } = this;
      sendJsonText(res, store.getAllJson ? await store.getAllJson() : JSON.stringify(await store.getAll()));
      return;
    }
    const routes = await this.store.getAll();
    const cutoff = Date.parse(since);
    if (!Number.isFinite(cutoff)) throw new ApiError(400, `Invalid datestamp '${since}' must be ISO8601.`);
    const inactive: Record<string, RouteData> = {};
    for (const [key, data] of Object.entries(routes)) {
      const last = activityTime(data.last_activity);
      if (last !== undefined && last < cutoff) inactive[key] = data;
    }
    sendJson(res, inactive);
  }

  private async post(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    added: () => void,
  ): Promise<void> {
    const body = await readBody(req, API_BODY_LIMIT);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch (error) {
      throw new ApiError(400, `Body not valid JSON: ${String(error)}`);
    }
    if (!isRouteBody(parsed)) {
      this.log.warn("Bad POST data: %s", body.toString("utf8").slice(0, 200));
      throw new ApiError(400, "Must specify 'target' as string");
    }
    if (!URL.canParse(parsed.target)) throw new ApiError(400, `Invalid target URL '${parsed.target}'`);
    const key = cleanRoutePath(path);
    // The parsed body is this call's own object, so it becomes the route itself. A spread copy of it took 0.85 µs
    // warm (setting a field: 0.13 µs), and cold, between one API call and the next, 4-5 µs of the answer's time.
    const route = parsed;
    route.last_activity = new Date();
    if (this.options.hostRouting && key !== "/") route.host = key.split("/")[1];
    await this.options.changes.add(key, route);
    added();
    res.writeHead(201);
    res.end();
  }

  private async remove(res: ServerResponse, path: string): Promise<void> {
    res.writeHead((await this.options.changes.remove(path)) ? 204 : 404);
    res.end();
  }
}

/** A POST body the API takes: a JSON object whose `target` is a string. */
function isRouteBody(value: unknown): value is RouteData {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { target?: unknown }).target === "string"
  );
}

function sendJson(res: ServerResponse, value: unknown): void {
  sendJsonText(res, JSON.stringify(value));
}

function sendJsonText(res: ServerResponse, json: string | Buffer): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(json);
}
