import { activityTime, type RouteData } from "../route-store.js";
import { isJsonObject } from "../../json-object.js";

/**
 * A route's data as Redis keeps it: `last_activity` apart (it has a hash of its own, merged newest-wins), the rest
 * as JSON. Data goes through JSON once on the writing replica, so every replica, the writer included, holds what
 * the others decode.
 */
export interface EncodedRoute {
  /** The data without `last_activity`, JSON-safe. */
  data: Record<string, unknown>;
  /** `[key, JSON of its value, …]`: the route's hash fields. */
  fields: string[];
  /** `last_activity` in ms since 1970, when the data has a usable one. */
  activity: number | undefined;
}

export function encodeRoute(data: Partial<RouteData>): EncodedRoute {
  const { last_activity: lastActivity, ...rest } = data;
  const plain = JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
  const fields: string[] = [];
  for (const [key, value] of Object.entries(plain)) fields.push(key, JSON.stringify(value));
  return { data: plain, fields, activity: activityTime(lastActivity) };
}

/** An activity hash value: whole ms since 1970, as the scripts write it. */
export function parseActivity(text: string): number | undefined {
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

/** Why `value` cannot be a route's data (without `last_activity`), or undefined when it can. */
export function routeDataProblem(value: unknown, partial = false): string | undefined {
  if (!isJsonObject(value)) return "not a JSON object";
  const target = (value as Record<string, unknown>).target;
  if (target === undefined && partial) return undefined;
  if (typeof target !== "string") return "no target string";
  try {
    new URL(target);
  } catch {
    return `target '${target.slice(0, 100)}' is not a URL`;
  }
  return undefined;
}

/** A route's hash fields (`[key, JSON, …]`) as data, or the reason they are not a route. */
export function decodeRouteFields(fields: string[]): Record<string, unknown> | string {
  const entries: Array<[string, unknown]> = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    try {
      entries.push([fields[i], JSON.parse(fields[i + 1])]);
    } catch {
      return `field '${fields[i].slice(0, 100)}' is not JSON`;
    }
  }
  // fromEntries defines own properties: a field named `__proto__` stays a field.
  const data = Object.fromEntries(entries);
  return routeDataProblem(data) ?? data;
}

/** Data for the local table: a fresh object (the table keeps and updates it) with `last_activity` as a Date. */
export function routeData(data: Record<string, unknown>, activity: number | undefined): RouteData {
  const route = { ...data } as RouteData;
  if (activity !== undefined) route.last_activity = new Date(activity);
  return route;
}
