import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { RedisKeyLayout } from "./key-layout.js";

/**
 * The table's server-side operations (key layout in key-layout.ts). Each runs as one Lua script, so a route, its
 * activity, the change number and the change message are written together or not at all, and a replica never
 * sees a change number without its change.
 *
 * Every script takes KEYS = [epoch, seq, routes, activity] and ARGV[1] = route key prefix, ARGV[2] = change
 * channel. Writes then take the table epoch the replica holds and answer −1 when Redis has another one (the
 * table was replaced or lost: the replica reloads it before writing), 0 when nothing changed, or the change
 * number they drew.
 */

/** The write answer for "Redis holds another table than the one this replica loaded". */
export const EPOCH_CHANGED = -1;

/** ARGV: 3 epoch, 4 mode (`add` | `ensure`), 5 path, 6 activity ms or '', 7 change body, 8… field/value pairs. */
const ADD = `
if redis.call('GET', KEYS[1]) ~= ARGV[3] then return -1 end
local key = ARGV[1] .. ARGV[5]
if ARGV[4] == 'ensure' and redis.call('HEXISTS', KEYS[3], ARGV[5]) == 1 then
  local target
  for i = 8, #ARGV, 2 do
    if ARGV[i] == 'target' then target = ARGV[i + 1] end
  end
  local current = redis.pcall('HGET', key, 'target')
  if current == target then return 0 end
end
redis.call('DEL', key)
redis.call('HSET', key, unpack(ARGV, 8))
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[3], ARGV[5], seq)
if ARGV[6] == '' then
  redis.call('HDEL', KEYS[4], ARGV[5])
else
  redis.call('HSET', KEYS[4], ARGV[5], ARGV[6])
end
redis.call('PUBLISH', ARGV[2], seq .. '\\n' .. ARGV[7])
return seq
`;

/** ARGV: 3 epoch, 4 path, 5 activity ms or '', 6 change body, 7… field/value pairs (may be none). */
const UPDATE = `
if redis.call('GET', KEYS[1]) ~= ARGV[3] then return -1 end
if redis.call('HEXISTS', KEYS[3], ARGV[4]) == 0 then return 0 end
if #ARGV >= 8 then redis.call('HSET', ARGV[1] .. ARGV[4], unpack(ARGV, 7)) end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[3], ARGV[4], seq)
if ARGV[5] ~= '' then
  local current = tonumber(redis.call('HGET', KEYS[4], ARGV[4]))
  if current == nil or current < tonumber(ARGV[5]) then redis.call('HSET', KEYS[4], ARGV[4], ARGV[5]) end
end
redis.call('PUBLISH', ARGV[2], seq .. '\\n' .. ARGV[6])
return seq
`;

/** ARGV: 3 epoch, 4 path, 5 change body. */
const REMOVE = `
if redis.call('GET', KEYS[1]) ~= ARGV[3] then return -1 end
local key = ARGV[1] .. ARGV[4]
if redis.call('HDEL', KEYS[3], ARGV[4]) == 0 then
  redis.call('DEL', key)
  return 0
end
redis.call('DEL', key)
redis.call('HDEL', KEYS[4], ARGV[4])
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], seq .. '\\n' .. ARGV[5])
return seq
`;

/**
 * The whole table at one change number: {epoch or '', seq, activity pairs, {path, change number, field pairs}…}.
 * A route key that is not a hash (written by hand) comes back as the string 'WRONGTYPE' instead of its fields.
 */
const SNAPSHOT = `
local index = redis.call('HGETALL', KEYS[3])
local routes = {}
for i = 1, #index, 2 do
  local fields = redis.pcall('HGETALL', ARGV[1] .. index[i])
  if type(fields) == 'table' and fields.err then fields = 'WRONGTYPE' end
  routes[#routes + 1] = {index[i], index[i + 1], fields}
end
return {redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', KEYS[4]), routes}
`;

/**
 * Writes a new table when Redis has none (no epoch): empty when a replica starts, or a replica's copy when Redis
 * lost the table. Only the first replica to try writes; the others find the epoch and load that table.
 * ARGV: 3 new epoch, 4 change body, then per route: path, activity ms or '', n, n field/value strings.
 * Answers 1 when it wrote, 0 when a table was there.
 */
const SEED = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for _, path in ipairs(redis.call('HKEYS', KEYS[3])) do redis.call('DEL', ARGV[1] .. path) end
redis.call('DEL', KEYS[3], KEYS[4])
local i = 5
while i <= #ARGV do
  local path, activity, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local key = ARGV[1] .. path
  redis.call('DEL', key)
  redis.call('HSET', key, unpack(ARGV, i + 3, i + 2 + n))
  redis.call('HSET', KEYS[3], path, 0)
  if activity ~= '' then redis.call('HSET', KEYS[4], path, activity) end
  i = i + 3 + n
end
redis.call('SET', KEYS[2], 0)
redis.call('SET', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[2], '0\\n' .. ARGV[4])
return 1
`;

/**
 * A replica's periodic round trip: merges its activity notes (newest wins, only for routes still in the table,
 * and a value that is not a number is replaced) and answers {epoch or '', seq}, from which the replica sees
 * whether it missed a change. ARGV: 3 epoch, then path/ms pairs.
 */
const TICK = `
local epoch = redis.call('GET', KEYS[1]) or ''
if epoch == ARGV[3] then
  for i = 4, #ARGV, 2 do
    if redis.call('HEXISTS', KEYS[3], ARGV[i]) == 1 then
      local current = tonumber(redis.call('HGET', KEYS[4], ARGV[i]))
      if current == nil or current < tonumber(ARGV[i + 1]) then redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
    end
  end
end
return {epoch, redis.call('GET', KEYS[2]) or '0'}
`;

/** A script run by its SHA1 (EVALSHA), sent whole once when Redis does not know it (first use, after a restart). */
class RedisScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }

  async run(client: Redis, keys: RedisKeyLayout, args: Array<string | number>): Promise<unknown> {
    const all = [keys.epoch, keys.seq, keys.routes, keys.activity, keys.routePrefix, keys.channel, ...args];
    try {
      return await client.evalsha(this.sha, 4, ...all);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return await client.eval(this.lua, 4, ...all);
    }
  }
}

export const scripts = {
  add: new RedisScript(ADD),
  update: new RedisScript(UPDATE),
  remove: new RedisScript(REMOVE),
  snapshot: new RedisScript(SNAPSHOT),
  seed: new RedisScript(SEED),
  tick: new RedisScript(TICK),
};
