import type { RouteData } from "../route-store.js";
import { routeData, routeDataProblem, type EncodedRoute } from "./route-codec.js";

/**
 * One change of the table, as published on the change channel: `<seq>\n<body>`. The writing replica builds the
 * body (JSON: `{"epoch","op","path","data","activity"}`) and the script that makes the change prepends the change
 * number it drew, so the number and the change can never disagree.
 */
export type RouteChange =
  | { epoch: string; seq: number; op: "add"; path: string; data: RouteData }
  | { epoch: string; seq: number; op: "update"; path: string; partial: Partial<RouteData> }
  | { epoch: string; seq: number; op: "remove"; path: string }
  /** A new table was written (created, or written back after Redis lost it): load it whole. */
  | { epoch: string; seq: number; op: "reset" };

export type ChangeOp = RouteChange["op"];

interface ChangeBody {
  epoch: string;
  op: ChangeOp;
  path?: string;
  data?: Record<string, unknown>;
  activity?: number;
}

export function changeBody(epoch: string, op: ChangeOp, path?: string, route?: EncodedRoute): string {
  const body: ChangeBody = { epoch, op, path, data: route?.data, activity: route?.activity };
  return JSON.stringify(body);
}

/** The change a message announces, or why the message is not one (a hand-written or foreign publish). */
export function parseChangeMessage(message: string): RouteChange | string {
  const newline = message.indexOf("\n");
  const seq = Number(message.slice(0, newline));
  if (newline < 1 || !Number.isSafeInteger(seq) || seq < 0) return "no change number";
  let body: Partial<ChangeBody>;
  try {
    body = JSON.parse(message.slice(newline + 1)) as Partial<ChangeBody>;
  } catch {
    return "body is not JSON";
  }
  if (typeof body !== "object" || body === null || typeof body.epoch !== "string") return "no table epoch";
  const { epoch, op, path } = body;
  if (op === "reset") return { epoch, seq, op };
  if (typeof path !== "string" || !path.startsWith("/")) return "no route path";
  const activity =
    typeof body.activity === "number" && Number.isFinite(body.activity) ? body.activity : undefined;
  switch (op) {
    case "remove":
      return { epoch, seq, op, path };
    case "add": {
      const problem = routeDataProblem(body.data);
      if (problem) return `route ${path}: ${problem}`;
      return { epoch, seq, op, path, data: routeData(body.data as Record<string, unknown>, activity) };
    }
    case "update": {
      const problem = routeDataProblem(body.data ?? {}, true);
      if (problem) return `route ${path}: ${problem}`;
      return { epoch, seq, op, path, partial: routeData(body.data ?? {}, activity) };
    }
    default:
      return `unknown operation '${String(op).slice(0, 20)}'`;
  }
}
