import { READ_LONG_LUA } from './run-fields';
import { ACTIVE_STATES, HELD_STATES, RunMessage, TERMINAL_STATES, TRANSITIONS } from './states';

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
 * Lua of the per-worker sets of held runs (RunKeys.heldRuns and RunKeys.holders build the same
 * names): a run is in worker W's set iff its state is one a worker holds (HELD_STATES) and its
 * `worker` field is W; `holders` lists the workers whose set is not empty. `heldBy` is that
 * holder (nil: none); `moveHeld` moves a run's entry from one holder to another (either nil).
 * Adding again is harmless, so an entry missing (a run held before the sets existed) heals.
 */
const HELD_RUNS_LUA = `
local HELD = ${setOf(HELD_STATES)}
local function heldBy(state, worker)
  if state and HELD[state] and worker and worker ~= '' then return worker end
  return nil
end
local function moveHeld(prefix, id, was, now)
  if was and was ~= now then
    local set = prefix .. ':worker:' .. was .. ':runs'
    redis.call('SREM', set, id)
    if redis.call('EXISTS', set) == 0 then redis.call('SREM', prefix .. ':holders', was) end
  end
  if now then
    redis.call('SADD', prefix .. ':worker:' .. now .. ':runs', id)
    redis.call('SADD', prefix .. ':holders', now)
  end
end
`;

/**
 * Applies one message to one run, atomically: compare the current state with the message's
 * legal from-states, write the new state and its time (`start`, `end`, else `t:<STATE>`), keep the per-state counters and the
 * index of active runs, the run's place in the per-state index (RunKeys.stateIndex), and write the message's extra fields and system_logs lines, all in the
 * same step. `initialize` also counts the attempt.
 *
 * A sender that holds the run names the attempt it holds: if the run has moved on to another
 * attempt (its worker was taken for lost and the run given to another), the message is
 * refused as stale, and so it is while the run waits QUEUED for its next attempt: a worker
 * that comes back from a long pause cannot end someone else's attempt, or the run it lost.
 *
 * KEYS: run hash, counts hash, system_logs list, doc hash.
 * ARGV: message, now (ms), run id, key prefix, expected attempt ('' for any), n, n field/value
 * pairs for the run hash, m, m field/value pairs for the doc hash (an empty value deletes the
 * field), then log lines.
 * Returns {1, from, to} when applied, {0, current} when refused, {0, current, 'stale'} when
 * refused for the attempt, {-1, ''} for no such run.
 */
export const TRANSITION_SCRIPT = `
local LEGAL = ${luaTable()}
${ACTIVE_RUNS_LUA}
${HELD_RUNS_LUA}
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
local heldBefore = heldBy(state, redis.call('HGET', KEYS[1], 'worker'))
-- The time of entering the state: RUNNING's is 'start', a terminal state's 'end' (records of
-- before also hold a 't:' field of the same time), any other state's 't:<STATE>'.
if to == 'RUNNING' then
  redis.call('HSET', KEYS[1], 'state', to, 'start', now)
elseif TERMINAL[to] then
  redis.call('HSET', KEYS[1], 'state', to, 'end', now)
else
  redis.call('HSET', KEYS[1], 'state', to, 't:' .. to, now)
end
if to == 'INITIALIZING' then redis.call('HINCRBY', KEYS[1], 'attempt', 1) end
if TERMINAL[to] then
  redis.call('SREM', activeSet(prefix, redis.call('HGET', KEYS[1], 'owner')), id)
end
if to == 'CANCELING' then
  redis.call('HSET', KEYS[1], 'cancel', now)
  redis.call('PUBLISH', prefix .. ':cancel', id)
end
if ACTIVE[state] then redis.call('ZREM', prefix .. ':in:' .. state, id) end
if ACTIVE[to] then redis.call('ZADD', prefix .. ':in:' .. to, now, id) end
redis.call('ZREM', prefix .. ':state:' .. state .. ':runs', id)
redis.call('ZADD', prefix .. ':state:' .. to .. ':runs', 0, id)
redis.call('HINCRBY', KEYS[2], state, -1)
redis.call('HINCRBY', KEYS[2], to, 1)
local i = 6
for _, key in ipairs({KEYS[1], KEYS[4]}) do
  local n = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, n do
    -- An empty value deletes the field (run-fields.ts: e.g. a long field's leftover pieces).
    if ARGV[i + 1] == '' then redis.call('HDEL', key, ARGV[i]) else redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
    i = i + 2
  end
end
while i <= #ARGV do
  redis.call('RPUSH', KEYS[3], ARGV[i])
  i = i + 1
end
moveHeld(prefix, id, heldBefore, heldBy(to, redis.call('HGET', KEYS[1], 'worker')))
return {1, state, to}
`;

