import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { loadSettings } from '../../config/src';
import { createLogger } from '../../logging/src';
import { RunQueues, WorkerPools, WorkerRegistry } from '../../queue/src';
import { RunKeys, RunStore, WorkflowStateMachine } from '../../runs/src';
import { RunRecovery } from './run-recovery';

/**
 * Recovery must see every run a worker holds, however many there are, and read no more than it
 * needs: a worker's own check reads its set of held runs, the reaper the sets of lost workers
 * only. A lost run that entered RUNNING after more than a thousand others (one page) is still
 * found; runs held before the sets existed are put in them by the first sweep.
 */
const r = usePrivateRedis();

const HELD = 2500;

async function setUp() {
  const { redis, server } = r;
  const prefix = `rec-${randomBytes(4).toString('hex')}`;
  const keys = new RunKeys(prefix);
  const settings = loadSettings({ REDIS_URL: server.url, WES_KEY_PREFIX: prefix, WES_WORKER_LOSS_POLICY: 'fail', WES_HEARTBEAT_MS: '500' });
  const sm = new WorkflowStateMachine(redis, keys);
  const runs = new RunStore(redis, keys);
  const workers = new WorkerRegistry(redis, keys, 60_000);
  const queue = new RunQueues(redis, new WorkerPools(settings), settings);
  const recovery = new RunRecovery(settings, sm, runs, workers, queue, redis, keys, createLogger('recovery-spec', 'silent'));
  // A recovery just made distrusts missing heartbeats for 3 heartbeats (1.5 s here).
  const heartbeatsTrusted = new Promise((resolve) => setTimeout(resolve, 1600));
  // A live worker on another host (so no pid check applies) holds HELD runs.
  const live = 'live-worker';
  await workers.announce({ workerId: live, host: 'elsewhere', pid: 1, startedAt: new Date().toISOString(), concurrency: HELD, engines: {} });
  const hold = async (ids: string[], worker: string) => {
    await Promise.all(ids.map((id) => sm.enqueue(id, { request: '{}' })));
    await Promise.all(ids.map((id) => sm.sendOrThrow(id, 'initialize', { fields: { worker, host: 'elsewhere', wpid: '1' } })));
    await Promise.all(ids.map((id) => sm.sendOrThrow(id, 'run', { attempt: 1 })));
  };
  const liveIds = Array.from({ length: HELD }, (_, i) => `live-${String(i).padStart(5, '0')}`);
  for (let i = 0; i < liveIds.length; i += 500) await hold(liveIds.slice(i, i + 500), live);
  return { redis, keys, sm, runs, recovery, queue, live, liveIds, hold, heartbeatsTrusted };
}

describe('RunRecovery over more active runs than one page', () => {
  it('the reaper settles a lost run that entered RUNNING after 2500 others, and only it', async () => {
    const { runs, recovery, queue, live, liveIds, hold, heartbeatsTrusted } = await setUp();
    try {
      // Newest of all: held by a worker that never announced itself (its heartbeat is gone).
      await hold(['lost-run'], 'dead-worker');
      expect((await runs.inState('RUNNING')).includes('lost-run')).toBe(false);
      await heartbeatsTrusted;

      const report = await recovery.sweep();
      expect(report.swept).toBe(true);
      expect(report.settled).toEqual({ canceled: 0, requeued: 0, failed: 1 });
      expect((await runs.get('lost-run'))?.state).toBe('SYSTEM_ERROR');
      const states = await Promise.all(liveIds.map(async (id) => (await runs.holders([id]))[0]?.state));
      expect(states.filter((s) => s !== 'RUNNING')).toEqual([]);
      // The lost worker's set goes with its last run; the live one's is whole.
      expect(await runs.heldBy('dead-worker')).toEqual([]);
      expect(await runs.holderIds()).toEqual([live]);
      expect((await runs.heldBy(live)).length).toBe(HELD);
    } finally {
      await queue.close();
    }
  }, 120_000);

  it('a worker settles the run it dropped, even when it is the newest of thousands it holds', async () => {
    const { runs, recovery, queue, live, liveIds } = await setUp();
    try {
      const dropped = liveIds[liveIds.length - 1];
      const settled = await recovery.settleOrphansOf(live, (id) => id !== dropped);
      expect(settled.filter((o) => o !== 'untouched')).toEqual(['failed']);
      expect((await runs.get(dropped))?.state).toBe('SYSTEM_ERROR');
      expect((await runs.counts()).RUNNING).toBe(HELD - 1);
      expect((await runs.heldBy(live)).length).toBe(HELD - 1);
    } finally {
      await queue.close();
    }
  }, 120_000);

  it("a worker's own check leaves other workers' runs alone and drops entries of its set whose run moved on", async () => {
    const { redis, keys, runs, recovery, queue, live, liveIds, hold } = await setUp();
    try {
      await hold(['other-run'], 'other-worker');
      // Behind the scripts' back: one record gone (expired), one rewritten to another holder.
      const [gone, rewritten] = liveIds.slice(0, 2);
      await redis.del(keys.run(gone));
      await redis.hset(keys.run(rewritten), 'worker', 'other-worker');
      const settled = await recovery.settleOrphansOf(live, (id) => id !== gone && id !== rewritten);
      expect(settled).toEqual([]);
      expect((await runs.get('other-run'))?.state).toBe('RUNNING');
      expect((await runs.get(rewritten))?.state).toBe('RUNNING');
      const mine = new Set(await runs.heldBy(live));
      expect([mine.size, mine.has(gone), mine.has(rewritten)]).toEqual([HELD - 2, false, false]);
      expect((await runs.heldBy('other-worker')).sort()).toEqual(['other-run', rewritten].sort());
    } finally {
      await queue.close();
    }
  }, 120_000);

  it('upgrade: runs held before the sets existed are put in them by the first sweep, and a lost one is settled', async () => {
    const { redis, keys, runs, recovery, queue, live, liveIds, hold, heartbeatsTrusted } = await setUp();
    try {
      await hold(['lost-run'], 'dead-worker');
      // As an earlier version left them: no sets, no holders.
      await redis.del(keys.heldRuns(live), keys.heldRuns('dead-worker'), keys.holders);
      await heartbeatsTrusted;
      const report = await recovery.sweep();
      expect(report.settled).toEqual({ canceled: 0, requeued: 0, failed: 1 });
      expect((await runs.get('lost-run'))?.state).toBe('SYSTEM_ERROR');
      expect((await runs.heldBy(live)).sort()).toEqual([...liveIds].sort());
      expect(await runs.holderIds()).toEqual([live]);
      expect(await redis.get(keys.heldBackfillCursor)).toBe('done');
    } finally {
      await queue.close();
    }
  }, 120_000);
});
