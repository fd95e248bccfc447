import type { Redis } from 'ioredis';
import type { Logger } from '../../logging/src';
import { RunKeys, runObjectKeys, RunState, WorkflowStateMachine } from '../../runs/src';
import type { ObjectStore } from '../../storage/src';

/** Why a run was deleted: a client's `DELETE /runs/{id}`, or the retention sweep. */
export type DeletionReason = 'request' | 'retention';

export type DeleteOutcome =
  | { deleted: true; reason: DeletionReason; state: RunState }
  /** Not deleted: the run is not finished (its state), or there is no such run (null). */
  | { deleted: false; state: RunState | null };

/**
 * Deletes finished runs: first from Redis in one script (every index entry, the counter and the
 * record go together, so a listed run always has its record), then its folder in the object
 * store. Between the two its id waits in the `deleting` set; if this process dies there,
 * `finishInterrupted` (the reaper) removes the files later. Each deletion is told to the
 * listeners (`onDeleted`: the deletion metric).
 */
export class RunDeleter {
  private readonly listeners: ((reason: DeletionReason) => void)[] = [];

  constructor(
    private readonly stateMachine: WorkflowStateMachine,
    private readonly store: ObjectStore,
    private readonly redis: Redis,
    private readonly keys: RunKeys,
    private readonly logger: Logger,
  ) {}

  /** Calls `listener` once for every run this process deletes, with the reason. */
  onDeleted(listener: (reason: DeletionReason) => void): void {
    this.listeners.push(listener);
  }

  async delete(runId: string, reason: DeletionReason, user?: string): Promise<DeleteOutcome> {
    const result = await this.stateMachine.remove(runId);
    if (!result.removed) return { deleted: false, state: result.state };
    try {
      await this.removeFiles(runId);
    } catch (err) {
      // The record is gone already; the files are left to the reaper (the id stays in `deleting`).
      this.logger.warn({ runId, err }, 'deleted run: its files could not be removed yet');
    }
    for (const listener of this.listeners) listener(reason);
    this.logger.info({ action: 'delete', runId, reason, state: result.state, ...(user ? { user } : {}) }, 'run deleted');
    return { deleted: true, reason, state: result.state };
  }

  /**
   * Removes the files of runs deleted at least `olderThanMs` ago whose deletion did not get to
   * them (the deleting process died, or the store failed), at most `limit`; returns how many.
   */
  async finishInterrupted(olderThanMs: number, limit: number): Promise<number> {
    const ids = await this.redis.zrangebyscore(this.keys.deleting, '-inf', Date.now() - olderThanMs, 'LIMIT', 0, limit);
    let done = 0;
    for (const runId of ids) {
      try {
        await this.removeFiles(runId);
        this.logger.info({ runId }, 'files of a deleted run removed');
        done++;
      } catch (err) {
        this.logger.warn({ runId, err }, 'files of a deleted run: still not removed');
      }
    }
    return done;
  }

  private async removeFiles(runId: string): Promise<void> {
    await this.store.deletePrefix(runObjectKeys.run(runId));
    await this.redis.zrem(this.keys.deleting, runId);
  }
}
