import type { Redis } from 'ioredis';
import { WesSettings } from '../../config/src';
import type { Logger } from '../../logging/src';
import { RunIndexBackfill, RunKeys, runIdsBefore, runIdTime, runObjectKeys, TERMINAL_STATES } from '../../runs/src';
import type { ObjectStore } from '../../storage/src';
import { RunDeleter } from './run-deleter';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Most runs one sweep deletes, and most run folders it looks at for orphans. A sweep holds the
 * reaper lock (3 reaper intervals) while each deletion lists and removes a folder in the store;
 * a hundred keeps it to seconds even against S3, and at the default 10 s interval it still
 * clears 36,000 runs an hour, more than a deployment submits.
 */
export const RETENTION_BATCH = 100;

/** Most finished runs of one state a sweep reads to find those past retention (they are read oldest submit first). */
const RETENTION_SCAN = 1000;

/** An upload folder with no run record is taken as abandoned this long after its run id was made. */
export const ORPHAN_AGE_MS = DAY_MS;

/**
 * Once the orphan sweep has caught up with the folders old enough, it waits this many reaper
 * intervals (10 minutes at the default): listing the run folders costs the store a read of
 * them all (a local folder is read whole), and a new orphan has a day to wait anyway.
 */
const ORPHAN_PAUSE_INTERVALS = 60;

/** A deletion whose files are still there this long after is taken as interrupted. */
const INTERRUPTED_AFTER_MS = 60_000;

export interface RetentionReport {
  /** Finished runs deleted for being older than the retention. */
  expired: number;
  /** Run folders with no run record, removed. */
  orphans: number;
  /** Deleted runs whose files an interrupted deletion had left, removed. */
  finished: number;
  /** Runs recorded before the per-state and per-tag indexes, put into them (null: none left). */
  indexed: number | null;
}

/**
 * The reaper's storage sweep: finished runs older than `retentionDays` are deleted (as by
 * `DELETE /runs/{id}`), orphaned upload folders (a submit that never recorded its run) removed,
 * interrupted deletions finished, runs of before the state and tag indexes indexed. Each part
 * is bounded per sweep.
 */
export class RunRetention {
  private readonly backfill: RunIndexBackfill;

  constructor(
    private readonly settings: WesSettings,
    private readonly deleter: RunDeleter,
    private readonly store: ObjectStore,
    private readonly redis: Redis,
    private readonly keys: RunKeys,
    private readonly logger: Logger,
  ) {
    this.backfill = new RunIndexBackfill(redis, keys);
  }

  async sweep(now = Date.now()): Promise<RetentionReport> {
    // Runs recorded before the state and tag indexes existed (an upgrade): a batch a sweep,
    // first, since the retention below finds runs through those indexes.
    const indexed = await this.backfill.step();
    const finished = await this.deleter.finishInterrupted(INTERRUPTED_AFTER_MS, RETENTION_BATCH);
    const expired = this.settings.retentionDays > 0 ? await this.deleteExpired(now - this.settings.retentionDays * DAY_MS) : 0;
    const orphans = await this.removeOrphans(now - ORPHAN_AGE_MS);
    return { expired, orphans, finished, indexed };
  }

  /**
   * Deletes finished runs that ended before `cutoff`. A run ends after it is submitted, so only
   * runs submitted before the cutoff can qualify: each terminal state's index is read from its
   * oldest id up to the cutoff's (ids are UUIDv7), and each run's end time checked.
   */
  private async deleteExpired(cutoff: number): Promise<number> {
    let deleted = 0;
    const bound = `(${runIdsBefore(cutoff)}`;
    for (const state of TERMINAL_STATES) {
      if (deleted >= RETENTION_BATCH) break;
      const ids = await this.redis.zrangebylex(this.keys.stateIndex(state), '-', bound, 'LIMIT', 0, RETENTION_SCAN);
      if (ids.length === 0) continue;
      const pipe = this.redis.pipeline();
      ids.forEach((id) => pipe.hget(this.keys.run(id), 'end'));
      const ends = ((await pipe.exec()) ?? []).map(([, v]) => Number(v ?? Infinity));
      for (let i = 0; i < ids.length && deleted < RETENTION_BATCH; i++) {
        // A run still running at the cutoff (submitted before it) waits for a later sweep.
        if (!(ends[i] < cutoff)) continue;
        const outcome = await this.deleter.delete(ids[i], 'retention');
        if (outcome.deleted) deleted++;
      }
    }
    return deleted;
  }

  /**
   * Removes run folders whose run id was made before `madeBefore` and has no run record: what
   * a submit that never recorded its run (refused, or its API killed) left. The folders are read
   * in order from where the last sweep stopped (run ids are time-ordered, so each folder is
   * looked at once, after it has aged), at most RETENTION_BATCH a sweep; once caught up, it
   * pauses ORPHAN_PAUSE_INTERVALS reaper intervals. A folder not named by a run id is never
   * touched.
   */
  private async removeOrphans(madeBefore: number): Promise<number> {
    if (await this.redis.exists(this.keys.orphanSweepPause)) return 0;
    const cursor = (await this.redis.get(this.keys.orphanSweepCursor)) ?? undefined;
    const folders = await this.store.listFolders(runObjectKeys.runs, cursor, RETENTION_BATCH);
    let removed = 0;
    let last: string | undefined;
    let caughtUp = folders.length < RETENTION_BATCH;
    for (const runId of folders) {
      const made = runIdTime(runId);
      if (made !== undefined) {
        if (made >= madeBefore) {
          caughtUp = true;
          break;
        }
        const [exists, deleting] = await Promise.all([this.redis.exists(this.keys.run(runId)), this.redis.zscore(this.keys.deleting, runId)]);
        // A run being deleted has its folder removed by its deleter (or finishInterrupted).
        if (!exists && deleting === null) {
          await this.store.deletePrefix(runObjectKeys.run(runId));
          this.logger.info({ runId, made: new Date(made).toISOString() }, 'orphaned upload folder removed (no run was recorded)');
          removed++;
        }
      }
      last = runId;
    }
    if (last !== undefined) await this.redis.set(this.keys.orphanSweepCursor, last);
    if (caughtUp) await this.redis.set(this.keys.orphanSweepPause, '1', 'PX', ORPHAN_PAUSE_INTERVALS * this.settings.reaperIntervalMs);
    return removed;
  }
}
