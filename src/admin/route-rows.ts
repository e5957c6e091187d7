import type { RouteData } from "../routing/route-store.js";

/** One route as the Routes page lists it. */
export interface RouteRow {
  path: string;
  target: string;
  /** JupyterHub's `user` and `server_name` fields, when it set them. */
  user?: string;
  serverName?: string;
  /** ISO 8601. */
  lastActivity?: string;
  /** WebSockets relayed through this route now. */
  sockets: number;
}

export function routeRow(path: string, data: RouteData, sockets: number): RouteRow {
  const activity = data.last_activity;
  const lastActivity =
    activity instanceof Date ? activity.toISOString() : typeof activity === "string" ? activity : undefined;
  return {
    path,
    target: data.target,
    ...(typeof data.user === "string" ? { user: data.user } : {}),
    ...(typeof data.server_name === "string" ? { serverName: data.server_name } : {}),
    ...(lastActivity !== undefined ? { lastActivity } : {}),
    sockets,
  };
}
