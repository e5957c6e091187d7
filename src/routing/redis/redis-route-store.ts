import { randomBytes } from "node:crypto";
import type { ConnectionOptions } from "node:tls";
import type { Redis } from "ioredis";
import type { Logger } from "../../log/logger.js";
import {
  cleanRoutePath,
  RouteStoreUnavailable,
  type RouteData,
  type RouteMatch,
  type RouteStore,
} from "../route-store.js";
import { changeBody, parseChangeMessage, type ChangeOp } from "./change-message.js";
import { ChangeSequencer } from "./change-sequencer.js";
import { CorruptValueLog } from "./corrupt-value-log.js";
import { DEFAULT_KEY_PREFIX, keyLayout, type RedisKeyLayout } from "./key-layout.js";
import { LocalRouteTable, parseSnapshot, type Snapshot } from "./local-table.js";
import { EPOCH_CHANGED, scripts } from "./lua-scripts.js";
import {
  createRedisClient,
  isCommandTimeout,
  RedisStoreOpenError,
  type RedisTimeouts,
} from "./redis-connection.js";
import { parseRedisUrl, type RedisConnectionSettings } from "./redis-url.js";
import { encodeRoute, parseActivity, routeDataProblem, type EncodedRoute } from "./route-codec.js";

export interface RedisRouteStoreOptions extends Partial<RedisTimeouts> {
  log: Logger;
  /** Starts every key and the channel, so several hubs can share one Redis database. */
  keyPrefix?: string;
  /** Activity notes reach Redis, and the copy is checked against Redis's change number, this often. */
  flushIntervalMs?: number;
  /** A change number skipped for this long means a lost message: the copy is reloaded. */
  gapWaitMs?: number;
  /** Extra TLS options for `rediss://` (a CA, a client certificate). */
  tls?: ConnectionOptions;
  /** Called on each change of `status().state`. */
  onStateChange?: (status: RedisStoreStatus) => void;
}

/**
 * - `syncing`: connected, loading the table (at start, after a reconnect, after a missed change);
 * - `synced`: connected, the copy follows Redis;
 * - `unavailable`: a connection is down; requests are routed from the copy, writes fail at once;
 * - `closed`.
 */
export type RedisStoreState = "syncing" | "synced" | "unavailable" | "closed";

export interface RedisStoreStatus {
  state: RedisStoreState;
  /** Writes are accepted (both connections are up and subscribed). */
  connected: boolean;
  /** The Redis URL without its password. */
  url: string;
  /** End of the last full load of the table from Redis. */
  lastSyncAt: Date | undefined;
  /** Full loads so far (the first at open). */
  reloads: number;
  /** Routes in the local copy. */
  routes: number;
  /** The last error from Redis or the connection (no credentials in it). */
  lastError: string | undefined;
}

const DEFAULTS = {
  commandTimeoutMs: 2000,
  connectTimeoutMs: 2000,
  reconnectMaxDelayMs: 2000,
  flushIntervalMs: 1000,
  gapWaitMs: 100,
};

/**
 * A route table shared by several proxy replicas through Redis. Each replica answers requests from a local copy
 * (an in-memory store: `getTarget` never waits on Redis), loaded at open and kept current from the change channel,
 * and reloaded whole after a reconnect or a missed change. API writes go to Redis first — a route, its activity,
 * the change number and the change message in one script — and resolve once the local copy has them.
 *
 * Activity: requests note it on the copy's routes; every `flushIntervalMs` the replica sends the newer notes of all
 * routes in one script that keeps the newest time per route. `getAll` and `get` fold in the newest times from Redis
 * (one round trip), so the API shows activity noted on any replica up to its last flush.
 */
export class RedisRouteStore implements RouteStore {
  /** Its local copy is an in-memory store, which announces every change, learnt from Redis or made here. */
  readonly announcesChanges = true;
  private readonly keys: RedisKeyLayout;
  private readonly timeouts: RedisTimeouts;
  private readonly corrupt: CorruptValueLog;
  private readonly table: LocalRouteTable;
  private readonly sequencer: ChangeSequencer;
  private readonly commands: Redis;
  /** The subscriber connection, kept apart (under RESP2 a subscribed connection takes no other commands). */
  private readonly changes: Redis;
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;
  private started = false;
  private closed = false;
  private subscribed = false;
  private subscribing: Promise<void> | undefined = undefined;
  private synced = false;
  private state: RedisStoreState = "syncing";
  private reloadWanted = false;
  private reloading: Promise<void> | undefined = undefined;
  private ticking: Promise<void> | undefined = undefined;
  /** Redis's change number at the previous tick: a copy still below it one tick later missed a message. */
  private seqAtLastTick = 0;
  private lastSyncAt: Date | undefined = undefined;
  private reloads = 0;
  private lastError: string | undefined = undefined;
  /** A connection failed with an error (not only closed) since it was last ready. */
  private errorSinceReady = false;
  /** Unavailable since the last synced state: the outage is logged once, and its end. */
  private outage = false;

