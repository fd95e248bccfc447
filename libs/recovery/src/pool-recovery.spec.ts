import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { loadSettings } from '../../config/src';
import { createLogger } from '../../logging/src';
import { RunQueues, WorkerPools, WorkerRegistry } from '../../queue/src';
import { RunKeys, RunStore, WorkflowStateMachine } from '../../runs/src';
import { RunRecovery } from './run-recovery';

/**
 * Recovery per pool: a lost run goes back to the queue of the pool it was recorded in, with
 * that pool's attempts, and a QUEUED run whose job is missing gets it back in its pool's queue.
 */
const r = usePrivateRedis();

async function setUp() {
  const prefix = `poolrec-${randomBytes(4).toString('hex')}`;
  const keys = new RunKeys(prefix);
  const settings = loadSettings({
    REDIS_URL: r.server.url,
    WES_KEY_PREFIX: prefix,
    WES_QUEUE_NAME: 'q',
    WES_MAX_ATTEMPTS: '5',
    WES_POOL_SMALL_ENGINES: 'cwltool',
    WES_POOL_SMALL_CONCURRENCY: '1',
    WES_POOL_WIDE_ENGINES: 'cwltool',
    WES_POOL_WIDE_CONCURRENCY: '3',
    WES_POOL_WIDE_MAX_ATTEMPTS: '2',
  });
  const sm = new WorkflowStateMachine(r.redis, keys);
  const runs = new RunStore(r.redis, keys);
  const queues = new RunQueues(r.redis, new WorkerPools(settings), settings);
  const recovery = new RunRecovery(settings, sm, runs, new WorkerRegistry(r.redis, keys, 60_000), queues, r.redis, keys, createLogger('spec', 'silent'));
  /** A run of `pool` held by a worker that never announced itself (so it is lost). */
  const held = async (pool: string) => {
    const id = `run-${randomBytes(4).toString('hex')}`;
    await sm.enqueue(id, { request: '{}', pool, job: id });
    await sm.sendOrThrow(id, 'initialize', { fields: { worker: 'dead-worker', host: 'elsewhere', wpid: '1' } });
    await sm.sendOrThrow(id, 'run', { attempt: 1 });
    return id;
  };
  const settle = async (id: string) => recovery.settleLostRun((await runs.holders([id]))[0], 'lost in a test');
  return { sm, runs, queues, recovery, held, settle };
}

describe('recovery per pool', () => {
  it("a lost run is queued again in its own pool's queue, and ends when its pool's attempts are spent", async () => {
    const { sm, runs, queues, held, settle } = await setUp();
    try {
      const id = await held('wide');
      expect(await runs.heldBy('dead-worker')).toEqual([id]);
      expect(await settle(id)).toBe('requeued');
      // Queued again, it is nobody's: out of the lost worker's set (which goes with it).
      expect(await runs.heldBy('dead-worker')).toEqual([]);
      expect(await runs.holderIds()).toEqual([]);
      expect(await queues.of('wide').jobState(`${id}-r1`)).toBe('waiting');
      expect(await queues.of('small').jobState(`${id}-r1`)).toBe('unknown');
      expect((await runs.get(id))?.systemLogs.join('\n')).toContain('queued again in pool wide');
      // wide allows 2 attempts (the deployment's 5 do not apply).
      await sm.sendOrThrow(id, 'initialize', { fields: { worker: 'next-worker', host: 'elsewhere', wpid: '2' } });
      await sm.sendOrThrow(id, 'run', { attempt: 2 });
      expect(await runs.heldBy('next-worker')).toEqual([id]);
      expect(await settle(id)).toBe('failed');
      expect((await runs.get(id))?.state).toBe('SYSTEM_ERROR');
      expect(await runs.heldBy('next-worker')).toEqual([]);
    } finally {
      await queues.close();
    }
  });

  it("a QUEUED run whose job is missing gets it back in its pool's queue", async () => {
    const { sm, queues, recovery } = await setUp();
    try {
      const id = `run-${randomBytes(4).toString('hex')}`;
      await sm.enqueue(id, { request: '{}', pool: 'small', job: id });
      expect(await recovery.restoreJob(id)).toBe(true);
      expect(await queues.of('small').jobState(id)).toBe('waiting');
      expect(await queues.of('wide').jobState(id)).toBe('unknown');
      expect(await recovery.restoreJob(id)).toBe(false);
    } finally {
      await queues.close();
    }
  });
});

describe('a run of a pool no longer configured', () => {
  it('ends SYSTEM_ERROR when lost (it has no queue to go back to), and does not stop the sweep of the others', async () => {
    const { sm, runs, queues, recovery, held, settle } = await setUp();
    try {
      const id = await held('gone');
      expect(await settle(id)).toBe('failed');
      const rec = await runs.get(id);
      expect(rec?.state).toBe('SYSTEM_ERROR');
      expect(rec?.systemLogs.join('\n')).toContain('its pool gone is no longer configured');
      // Two QUEUED runs without a job, the first of a pool that is gone: the second is restored.
      const orphan = `run-a-${randomBytes(4).toString('hex')}`;
      const kept = `run-b-${randomBytes(4).toString('hex')}`;
      await sm.enqueue(orphan, { request: '{}', pool: 'gone', job: orphan }, Date.now() - 120_000);
      await sm.enqueue(kept, { request: '{}', pool: 'small', job: kept }, Date.now() - 120_000);
      const report = await recovery.sweep();
      expect(report.swept).toBe(true);
      expect(report.jobsRestored).toBe(1);
      expect(await queues.of('small').jobState(kept)).toBe('waiting');
    } finally {
      await queues.close();
    }
  });
});
