import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useStack } from '../helpers/e2e';
import { FAST_RECOVERY_ENV, napForm, RunInspector, stillRunning, uniqueSeconds, waitEngineRunning, waitProcessesGone, waitTerminal } from '../helpers/recovery';
import { waitForLog } from '../helpers/stack';

/**
 * A run's job delivered again to the worker that still runs it (its lock lapsed, as during a
 * pause of the worker, and BullMQ's stalled check moved it back to the queue): the worker's
 * other slot must not be held by it for the whole run.
 */
describe('a run job delivered again to the worker that runs it', () => {
  // One worker, two slots; a 2 s job lock and a stalled check every second (FAST_RECOVERY_ENV).
  const h = useStack({ workers: 1, workerConcurrency: 2, env: FAST_RECOVERY_ENV });

  it('the second delivery frees its slot at once; the first execution still owns the run and ends it; its completion of the lost job is a warning, not an error', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    const redis = stack.redisClient();
    try {
      const worker = stack.workers[0];
      const seconds = uniqueSeconds(300);
      const id = await client.submitOk(napForm(seconds, { test: 'redelivery' }));
      const procs = await waitEngineRunning(client, inspector, id, seconds, 1);

      // The job's lock goes, as when it lapses: the worker's own stalled check moves the job back
      // to the queue, and its free slot takes it.
      expect(await redis.del(`${stack.keys.bullPrefix}:${stack.queueName}:${id}:lock`)).toBe(1);
      await waitForLog(worker, 'job delivered again while this worker still runs the same attempt', 15_000);

      // That slot is free again: a run submitted now is taken and completes while the first one runs on.
      const other = await client.submitOk(napForm(uniqueSeconds(1), { test: 'after-redelivery' }));
      expect(await waitTerminal(client, other, 60_000)).toBe('COMPLETE');
      const rec = await inspector.record(id);
      expect(rec.hash.state).toBe('RUNNING');
      expect(rec.hash.attempt).toBe('1');
      expect(procs.every(stillRunning), 'the first execution runs on, undisturbed').toBe(true);

      // The first execution still owns the run: a cancel reaches it and ends it.
      expect((await client.cancel(id)).status).toBe(200);
      expect(await waitTerminal(client, id, 30_000)).toBe('CANCELED');
      await waitProcessesGone(procs, 5_000, 'the engine of the canceled run');
      // Its own completion of the job (already answered) finds its lock gone: logged as a warning once, no error.
      await waitForLog(worker, 'a job this worker no longer held was not moved on', 10_000);
      const errors = readFileSync(worker.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"level":50') && /Missing (key|lock)|Lock mismatch/.test(l));
      expect(errors).toEqual([]);

      // And the worker goes on taking runs, both slots.
      const [a, b] = await Promise.all([1, 1].map(() => client.submitOk(napForm(uniqueSeconds(1), { test: 'afterwards' }))));
      expect(await waitTerminal(client, a, 60_000)).toBe('COMPLETE');
      expect(await waitTerminal(client, b, 60_000)).toBe('COMPLETE');
      const { counts, truth } = await inspector.countsAndTruth();
      expect(counts).toEqual(truth);
      expect(counts).toEqual({ COMPLETE: 3, CANCELED: 1 });
    } finally {
      redis.disconnect();
      inspector.close();
    }
  });
});