  /** Connects, loads the table and follows it; fails with a one-line error when the URL is bad or Redis unusable. */
  static async open(url: string, options: RedisRouteStoreOptions): Promise<RedisRouteStore> {
    const store = new RedisRouteStore(parseRedisUrl(url), options);
    try {
      await store.start();
    } catch (error) {
      const reason = store.lastError ?? (error instanceof Error ? error.message : String(error));
      await store.close();
      throw new RedisStoreOpenError(`Cannot use Redis at ${store.settings.display}: ${reason}`, {
        cause: error,
      });
    }
    return store;
  }

  private constructor(
    private readonly settings: RedisConnectionSettings,
    private readonly options: RedisRouteStoreOptions,
  ) {
    this.log = options.log;
    this.keys = keyLayout(options.keyPrefix);
    this.timeouts = {
      commandTimeoutMs: options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? DEFAULTS.reconnectMaxDelayMs,
    };
    this.corrupt = new CorruptValueLog(this.log);
    this.table = new LocalRouteTable(this.corrupt);
    this.sequencer = new ChangeSequencer(
      {
        apply: (change) => this.table.apply(change),
        reloadNeeded: (reason) => this.requestReload(reason),
      },
      options.gapWaitMs ?? DEFAULTS.gapWaitMs,
    );
    this.commands = createRedisClient(settings, this.timeouts, options.tls);
    this.changes = createRedisClient(settings, this.timeouts, options.tls);
    for (const client of [this.commands, this.changes]) {
      client.on("error", (error: Error) => {
        this.lastError = error.message;
        this.errorSinceReady = true;
        this.log.debug("Redis route store: %s", error.message);
      });
      client.on("close", () => this.connectionLost(client));
      client.on("ready", () => {
        this.errorSinceReady = false;
        void this.connectionReady();
      });
    }
    this.changes.on("message", (_channel: string, message: string) => this.received(message));
    this.timer = setInterval(() => void this.tick(), options.flushIntervalMs ?? DEFAULTS.flushIntervalMs);
    this.timer.unref();
  }

  private async start(): Promise<void> {
    await Promise.all([this.commands.connect(), this.changes.connect()]);
    await this.subscribe();
    this.requestReload("opening");
    await this.reloading;
    if (!this.synced) throw new Error(this.lastError ?? "the route table could not be loaded");
    this.started = true;
    this.log.info(
      "Using the Redis route store at %s (key prefix '%s', %d routes)",
      this.settings.display,
      this.options.keyPrefix ?? DEFAULT_KEY_PREFIX,
      this.table.size,
    );
    this.notifyState();
  }

  // The RouteStore interface. Reads never fail: without Redis they answer from the local copy.

  getTarget(path: string): RouteMatch | undefined {
    return this.table.routes.getTarget(path);
  }

  async get(path: string): Promise<RouteData | undefined> {
    const key = cleanRoutePath(path);
    if (!this.table.routes.get(key)) return undefined;
    if (this.isConnected()) {
      try {
        const at = await this.commands.hget(this.keys.activity, key);
        this.foldRemoteActivity(at === null ? [] : [key, at]);
      } catch (error) {
        this.noteError(error);
      }
    }
    return this.table.routes.get(key);
  }

  async getAll(): Promise<Record<string, RouteData>> {
    await this.foldStoredActivity();
    return this.table.routes.getAll();
  }

  /** The local copy's JSON, kept ready between polls, with the activity Redis holds folded in first. */
  async getAllJson(): Promise<Buffer> {
    await this.foldStoredActivity();
    return this.table.routes.getAllJson();
  }

  async add(path: string, data: RouteData): Promise<void> {
    await this.addRoute("add", path, data);
  }

