import { ACTIVE_STATES, RunMessage, TERMINAL_STATES, TRANSITIONS } from './states';

function luaTable(): string {
  const rows = (Object.keys(TRANSITIONS) as RunMessage[]).map((message) => {
    const cells = Object.entries(TRANSITIONS[message]).map(([from, to]) => `${from}='${to}'`);
    return `${message}={${cells.join(',')}}`;
  });
  return `{${rows.join(',')}}`;
}

const setOf = (states: Iterable<string>) => `{${[...states].map((s) => `${s}=true`).join(',')}}`;

/**
 * Lua of the per-user active-run sets (RunKeys.activeRuns builds the same names): the set of a
 * run's owner, and a user's count of active runs. Below the limit the count is the set's size;
 * at or above it, ids whose run is terminal or gone (deleted, expired, written around the
 * scripts) are dropped first, so a lost id cannot hold a slot forever and the common case
 * costs one SCARD. A set larger than PRUNE_BATCH (a user far over a lowered limit) is checked
 * a random PRUNE_BATCH ids at a time, so one submit never blocks Redis for long; it heals
 * over several.
 */
const ACTIVE_RUNS_LUA = `
local TERMINAL = ${setOf(TERMINAL_STATES)}
local PRUNE_BATCH = 1000
local function activeSet(prefix, owner)
  if owner and owner ~= '' then return prefix .. ':owner:' .. owner .. ':active' end
  return prefix .. ':anonymous:active'
end
local function activeCount(set, prefix, limit)
  local n = redis.call('SCARD', set)
  if limit > 0 and n >= limit then
    local ids = n <= PRUNE_BATCH and redis.call('SMEMBERS', set) or redis.call('SRANDMEMBER', set, PRUNE_BATCH)
    for _, id in ipairs(ids) do
      local s = redis.call('HGET', prefix .. ':run:' .. id, 'state')
      if not s or TERMINAL[s] then redis.call('SREM', set, id) end
    end
    n = redis.call('SCARD', set)
  end
  return n
end
`;

/**
 * Applies one message to one run, atomically: compare the current state with the message's
 * legal from-states, write the new state and its time, keep the per-state counters and the
 * index of active runs, and write the message's extra fields and system_logs lines, all in the
 * same step. `initialize` also counts the attempt.
 *
 * A sender that holds the run names the attempt it holds: if the run has moved on to another
 * attempt (its worker was taken for lost and the run given to another), the message is
 * refused as stale, and so it is while the run waits QUEUED for its next attempt: a worker
 * that comes back from a long pause cannot end someone else's attempt, or the run it lost.
 *
 * KEYS: run hash, counts hash, system_logs list, doc hash.
 * ARGV: message, now (ms), run id, key prefix, expected attempt ('' for any), n, n field/value
 * pairs for the run hash, m, m field/value pairs for the doc hash, then log lines.
 * Returns {1, from, to} when applied, {0, current} when refused, {0, current, 'stale'} when
 * refused for the attempt, {-1, ''} for no such run.
 */
export const TRANSITION_SCRIPT = `
local LEGAL = ${luaTable()}
${ACTIVE_RUNS_LUA}
local ACTIVE = ${setOf(ACTIVE_STATES)}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {-1, ''} end
if ARGV[5] ~= '' and (state == 'QUEUED' or (redis.call('HGET', KEYS[1], 'attempt') or '0') ~= ARGV[5]) then
  return {0, state, 'stale'}
end
local row = LEGAL[ARGV[1]]
local to = row and row[state]
if not to then return {0, state} end
local now, id, prefix = ARGV[2], ARGV[3], ARGV[4]
redis.call('HSET', KEYS[1], 'state', to, 't:' .. to, now)
if to == 'RUNNING' then redis.call('HSET', KEYS[1], 'start', now) end
if to == 'INITIALIZING' then redis.call('HINCRBY', KEYS[1], 'attempt', 1) end
if TERMINAL[to] then
  redis.call('HSET', KEYS[1], 'end', now)
  redis.call('SREM', activeSet(prefix, redis.call('HGET', KEYS[1], 'owner')), id)
end
if to == 'CANCELING' then
  redis.call('HSET', KEYS[1], 'cancel', now)
  redis.call('PUBLISH', prefix .. ':cancel', id)
end
if ACTIVE[state] then redis.call('ZREM', prefix .. ':in:' .. state, id) end
if ACTIVE[to] then redis.call('ZADD', prefix .. ':in:' .. to, now, id) end
redis.call('HINCRBY', KEYS[2], state, -1)
redis.call('HINCRBY', KEYS[2], to, 1)
local i = 6
for _, key in ipairs({KEYS[1], KEYS[4]}) do
  local n = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, n do
    redis.call('HSET', key, ARGV[i], ARGV[i + 1])
    i = i + 2
  end
end
while i <= #ARGV do
  redis.call('RPUSH', KEYS[3], ARGV[i])
  i = i + 1
end
return {1, state, to}
`;

