import type { Redis } from 'ioredis';
import { RunKeys } from './run-keys';
import { RunStore } from './run-store';
import { HELD_STATES } from './states';

/** Runs one backfill step reads (a ZSCAN page, then one script): each step stays short. */
const BACKFILL_PAGE = 1000;
const DONE = 'done';

/**
 * Puts the runs held before the per-worker sets of held runs existed (RunKeys.heldRuns) into
 * their holder's set: it walks the index of each held state (RunKeys.inState) a page at a time,
 * from a cursor kept in Redis (RunKeys.heldBackfillCursor, `<state>:<ZSCAN cursor>`), and each
 * page goes through HELD_SYNC_SCRIPT, which reads the run's state and holder in the same step
 * as it writes the set. Runs held since are in their set already (the transition script); adding
 * one again does nothing. Once every index is walked the cursor says `done` and a call costs
 * one GET.
 *
 * Upgrade: the first reaper sweep of the new version walks the indexes (under the reaper's
 * lock). A worker of the earlier version still running after that claims runs without set
 * entries: delete the cursor key once the last earlier worker is gone, and the next sweep walks
 * again.
 */
export class HeldRunsBackfill {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RunKeys,
    private readonly runs: RunStore,
  ) {}

  /** Walks to the end (page by page); how many runs it looked at, or null when it was done already. */
  async run(): Promise<number | null> {
    let seen: number | null = null;
    for (let n = await this.step(); n !== null; n = await this.step()) seen = (seen ?? 0) + n;
    return seen;
  }

  /** One page; how many runs it looked at, or null once everything is done. */
  async step(): Promise<number | null> {
    const cursor = await this.redis.get(this.keys.heldBackfillCursor);
    if (cursor === DONE) return null;
    const [at, zcursor] = cursor ? cursor.split(':') : ['0', '0'];
    const i = Number(at);
    const state = HELD_STATES[i];
    if (state === undefined) {
      await this.redis.set(this.keys.heldBackfillCursor, DONE);
      return null;
    }
    const [next, flat] = await this.redis.zscan(this.keys.inState(state), zcursor, 'COUNT', BACKFILL_PAGE);
    const ids = flat.filter((_, k) => k % 2 === 0);
    await this.runs.syncHeld(undefined, ids);
    await this.redis.set(this.keys.heldBackfillCursor, next === '0' ? `${i + 1}:0` : `${i}:${next}`);
    return ids.length;
  }
}
