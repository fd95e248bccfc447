import type { Redis } from 'ioredis';
import { RunKeys } from './run-keys';
import { readRunTags } from './run-store';

/**
 * Puts runs recorded before the per-state and per-tag indexes existed into them: for each id,
 * if the run still exists, its current state's index and its tags' indexes. One script per
 * batch, so a transition cannot slip between the read of a state and the write of its index.
 *
 * ARGV: key prefix, then for each run: its id, n, its n tag index keys.
 */
export const BACKFILL_SCRIPT = `
local prefix = ARGV[1]
local i, done = 2, 0
while i <= #ARGV do
  local id, n = ARGV[i], tonumber(ARGV[i + 1])
  local state = redis.call('HGET', prefix .. ':run:' .. id, 'state')
  if state then
    redis.call('ZADD', prefix .. ':state:' .. state .. ':runs', 0, id)
    for j = 1, n do redis.call('ZADD', ARGV[i + 1 + j], 0, id) end
    done = done + 1
  end
  i = i + 2 + n
end
return done
`;

/** Runs one backfill step reads: a sweep stays short (a few hundred ms of Redis time). */
const BACKFILL_BATCH = 5000;
const DONE = 'done';

/**
 * Fills the per-state and per-tag indexes for runs recorded before them, a batch per call (the
 * reaper's sweep), oldest first, from a cursor kept in Redis (RunKeys.indexBackfillCursor), until
 * the run index is done. Runs recorded since are indexed by the scripts themselves; re-indexing
 * one does nothing.
 */
export class RunIndexBackfill {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RunKeys,
  ) {
    if (!('wesBackfillIndexes' in redis)) redis.defineCommand('wesBackfillIndexes', { numberOfKeys: 0, lua: BACKFILL_SCRIPT });
  }

  /** One step; how many runs it indexed, or null once everything is. */
  async step(): Promise<number | null> {
    const cursor = await this.redis.get(this.keys.indexBackfillCursor);
    if (cursor === DONE) return null;
    const ids = await this.redis.zrangebylex(this.keys.index, cursor ? `(${cursor}` : '-', '+', 'LIMIT', 0, BACKFILL_BATCH);
    if (ids.length === 0) {
      await this.redis.set(this.keys.indexBackfillCursor, DONE);
      return null;
    }
    const tags = await readRunTags(this.redis, this.keys, ids);
    const args = ids.flatMap((id, i) => {
      const indexes = this.keys.tagIndexes(tags[i]);
      return [id, String(indexes.length), ...indexes];
    });
    const done = (await (this.redis as unknown as { wesBackfillIndexes(...a: string[]): Promise<number> }).wesBackfillIndexes(this.keys.prefix, ...args)) ?? 0;
    await this.redis.set(this.keys.indexBackfillCursor, ids[ids.length - 1]);
    return done;
  }
}