  /**
   * Start-up writes of several replicas at once (the default route): the route is written unless Redis has it
   * with the same target already, decided inside one script, so replicas starting together with the same
   * `--default-target` write it once, and a restart does not replace what JupyterHub stored under the path
   * (its data, its activity) while the target is unchanged. A replica started with another target replaces the
   * route, as CHP does on start.
   */
  async ensureRoute(path: string, data: RouteData): Promise<boolean> {
    return this.addRoute("ensure", path, data);
  }

  async update(path: string, partial: Partial<RouteData>): Promise<void> {
    const key = cleanRoutePath(path);
    const problem = routeDataProblem(partial, true);
    if (problem) throw new TypeError(`Route ${key}: ${problem}`);
    const route = encodeRoute(partial);
    await this.write("update", key, route, (epoch, body) =>
      scripts.update.run(this.commands, this.keys, [epoch, key, activityArg(route), body, ...route.fields]),
    );
  }

  async remove(path: string): Promise<void> {
    const key = cleanRoutePath(path);
    const removed = await this.write("remove", key, undefined, (epoch, body) =>
      scripts.remove.run(this.commands, this.keys, [epoch, key, body]),
    );
    // Redis did not have it: the copy is behind (its removal is on the way); it goes now.
    if (!removed) this.table.apply({ epoch: this.table.epoch, seq: 0, op: "remove", path: key });
  }

  // For the program: state, flush, close.

  status(): RedisStoreStatus {
    return {
      state: this.state,
      connected: this.isConnected(),
      url: this.settings.display,
      lastSyncAt: this.lastSyncAt,
      reloads: this.reloads,
      routes: this.table.size,
      lastError: this.lastError,
    };
  }

  /** Sends the activity noted so far to Redis now (the timer does it every `flushIntervalMs`). */
  async flushActivity(): Promise<void> {
    await this.ticking;
    await this.tick();
  }

