/**
 * Where the route table lives in Redis. Every name starts with the key prefix, so several hubs (each with its own
 * prefix) can share one Redis database:
 *
 *   <prefix>epoch         string  Id of this copy of the table, new each time the table is created. A replica
 *                                 that finds another id (or none: Redis restarted empty, or was flushed) knows its
 *                                 copy no longer matches and loads the table again (or writes its copy back).
 *   <prefix>seq           string  Number of the last route change; every add, update and remove increments it.
 *   <prefix>routes        hash    route path → the change number that last wrote the route: the table's index,
 *                                 and what lets a replica reload only the routes that changed.
 *   <prefix>route:<path>  hash    One route's data, one field per top-level key of JupyterHub's JSON, each value
 *                                 JSON (`target` → `"http://10.0.0.5:8888"`). A hash per route makes an update a
 *                                 merge of the given keys, as CHP's update is, without decoding the route.
 *   <prefix>activity      hash    route path → `last_activity` in ms since 1970, the newest any replica noted.
 *   <prefix>changes       channel One message per route change, published by the script that made it:
 *                                 `<seq>\n<JSON of the change>` (see change-message.ts).
 *
 * Route keys are derived inside the Lua scripts, so the table needs one Redis server (or a primary with replicas),
 * not a Redis Cluster.
 */
export interface RedisKeyLayout {
  epoch: string;
  seq: string;
  routes: string;
  activity: string;
  /** Followed by a route path (which starts with `/`). */
  routePrefix: string;
  channel: string;
}

export const DEFAULT_KEY_PREFIX = "ltictr-proxy:";

export class RedisKeyPrefixError extends Error {
  readonly code = "REDIS_KEY_PREFIX_INVALID";

  constructor(message: string) {
    super(message);
    this.name = "RedisKeyPrefixError";
  }
}

export function keyLayout(prefix: string = DEFAULT_KEY_PREFIX): RedisKeyLayout {
  // eslint-disable-next-line no-control-regex
  if (prefix.length > 200 || /[\x00-\x20\x7f]/.test(prefix))
    throw new RedisKeyPrefixError(
      `Invalid Redis key prefix '${prefix.slice(0, 40)}': at most 200 characters, no spaces or control characters`,
    );
  return {
    epoch: `${prefix}epoch`,
    seq: `${prefix}seq`,
    routes: `${prefix}routes`,
    activity: `${prefix}activity`,
    routePrefix: `${prefix}route:`,
    channel: `${prefix}changes`,
  };
}
