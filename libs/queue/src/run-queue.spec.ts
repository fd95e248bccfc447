import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { waitFor } from '../../../test/helpers/wait-for';
import { RunKeys } from '../../runs/src/run-keys';
import { PASS_ON_DELAY_MS, RunProcessor, RunQueue, RunQueueSettings } from './run-queue';

/**
 * RunQueue against a real Redis: what the API (enqueue, remove), recovery (restore-if-missing)
 * and the worker (its BullMQ worker and options) rely on.
 */
const r = usePrivateRedis();

function settings(over: Partial<RunQueueSettings> = {}): RunQueueSettings {
  const id = randomBytes(4).toString('hex');
  return { name: `runs-${id}`, keyPrefix: `rq-${id}`, concurrency: 2, jobLockMs: 5_000, stalledIntervalMs: 5_000, maxAttempts: 3, ...over };
}

/** A gate a processor waits at until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const until = (check: () => Promise<boolean> | boolean, what: string) => waitFor(what, check, 10_000, 20);

describe('RunQueue', () => {
  it('queues a run once under its id, in keys under the deployment prefix', async () => {
    const s = settings();
    const queue = new RunQueue(r.redis, s);
    try {
      await queue.enqueue('run-a');
      await queue.enqueue('run-a');
      expect(await queue.jobState('run-a')).toBe('waiting');
      expect((await queue.counts()).waiting).toBe(1);
      const keys = await r.redis.keys(`${new RunKeys(s.keyPrefix).bullPrefix}:${s.name}:*`);
      expect(keys).toContain(`${new RunKeys(s.keyPrefix).bullPrefix}:${s.name}:run-a`);
      // Nothing of BullMQ's outside the deployment's prefix.
      expect(await r.redis.keys(`bull:${s.name}:*`)).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('removes a waiting job and restores a missing one (once), under a requeue id too', async () => {
    const queue = new RunQueue(r.redis, settings());
    try {
      await queue.enqueue('run-b');
      await queue.remove('run-b');
      expect(await queue.jobState('run-b')).toBe('unknown');
      expect(await queue.restoreIfMissing('run-b')).toBe(true);
      expect(await queue.jobState('run-b')).toBe('waiting');
      expect(await queue.restoreIfMissing('run-b')).toBe(false);
      expect((await queue.counts()).waiting).toBe(1);

      expect(await queue.restoreIfMissing('run-c', 'run-c-r1')).toBe(true);
      expect(await queue.jobState('run-c-r1')).toBe('waiting');
      expect(await queue.jobState('run-c')).toBe('unknown');
    } finally {
      await queue.close();
    }
  });

  it('a worker takes runs by id, no more at once than the concurrency, holding a lock of jobLockMs, and drops finished jobs', async () => {
    const s = settings({ concurrency: 2, jobLockMs: 4_000 });
    const queue = new RunQueue(r.redis, s);
    const g = gate();
    const started: string[] = [];
    const processor: RunProcessor = async (runId) => {
      started.push(runId);
      await g.opened;
      return 'done';
    };
    const errors: Error[] = [];
    const worker = queue.createWorker(processor, (err) => errors.push(err));
    try {
      for (const id of ['w-1', 'w-2', 'w-3']) await queue.enqueue(id);
      worker.start();
      await until(() => started.length === 2, 'two runs taken');
      // The third waits while two are held, however long we look.
      await sleep(300);
      expect(started).toHaveLength(2);
      expect(await queue.counts()).toMatchObject({ active: 2, waiting: 1 });
      const lockTtl = await r.redis.pttl(`${new RunKeys(s.keyPrefix).bullPrefix}:${s.name}:${started[0]}:lock`);
      expect(lockTtl).toBeGreaterThan(0);
      expect(lockTtl).toBeLessThanOrEqual(4_000);
      g.open();
      await until(() => started.length === 3, 'the third run taken');
      await until(async () => (await Promise.all(['w-1', 'w-2', 'w-3'].map((id) => queue.jobState(id)))).every((st) => st === 'unknown'), 'finished jobs dropped');
      expect(started.sort()).toEqual(['w-1', 'w-2', 'w-3']);
      expect(errors).toEqual([]);
    } finally {
      g.open();
      await worker.close();
      await queue.close();
    }
  });

  it('a run handed back goes back to the queue and is taken again; a failing processor drops its job (one attempt)', async () => {
    const queue = new RunQueue(r.redis, settings({ concurrency: 1 }));
    const calls: string[] = [];
    const worker = queue.createWorker(
      async (runId) => {
        calls.push(runId);
        if (runId === 'fails') throw new Error('engine exploded');
        return calls.filter((c) => c === runId).length === 1 ? 'hand-back' : 'done';
      },
      () => undefined,
    );
    try {
      await queue.enqueue('back');
      await queue.enqueue('fails');
      worker.start();
      await until(() => calls.filter((c) => c === 'back').length === 2 && calls.includes('fails'), 'both runs processed');
      await until(async () => (await queue.jobState('back')) === 'unknown' && (await queue.jobState('fails')) === 'unknown', 'jobs dropped');
      expect(calls.filter((c) => c === 'fails')).toHaveLength(1);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('a run passed on waits delayed, holding no slot: the runs queued behind it are taken meanwhile, then it comes back', async () => {
    const queue = new RunQueue(r.redis, settings({ concurrency: 1 }));
    const calls: [string, number][] = [];
    const worker = queue.createWorker(
      async (runId) => {
        calls.push([runId, Date.now()]);
        return runId === 'elsewhere' && calls.filter(([c]) => c === runId).length === 1 ? 'pass-on' : 'done';
      },
      () => undefined,
    );
    try {
      await queue.enqueue('elsewhere');
      await queue.enqueue('next');
      worker.start();
      await until(() => calls.some(([c]) => c === 'next'), 'the run behind it taken');
      expect(await queue.jobState('elsewhere')).toBe('delayed');
      await until(() => calls.filter(([c]) => c === 'elsewhere').length === 2, 'the passed-on run taken again');
      const [first, second] = calls.filter(([c]) => c === 'elsewhere').map(([, t]) => t);
      expect(second - first).toBeGreaterThanOrEqual(PASS_ON_DELAY_MS - 50);
      expect(calls.map(([c]) => c)).toEqual(['elsewhere', 'next', 'elsewhere']);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it("closing a worker waits for its running runs; closing the queue leaves a shared connection open and closes its own", async () => {
    const s = settings({ concurrency: 1 });
    const queue = new RunQueue(r.redis, s);
    const g = gate();
    let taken = false;
    const worker = queue.createWorker(async () => {
      taken = true;
      await g.opened;
      return 'done';
    }, () => undefined);
    await queue.enqueue('long');
    worker.start();
    await until(() => taken, 'run taken');
    let closed = false;
    const closing = worker.close().then(() => (closed = true));
    await sleep(300);
    expect(closed).toBe(false);
    g.open();
    await closing;
    await queue.close();
    expect(await r.redis.ping()).toBe('PONG');

    const own = new RunQueue({ redisUrl: r.server.url }, s);
    expect(await own.jobState('long')).toBe('unknown');
    const before = Number((await r.redis.info('clients')).match(/connected_clients:(\d+)/)![1]);
    await own.close();
    await until(async () => Number((await r.redis.info('clients')).match(/connected_clients:(\d+)/)![1]) < before, 'its connection closed');
  });
});