  /** Sends the last activity notes (when connected) and releases both connections and every timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.started && this.isConnected()) await this.flushActivity();
    this.closed = true;
    clearInterval(this.timer);
    this.sequencer.close();
    this.commands.disconnect();
    this.changes.disconnect();
    this.setState("closed");
  }

  // Writes.

  private async addRoute(mode: "add" | "ensure", path: string, data: RouteData): Promise<boolean> {
    const key = cleanRoutePath(path);
    const problem = routeDataProblem(data);
    if (problem) throw new TypeError(`Route ${key}: ${problem}`);
    const route = encodeRoute(data);
    return this.write("add", key, route, (epoch, body) =>
      scripts.add.run(this.commands, this.keys, [
        epoch,
        mode,
        key,
        activityArg(route),
        body,
        ...route.fields,
      ]),
    );
  }

  /**
   * Runs a write script and applies the change to the copy in its turn. Fails at once with RouteStoreUnavailable
   * when a connection is down, and with it too when Redis does not answer. Resolves whether the table changed.
   */
  private async write(
    op: ChangeOp,
    path: string,
    route: EncodedRoute | undefined,
    run: (epoch: string, body: string) => Promise<unknown>,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      this.assertWritable();
      const epoch = this.table.epoch;
      const body = changeBody(epoch, op, path, route);
      let seq: number;
      try {
        seq = Number(await run(epoch, body));
      } catch (error) {
        this.noteError(error);
        const reason = error instanceof Error ? error.message : String(error);
        throw new RouteStoreUnavailable(
          `Redis at ${this.settings.display} did not take the change of ${path}: ${reason}`,
          {
            cause: error,
          },
        );
      }
      if (seq === EPOCH_CHANGED) {
        if (attempt > 1)
          throw new RouteStoreUnavailable(`The route table in Redis was replaced while ${path} was written`);
        this.requestReload("the table in Redis was replaced");
        await this.reloading;
        continue;
      }
      if (seq > 0) await this.applyOwn(seq, body);
      return seq > 0;
    }
  }

  private assertWritable(): void {
    if (this.closed) throw new RouteStoreUnavailable("The Redis route store is closed");
    if (!this.isConnected())
      throw new RouteStoreUnavailable(
        `Redis at ${this.settings.display} is unavailable${this.lastError ? ` (${this.lastError})` : ""}`,
      );
  }

  /**
   * The writer's own change enters the copy in change-number order like any other: the channel may bring a
   * change numbered before it later than the script's answer. If its turn does not come within a command timeout
   * (the channel went quiet), it is applied anyway — it is in Redis — and the next reload puts the copy in order.
   */
  private async applyOwn(seq: number, body: string): Promise<void> {
    const change = parseChangeMessage(`${seq}\n${body}`);
    if (typeof change === "string") throw new Error(`Redis route store: own change unreadable (${change})`);
    this.sequencer.offer(change);
    const applied = await this.sequencer.waitFor(change.epoch, seq, this.timeouts.commandTimeoutMs);
    if (!applied && !this.closed) this.table.apply(change);
  }

  // Following Redis: subscription, reloads, the periodic tick.

  private received(message: string): void {
    const change = parseChangeMessage(message);
    if (typeof change === "string") {
      this.corrupt.report(`message on ${this.keys.channel}`, change);
      return;
    }
    this.sequencer.offer(change);
  }

  private isConnected(): boolean {
    return this.commands.status === "ready" && this.changes.status === "ready" && this.subscribed;
  }

  /** Both connections up again: subscribe, then load the table (messages published meanwhile are lost). */
  private async connectionReady(): Promise<void> {
    if (!this.started || this.closed || this.commands.status !== "ready" || this.changes.status !== "ready")
      return;
    try {
      if (!this.subscribed) await this.subscribe();
    } catch (error) {
      this.noteError(error);
      return;
    }
    if (!this.synced) this.requestReload("reconnected");
  }

  private subscribe(): Promise<void> {
    this.subscribing ??= this.changes
      .subscribe(this.keys.channel)
      .then(() => {
        this.subscribed = true;
      })
      .finally(() => {
        this.subscribing = undefined;
      });
    return this.subscribing;
  }

  private connectionLost(client: Redis): void {
    if (!this.errorSinceReady && !this.closed) this.lastError = "Redis closed the connection";
    if (client === this.changes) this.subscribed = false;
    this.synced = false;
    this.updateState();
  }

  private requestReload(reason: string): void {
    if (this.closed) return;
    this.log.debug("Redis route store: loading the table (%s)", reason);
    this.reloadWanted = true;
    this.reloading ??= this.runReloads().finally(() => {
      this.reloading = undefined;
    });
  }

  private async runReloads(): Promise<void> {
    while (this.reloadWanted && this.isConnected() && !this.closed) {
      this.reloadWanted = false;
      this.synced = false;
      this.updateState();
      this.sequencer.hold();
      try {
        const snapshot = await this.readTable();
        if (this.table.epoch !== "" && snapshot.epoch !== this.table.epoch)
          this.log.warn(
            "The route table in Redis was replaced; loading the new one (%d routes)",
            snapshot.routes.length,
          );
        this.table.load(snapshot);
        this.sequencer.reset(snapshot.epoch, snapshot.seq);
        this.seqAtLastTick = snapshot.seq;
        this.lastSyncAt = new Date();
        this.reloads++;
        this.synced = true;
      } catch (error) {
        this.sequencer.release();
        this.noteError(error);
        break;
      }
    }
    this.updateState();
  }

  /** The table from Redis; when Redis has none, a new one is written first (see writeTable). */
  private async readTable(): Promise<Snapshot> {
    const snapshot = parseSnapshot(await scripts.snapshot.run(this.commands, this.keys, []), this.corrupt);
    if (snapshot.epoch !== "") return snapshot;
    await this.writeTable();
    const written = parseSnapshot(await scripts.snapshot.run(this.commands, this.keys, []), this.corrupt);
    if (written.epoch === "") throw new Error("the route table in Redis vanished right after it was written");
    return written;
  }

  /**
   * Redis has no table. At first start that means a new deployment: an empty table is created. A replica that had
   * loaded a table before finds Redis restarted without persistence, or flushed: it writes its copy back, so the
   * routes survive (JupyterHub's periodic route check mends any difference). Replicas doing this at once are
   * ordered by the script: the first writes, the others load its table.
   */
  private async writeTable(): Promise<void> {
    const epoch = randomBytes(8).toString("hex");
    const args: Array<string | number> = [epoch, changeBody(epoch, "reset")];
    const routes = this.table.epoch === "" ? {} : this.table.all();
    for (const [path, data] of Object.entries(routes)) {
      const route = encodeRoute(data);
      args.push(path, activityArg(route), route.fields.length, ...route.fields);
    }
    const wrote = Number(await scripts.seed.run(this.commands, this.keys, args));
    if (wrote !== 1) return;
    if (this.table.epoch === "")
      this.log.info("Created an empty route table in Redis at %s", this.settings.display);
    else
      this.log.warn(
        "Redis at %s had lost the route table; wrote this replica's %d routes back",
        this.settings.display,
        Object.keys(routes).length,
      );
  }

  /** Every `flushIntervalMs`: the activity notes out, Redis's change number in (a missed message shows there). */
  private tick(): Promise<void> {
    this.ticking ??= this.tickOnce()
      .catch((error: unknown) => this.noteError(error))
      .finally(() => {
        this.ticking = undefined;
      });
    return this.ticking;
  }

  private async tickOnce(): Promise<void> {
    if (this.closed || !this.started) return;
    if (!this.isConnected()) {
      // Both connections may be back with the subscription still missing (it failed): try it again.
      await this.connectionReady();
      return;
    }
    if (!this.synced) {
      if (!this.reloading) this.requestReload("the last load failed");
      return;
    }
    const epoch = this.table.epoch;
    const unsent = this.table.unsentActivity();
    const args: Array<string | number> = [epoch];
    for (const [path, at] of unsent) args.push(path, at);
    const [redisEpoch, seqText] = (await scripts.tick.run(this.commands, this.keys, args)) as [
      string,
      string,
    ];
    if (redisEpoch === epoch) this.table.markStored(unsent);
    if (this.reloading) return;
    const seq = Number(seqText);
    const applied = this.sequencer.position.seq;
    if (redisEpoch !== epoch) this.requestReload("the table in Redis was replaced");
    else if (!(seq >= applied))
      this.requestReload(`Redis's change number went back from ${applied} to ${seqText}`);
    else if (this.seqAtLastTick > applied) this.requestReload(`change ${applied + 1} was not received`);
    this.seqAtLastTick = Number.isSafeInteger(seq) ? seq : 0;
  }

  /** Folds in every route's activity as Redis holds it (other replicas' notes), when Redis can be reached. */
  private async foldStoredActivity(): Promise<void> {
    if (!this.isConnected()) return;
    try {
      const pairs = await this.commands.hgetall(this.keys.activity);
      this.foldRemoteActivity(Object.entries(pairs).flat());
    } catch (error) {
      this.noteError(error);
    }
  }

  private foldRemoteActivity(pairs: string[]): void {
    const remote = new Map<string, number>();
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const at = parseActivity(pairs[i + 1]);
      if (at === undefined) this.corrupt.report(`activity of ${pairs[i]}`, `'${pairs[i + 1]}' is not a time`);
      else remote.set(pairs[i], at);
    }
    this.table.foldActivity(remote);
  }

  // State.

  private noteError(error: unknown): void {
    if (this.closed) return;
    const message = error instanceof Error ? error.message : String(error);
    if (message !== this.lastError) this.log.warn("Redis route store: %s", message);
    this.lastError = message;
    if (isCommandTimeout(error) && !this.closed) {
      // A Redis that stopped answering (or a network that drops packets) leaves both sockets open: drop them, so
      // the store reports it unavailable and writes fail at once until Redis answers again.
      this.commands.disconnect(true);
      this.changes.disconnect(true);
    }
    this.updateState();
  }

  private updateState(): void {
    if (this.closed) return;
    this.setState(!this.isConnected() ? "unavailable" : this.synced ? "synced" : "syncing");
  }

  private setState(next: RedisStoreState): void {
    if (next === this.state) return;
    this.state = next;
    if (!this.started) return;
    if (next === "unavailable" && !this.outage) {
      this.outage = true;
      this.log.warn(
        "Redis route store unavailable at %s%s: routing from the local table (%d routes), route changes fail",
        this.settings.display,
        this.lastError ? ` (${this.lastError})` : "",
        this.table.size,
      );
    } else if (next === "synced" && this.outage) {
      this.outage = false;
      this.log.info(
        "Redis route store available again at %s (%d routes)",
        this.settings.display,
        this.table.size,
      );
    }
    this.notifyState();
  }

  /** The program's callback; a failure there is logged, never thrown into the store's connection handling. */
  private notifyState(): void {
    try {
      this.options.onStateChange?.(this.status());
    } catch (error) {
      this.log.error({ err: error }, "Redis route store: the state callback failed");
    }
  }
}

function activityArg(route: EncodedRoute): string {
  return route.activity === undefined ? "" : String(Math.trunc(route.activity));
}