/**
 * Records a new run, atomically: its fields, state QUEUED and its time, its place in the
 * QUEUED per-state index (which lists it: no run index of all runs, RunKeys.listIndexes) and in
 * its owner's index (when it has an owner), the QUEUED index of active runs, the QUEUED counter,
 * its owner's set of active runs, its tags' indexes, and its first system_logs lines (e.g. the client-side engine
 * parameters it dropped). Nothing when the id is taken, nor when the owner already has
 * `max active` runs that are not finished: the count and the record are one step, so two
 * submits racing for a user's last slot cannot both get it.
 *
 * KEYS: run hash, counts hash, doc hash, system_logs list, owner's run index ('' for none),
 * owner's active-run set, then the tag indexes of its tags (RunKeys.tagIndexes).
 * ARGV: run id, now (ms), key prefix, max active runs (0: no limit), n, n field/value pairs for
 * the run hash, m, m field/value pairs for the doc hash, then log lines.
 * Returns {1, active runs with this one} when recorded, {0, 0} when the id is taken,
 * {-1, active runs} when the limit refused it.
 */
export const ENQUEUE_SCRIPT = `
${ACTIVE_RUNS_LUA}
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0} end
local limit = tonumber(ARGV[4])
local active = activeCount(KEYS[6], ARGV[3], limit)
if limit > 0 and active >= limit then return {-1, active} end
local n = tonumber(ARGV[5])
-- No 't:QUEUED' here: it is 'created' (RunStore.times); a return to QUEUED writes it.
redis.call('HSET', KEYS[1], 'state', 'QUEUED', 'created', ARGV[2], unpack(ARGV, 6, 5 + 2 * n))
local m = tonumber(ARGV[6 + 2 * n])
if m > 0 then redis.call('HSET', KEYS[3], unpack(ARGV, 7 + 2 * n, 6 + 2 * n + 2 * m)) end
if #ARGV > 6 + 2 * n + 2 * m then redis.call('RPUSH', KEYS[4], unpack(ARGV, 7 + 2 * n + 2 * m)) end
if KEYS[5] ~= '' then redis.call('ZADD', KEYS[5], 0, ARGV[1]) end
redis.call('ZADD', ARGV[3] .. ':in:QUEUED', ARGV[2], ARGV[1])
redis.call('ZADD', ARGV[3] .. ':state:QUEUED:runs', 0, ARGV[1])
for i = 7, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
redis.call('HINCRBY', KEYS[2], 'QUEUED', 1)
redis.call('SADD', KEYS[6], ARGV[1])
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

/** Lua: appends a run's row of a run list (id, state, start, end, tags) to `out`. */
const LIST_ROW_LUA = `
${READ_LONG_LUA}
local function pushRow(out, id, key, h)
  out[#out + 1] = id
  out[#out + 1] = h[1]
  out[#out + 1] = h[2]
  out[#out + 1] = h[3]
  out[#out + 1] = readLong(key, 'tags')
end
`;

/**
 * One page of a user's run list in one round trip: up to `limit` run ids from the owner's
 * index, newest first, below the lexical bound, each with its state, start and end times and
 * tags. Read only. (Every run's list: LIST_FILTERED_SCRIPT without a condition.)
 *
 * KEYS: index sorted set. ARGV: key prefix, upper bound ('+' or '(<run id>'), limit.
 * Returns a flat array of 5 values per run: id, state, start, end, tags (false when absent).
 */
export const LIST_PAGE_SCRIPT = `
${LIST_ROW_LUA}
local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[2], '-', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. ':run:' .. id
  pushRow(out, id, key, redis.call('HMGET', key, 'state', 'start', 'end'))
end
return out
`;

/**
 * Removes a finished run from Redis, atomically: first from every index that lists it (its
 * state's, its owner's, its tags', and the run index of runs recorded before: RunKeys.index), its owner's active set and the state counter, then
 * its record (run hash, doc, system_logs, tasks). A listed run therefore always has its record.
 * Its id goes into the `deleting` set in the same step: its files are removed from the object
 * store next, and the reaper finishes that if the deleting process dies first. A run not in a
 * terminal state is refused (cancel it first); a missing run is reported as such, so of two
 * concurrent deletes exactly one succeeds. The id is published on `<prefix>:deleted`, so that
 * every API drops the run's terminal state from its cache.
 *
 * KEYS: run hash, doc hash, system_logs list, task list, run index, counts hash, deleting set,
 * then the run's tag indexes. ARGV: run id, key prefix, now (ms).
 * Returns {1, state} when removed, {0, state} when the run is not finished, {-1, ''} for no run.
 */
export const DELETE_SCRIPT = `
${ACTIVE_RUNS_LUA}
${HELD_RUNS_LUA}
local TERMINAL = ${setOf(TERMINAL_STATES)}
local h = redis.call('HMGET', KEYS[1], 'state', 'owner', 'worker')
local state, owner = h[1], h[2]
if not state then return {-1, ''} end
if not TERMINAL[state] then return {0, state} end
local id, prefix = ARGV[1], ARGV[2]
redis.call('ZREM', KEYS[5], id)
if owner and owner ~= '' then redis.call('ZREM', prefix .. ':owner:' .. owner .. ':runs', id) end
redis.call('ZREM', prefix .. ':state:' .. state .. ':runs', id)
for i = 8, #KEYS do redis.call('ZREM', KEYS[i], id) end
redis.call('SREM', activeSet(prefix, owner), id)
-- A finished run is in no holder's set; an entry left by a write around the scripts goes too.
if h[3] and h[3] ~= '' then moveHeld(prefix, id, h[3], nil) end
redis.call('HINCRBY', KEYS[6], state, -1)
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('ZADD', KEYS[7], ARGV[3], id)
redis.call('PUBLISH', prefix .. ':deleted', id)
return {1, state}
`;

/**
 * One page of a filtered run list: the runs, newest first, below the lexical bound, that are in
 * one of the given states (none: any), carry every given tag, and belong to the owner (none: any
 * owner). Each condition is an index; the script walks the smallest (for states, the merge of
 * their indexes) and checks each candidate against the others in O(1) (its state field, a
 * ZSCORE in a tag or owner index). At most `budget` candidates are looked at, so a request costs
 * that at most, however many runs are stored: a page may come back short, with a bound to go on
 * from (WES allows a short page with a next_page_token).
 *
 * With no condition at all, the walk is every run: the merge of listIndexes (every state's index
 * and the run index of before, which lists old runs a second time: a run met twice is taken once).
 *
 * KEYS: the state indexes (nS), the tag indexes (nT), the owner index (when ARGV[7] is '1'),
 * then RunKeys.listIndexes (the walk when there is no condition at all). ARGV: key prefix, upper bound
 * ('+' or '(<run id>'), page size, budget, nS, nT, owner ('1'/'0'), then the nS state names.
 * Returns {rows, next}: rows a flat array of 5 values per run (id, state, start, end, tags), next
 * the id to go on below ('' when the list is done).
 */
export const LIST_FILTERED_SCRIPT = `
${LIST_ROW_LUA}
local prefix, bound, limit, budget = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local nS, nT, hasOwner = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1'
local wanted = {}
for i = 1, nS do wanted[ARGV[7 + i]] = true end
local ownerKey = hasOwner and KEYS[nS + nT + 1] or nil
local allFrom = nS + nT + (hasOwner and 2 or 1)
-- The walk: the smallest condition's indexes.
local walk, size = nil, nil
if nS > 0 then
  walk, size = {}, 0
  for i = 1, nS do walk[#walk + 1] = KEYS[i]; size = size + redis.call('ZCARD', KEYS[i]) end
end
local walkTag, walkOwner = nil, false
for j = 1, nT do
  local c = redis.call('ZCARD', KEYS[nS + j])
  if not size or c < size then walk, size, walkTag, walkOwner = {KEYS[nS + j]}, c, j, false end
end
if ownerKey then
  local c = redis.call('ZCARD', ownerKey)
  if not size or c < size then walk, size, walkTag, walkOwner = {ownerKey}, c, nil, true end
end
if not walk then
  walk = {}
  for i = allFrom, #KEYS do walk[#walk + 1] = KEYS[i] end
end
local statesWalked = nS > 0 and not walkTag and not walkOwner
-- Candidates, in rounds: a chunk of ids below the bound from each walked index, merged newest
-- first. The first chunk is one page and one more (enough when most candidates match), later
-- ones grow fourfold, and no more than budget are looked at in all: a page of a filter most runs
-- match costs as much at a million runs as at a thousand. An index that gave a full chunk may
-- hold more below its lowest id: past the highest such floor, candidates of the other indexes
-- cannot be taken yet (they would be skipped), so the next round starts below that floor.
local out, found, seen, more, looked = {}, 0, nil, false, 0
local cursor, chunk = bound, limit + 1
while true do
  local want = math.min(chunk, budget - looked)
  if want <= 0 then more = true; break end
  local chunks, pos, floor = {}, {}, nil
  for k, key in ipairs(walk) do
    local ids = redis.call('ZREVRANGEBYLEX', key, cursor, '-', 'LIMIT', 0, want)
    if #ids == want and (not floor or ids[#ids] > floor) then floor = ids[#ids] end
    chunks[k], pos[k] = ids, 1
  end
  local pageDone, last = false, nil
  while true do
    -- The newest id left in the chunks (each newest first): a merge that reads only as far as
    -- the page goes, not a sort of every chunk.
    local id, from = nil, nil
    for k = 1, #chunks do
      local v = chunks[k][pos[k]]
      if v and (not id or v > id) then id, from = v, k end
    end
    if not id or (floor and id < floor) then break end
    pos[from] = pos[from] + 1
    -- A run listed by two walked indexes (an old run's state and the run index) comes twice in a row.
    if id ~= last then
      last = id
      if looked == budget then more = true; pageDone = true; break end
      local key = prefix .. ':run:' .. id
      local h = redis.call('HMGET', key, 'state', 'start', 'end')
      local ok = h[1] ~= false
      if ok and nS > 0 and not statesWalked then ok = wanted[h[1]] == true end
      if ok then
        for j = 1, nT do
          if j ~= walkTag and not redis.call('ZSCORE', KEYS[nS + j], id) then ok = false; break end
        end
      end
      if ok and ownerKey and not walkOwner and not redis.call('ZSCORE', ownerKey, id) then ok = false end
      if ok then
        -- One match beyond the page: the page ends at the one before it, and there is more.
        if found == limit then more = true; pageDone = true; break end
        found = found + 1
        pushRow(out, id, key, h)
      end
      looked = looked + 1
      seen = id
    end
  end
  -- No index gave a full chunk: every one is exhausted below the cursor.
  if pageDone or not floor then break end
  cursor = '(' .. floor
  chunk = chunk * 4
end
return {out, more and seen or ''}
`;

/**
 * Makes the held-run sets true of these runs (HELD_RUNS_LUA): each id leaves the set of `from`
 * unless the run is still held by `from`, and joins its holder's set when it has one. The
 * reaper and a worker's own check use it on entries whose run has moved on (or is gone) behind
 * their set's back (a write around the scripts, a process of before the sets); the backfill
 * (HeldRunsBackfill) on runs held before the sets existed.
 *
 * ARGV: key prefix, `from` (the worker whose set the ids were read from; '' for none), run ids.
 * Returns how many ids left the set of `from`.
 */
export const HELD_SYNC_SCRIPT = `
${HELD_RUNS_LUA}
local prefix, from = ARGV[1], ARGV[2]
local left = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local h = redis.call('HMGET', prefix .. ':run:' .. id, 'state', 'worker')
  local holder = heldBy(h[1], h[2])
  local was = nil
  if from ~= '' and redis.call('SISMEMBER', prefix .. ':worker:' .. from .. ':runs', id) == 1 then was = from end
  if was and was ~= holder then left = left + 1 end
  moveHeld(prefix, id, was, holder)
end
return left
`;