/**
 * Records a new run, atomically: its fields, state QUEUED and its time, its place in the run
 * index (and its owner's index, when it has an owner), the QUEUED index, the QUEUED counter,
 * its owner's set of active runs, and its first system_logs lines (e.g. the client-side engine
 * parameters it dropped). Nothing when the id is taken, nor when the owner already has
 * `max active` runs that are not finished: the count and the record are one step, so two
 * submits racing for a user's last slot cannot both get it.
 *
 * KEYS: run hash, run index, counts hash, doc hash, system_logs list, owner's run index ('' for
 * none), owner's active-run set.
 * ARGV: run id, now (ms), key prefix, max active runs (0: no limit), n, n field/value pairs for
 * the run hash, m, m field/value pairs for the doc hash, then log lines.
 * Returns {1, active runs with this one} when recorded, {0, 0} when the id is taken,
 * {-1, active runs} when the limit refused it.
 */
export const ENQUEUE_SCRIPT = `
${ACTIVE_RUNS_LUA}
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0} end
local limit = tonumber(ARGV[4])
local active = activeCount(KEYS[7], ARGV[3], limit)
if limit > 0 and active >= limit then return {-1, active} end
local n = tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'state', 'QUEUED', 'created', ARGV[2], 't:QUEUED', ARGV[2], unpack(ARGV, 6, 5 + 2 * n))
local m = tonumber(ARGV[6 + 2 * n])
if m > 0 then redis.call('HSET', KEYS[4], unpack(ARGV, 7 + 2 * n, 6 + 2 * n + 2 * m)) end
if #ARGV > 6 + 2 * n + 2 * m then redis.call('RPUSH', KEYS[5], unpack(ARGV, 7 + 2 * n + 2 * m)) end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if KEYS[6] ~= '' then redis.call('ZADD', KEYS[6], 0, ARGV[1]) end
redis.call('ZADD', ARGV[3] .. ':in:QUEUED', ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'QUEUED', 1)
redis.call('SADD', KEYS[7], ARGV[1])
return {1, active + 1}
`;

/**
 * A user's number of active runs, as the enqueue script counts them (ids of finished or
 * missing runs dropped once the count reaches `limit`): the cheap check before a submission's
 * body is read. KEYS: the user's active-run set. ARGV: key prefix, limit (0: count only).
 */
export const ACTIVE_COUNT_SCRIPT = `
${ACTIVE_RUNS_LUA}
return activeCount(KEYS[1], ARGV[1], tonumber(ARGV[2]))
`;

/**
 * One page of the run list in one round trip: up to `limit` run ids from the index, newest
 * first, below the lexical bound, each with its state, start and end times and tags. Read only.
 *
 * KEYS: index sorted set. ARGV: key prefix, upper bound ('+' or '(<run id>'), limit.
 * Returns a flat array of 5 values per run: id, state, start, end, tags (false when absent).
 */
export const LIST_PAGE_SCRIPT = `
local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[2], '-', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. ':run:' .. id
  local h = redis.call('HMGET', key, 'state', 'start', 'end')
  out[#out + 1] = id
  out[#out + 1] = h[1]
  out[#out + 1] = h[2]
  out[#out + 1] = h[3]
  out[#out + 1] = redis.call('HGET', key .. ':doc', 'tags')
end
return out
`;
