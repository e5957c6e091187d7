import { MemoryRouteStore } from "../memory-route-store.js";
import { activityTime, cleanRoutePath, type RouteData } from "../route-store.js";
import type { RouteChange } from "./change-message.js";
import type { CorruptValueLog } from "./corrupt-value-log.js";
import { decodeRouteFields, parseActivity, routeData } from "./route-codec.js";

/** The whole table as one snapshot script read it (see lua-scripts.ts). */
export interface Snapshot {
  epoch: string;
  seq: number;
  activity: Map<string, number>;
  routes: Array<{ path: string; changeSeq: string; fields: string[] | "WRONGTYPE" }>;
}

/** Checks the snapshot script's answer; a value written by hand is reported and left out, never thrown. */
export function parseSnapshot(reply: unknown, corrupt: CorruptValueLog): Snapshot {
  if (!Array.isArray(reply) || reply.length !== 4) throw new Error("unexpected snapshot reply from Redis");
  const [epoch, seqText, activityPairs, routeRows] = reply as [unknown, unknown, unknown, unknown];
  const seq = Number(seqText);
  if (typeof epoch !== "string" || !Number.isSafeInteger(seq) || seq < 0)
    throw new Error(`the change number in Redis is not a number ('${String(seqText).slice(0, 40)}')`);
  const activity = new Map<string, number>();
  const pairs = Array.isArray(activityPairs) ? (activityPairs as string[]) : [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const at = parseActivity(String(pairs[i + 1]));
    if (at === undefined)
      corrupt.report(`activity of ${pairs[i]}`, `'${String(pairs[i + 1])}' is not a time`);
    else activity.set(pairs[i], at);
  }
  const routes: Snapshot["routes"] = [];
  for (const row of Array.isArray(routeRows) ? (routeRows as unknown[]) : []) {
    const [path, changeSeq, fields] = row as [string, string, string[] | "WRONGTYPE"];
    if (cleanRoutePath(path) !== path) corrupt.report(`route '${path}'`, "not a route path");
    else routes.push({ path, changeSeq, fields });
  }
  return { epoch, seq, activity, routes };
}

/**
 * This replica's copy of the table: the in-memory store that answers requests, plus what the copy needs to stay
 * equal to Redis — the change number of each route (a reload decodes only the routes that changed) and the newest
 * activity Redis is known to hold for each (a flush sends only newer notes).
 */
export class LocalRouteTable {
  readonly routes = new MemoryRouteStore();
  /** The table epoch this copy was loaded from; "" before the first load. */
  epoch = "";
  /** route path → change number that last wrote it; holds exactly the routes of `routes`. */
  private readonly changeSeqs = new Map<string, string>();
  /** route path → the newest `last_activity` (ms) Redis is known to hold. */
  private readonly stored = new Map<string, number>();

  constructor(private readonly corrupt: CorruptValueLog) {}

  get size(): number {
    return this.changeSeqs.size;
  }

  apply(change: RouteChange): void {
    if (change.op === "reset") return;
    const { path } = change;
    if (change.op === "remove") {
      this.routes.remove(path);
      this.changeSeqs.delete(path);
      this.stored.delete(path);
      return;
    }
    if (change.op === "add") {
      const at = activityTime(change.data.last_activity);
      this.routes.add(path, { ...change.data });
      this.changeSeqs.set(path, String(change.seq));
      if (at === undefined) this.stored.delete(path);
      else this.stored.set(path, at);
      return;
    }
    if (!this.changeSeqs.has(path)) return;
    const { last_activity: lastActivity, ...fields } = change.partial;
    if (Object.keys(fields).length > 0) this.routes.update(path, fields);
    this.changeSeqs.set(path, String(change.seq));
    const at = activityTime(lastActivity);
    if (at !== undefined) this.foldActivity(new Map([[path, at]]));
  }

  /** Makes the copy equal to a snapshot, keeping the activity noted here that Redis does not have yet. */
  load(snapshot: Snapshot): void {
    // Change numbers of another table say nothing about this one: every route is decoded again.
    const sameTable = snapshot.epoch === this.epoch;
    this.epoch = snapshot.epoch;
    const present = new Set<string>();
    for (const { path, changeSeq, fields } of snapshot.routes) {
      const activity = snapshot.activity.get(path);
      if (!sameTable || this.changeSeqs.get(path) !== changeSeq) {
        const decoded =
          fields === "WRONGTYPE" ? "not a hash" : fields.length === 0 ? "no data" : decodeRouteFields(fields);
        if (typeof decoded === "string") {
          this.corrupt.report(`route ${path}`, decoded);
          continue;
        }
        this.routes.add(path, routeData(decoded, activity));
        this.changeSeqs.set(path, changeSeq);
        this.stored.delete(path);
      }
      present.add(path);
    }
    for (const path of [...this.changeSeqs.keys()]) {
      if (present.has(path)) continue;
      this.routes.remove(path);
      this.changeSeqs.delete(path);
      this.stored.delete(path);
    }
    this.foldActivity(snapshot.activity);
  }

  /** Raises each route's `last_activity` to the time Redis holds, where that is newer. */
  foldActivity(remote: Map<string, number>): void {
    for (const [path, at] of remote) {
      if (!this.changeSeqs.has(path)) continue;
      this.stored.set(path, Math.max(at, this.stored.get(path) ?? at));
      const data = this.routes.get(path);
      const local = activityTime(data?.last_activity);
      if (local === undefined || local < at) this.routes.update(path, { last_activity: new Date(at) });
    }
  }

  /**
   * Activity noted here (requests' notes are folded in by reading the routes) that is newer than what Redis is
   * known to hold. One pass over the table per flush (every second): the in-memory store keeps notes on its routes,
   * not in a list; the pass builds nothing per route (through a `getAll` object, 10,000 routes took ≈ 8 ms each
   * second here, against 0.2-0.5 ms).
   */
  unsentActivity(): Map<string, number> {
    const unsent = new Map<string, number>();
    this.routes.forEachRoute((path, data) => {
      const at = activityTime(data.last_activity);
      if (at !== undefined && at > (this.stored.get(path) ?? -Infinity)) unsent.set(path, at);
    });
    return unsent;
  }

  /** After a flush: Redis holds at least these times. */
  markStored(sent: Map<string, number>): void {
    for (const [path, at] of sent) {
      if (this.changeSeqs.has(path)) this.stored.set(path, Math.max(at, this.stored.get(path) ?? at));
    }
  }

  /** Every route with its data, for writing the copy back to a Redis that lost the table. */
  all(): Record<string, RouteData> {
    return this.routes.getAll();
  }
}
