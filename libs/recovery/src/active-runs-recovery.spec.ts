import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { loadSettings } from '../../config/src';
import { createLogger } from '../../logging/src';
import { RunQueues, WorkerPools, WorkerRegistry } from '../../queue/src';
import { RunKeys, RunStore, WorkflowStateMachine } from '../../runs/src';
import { RunRecovery } from './run-recovery';

/**
 * The reaper's and recovery's transitions keep the per-user active-run sets as the workers'
 * do: a lost run that recovery ends gives its owner's slot back, one it queues again keeps it.
 */
const r = usePrivateRedis();

async function setUp(policy: 'fail' | 'requeue', maxAttempts = 3) {
  const prefix = `actrec-${randomBytes(4).toString('hex')}`;
  const keys = new RunKeys(prefix);
  const settings = loadSettings({
    REDIS_URL: r.server.url,
    WES_KEY_PREFIX: prefix,
    WES_WORKER_LOSS_POLICY: policy,
    WES_MAX_ATTEMPTS: String(maxAttempts),
    WES_HEARTBEAT_MS: '500',
  });
  const sm = new WorkflowStateMachine(r.redis, keys);
  const runs = new RunStore(r.redis, keys);
  const queue = new RunQueues(r.redis, new WorkerPools(settings), settings);
  const recovery = new RunRecovery(settings, sm, runs, new WorkerRegistry(r.redis, keys, 60_000), queue, r.redis, keys, createLogger('spec', 'silent'));
  /** A run of `owner` held by a worker that never announced itself (so it is lost). */
  const held = async (owner: string, cancel = false) => {
    const id = `run-${randomBytes(4).toString('hex')}`;
    await sm.enqueue(id, { request: '{}', owner });
    await sm.sendOrThrow(id, 'initialize', { fields: { worker: 'dead-worker', host: 'elsewhere', wpid: '1' } });
    await sm.sendOrThrow(id, 'run', { attempt: 1 });
    if (cancel) await sm.sendOrThrow(id, 'cancel');
    return id;
  };
  const settle = async (id: string) => recovery.settleLostRun((await runs.holders([id]))[0], 'lost in a test');
  const active = () => r.redis.smembers(keys.activeRuns('alice'));
  return { sm, runs, recovery, queue, held, settle, active, keys };
}

describe('recovery and the per-user active runs', () => {
  it('policy fail: a lost RUNNING run ends SYSTEM_ERROR and leaves the set', async () => {
    const { queue, held, settle, active, runs } = await setUp('fail');
    try {
      const id = await held('alice');
      expect(await active()).toEqual([id]);
      expect(await settle(id)).toBe('failed');
      expect((await runs.get(id))?.state).toBe('SYSTEM_ERROR');
      expect(await active()).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('a lost CANCELING run ends CANCELED and leaves the set', async () => {
    const { queue, held, settle, active } = await setUp('requeue');
    try {
      const id = await held('alice', true);
      expect(await settle(id)).toBe('canceled');
      expect(await active()).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('policy requeue: a lost run queued again keeps its slot; on its last attempt it ends and leaves', async () => {
    const { queue, held, settle, active, sm } = await setUp('requeue', 2);
    try {
      const id = await held('alice');
      expect(await settle(id)).toBe('requeued');
      expect(await active()).toEqual([id]);
      await sm.sendOrThrow(id, 'initialize', { fields: { worker: 'dead-worker', host: 'elsewhere', wpid: '1' } });
      await sm.sendOrThrow(id, 'run', { attempt: 2 });
      expect(await settle(id)).toBe('failed');
      expect(await active()).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it("the reaper's sweep frees the slot of a run whose worker vanished", async () => {
    const { queue, held, active, recovery, runs, keys } = await setUp('fail');
    try {
      const id = await held('alice');
      const canceling = await held('alice', true);
      expect((await runs.heldBy('dead-worker')).sort()).toEqual([id, canceling].sort());
      // A recovery just made distrusts missing heartbeats for 3 heartbeats (1.5 s here).
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const { settled } = await recovery.sweep();
      expect([settled.failed, settled.canceled]).toEqual([1, 1]);
      expect(await active()).toEqual([]);
      // The lost worker's set is kept until its runs are settled, then gone: nothing leaks.
      expect(await r.redis.exists(keys.heldRuns('dead-worker'))).toBe(0);
      expect(await runs.holderIds()).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
