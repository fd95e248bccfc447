import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TERMINAL } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { findProcesses } from '../helpers/processes';
import { FAST_RECOVERY_ENV, napForm, RunInspector, terminalTimes, uniqueSeconds, waitEngineRunning, waitFor } from '../helpers/recovery';
import { queueOf } from '../helpers/stack';

/**
 * The private redis-server (AOF on, as in docker-compose) is stopped and started again in place
 * while a run is RUNNING and others wait in QUEUED. Runs acknowledged before the restart must
 * all be there afterwards and reach a terminal state; the API and the worker must reconnect by
 * themselves.
 */
describe.each([
  { how: 'sigterm' as const, downMs: 1500 },
  { how: 'shutdown' as const, downMs: 0 },
])('redis-server restarted ($how, down $downMs ms) mid-run', ({ how, downMs }) => {
  const h = useStack({ workers: 1, workerConcurrency: 1, env: { ...FAST_RECOVERY_ENV, WES_QUEUED_JOB_CHECK_MS: '2000' } });

  it('every acknowledged run is still there and reaches a terminal state; API and worker reconnect', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      const running = uniqueSeconds(4);
      const runningId = await client.submitOk(napForm(running, { role: 'running' }));
      await waitEngineRunning(client, inspector, runningId, running, 1);
      const queued = [uniqueSeconds(1), uniqueSeconds(1)];
      const queuedIds = [];
      for (const s of queued) queuedIds.push(await client.submitOk(napForm(s, { role: 'queued' })));
      for (const id of queuedIds) expect(await inspector.state(id)).toBe('QUEUED');
      const acknowledged = [runningId, ...queuedIds];
      const before = await inspector.countsAndTruth();

      const t0 = Date.now();
      await stack.redis.restart({ how, downMs });
      const restartMs = Date.now() - t0;

      // Invariant watched from now on: a QUEUED run has a queue job (a run QUEUED with none
      // waits for the reaper's WES_QUEUED_JOB_CHECK_MS, 60 s by default, before anyone runs it).
      const queue = queueOf(stack);
      const jobless = new Map<string, number>();
      const joblessSpans: string[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const id of acknowledged) {
            // The run's current job: its id, or the one a requeue gave it (field `job`).
            const rec = await inspector.record(id).catch(() => undefined);
            const jobId = rec?.hash.job || id;
            const queuedWithoutJob = rec?.hash.state === 'QUEUED' && (await queue.jobState(jobId).catch(() => 'error')) === 'unknown';
            if (queuedWithoutJob && !jobless.has(id)) jobless.set(id, Date.now());
            if (!queuedWithoutJob && jobless.has(id)) {
              const ms = Date.now() - jobless.get(id)!;
              if (ms >= 500) joblessSpans.push(`${id} was QUEUED without a queue job for ${ms} ms (${JSON.stringify((await inspector.record(id)).systemLogs)})`);
              jobless.delete(id);
            }
          }
          await sleep(100);
        }
      })();

      // The runs survived the restart, in the state they had (the AOF held them).
      const after = await inspector.countsAndTruth();
      expect(after.ids.sort()).toEqual(before.ids.sort());
      for (const id of acknowledged) expect(await inspector.state(id), `${id} after the restart`).not.toBeNull();

      // The API answers again by itself.
      const apiBackMs = await waitFor(
        'service-info to answer 200 again',
        async () => ((await fetch(client.url('/service-info'))).status === 200 ? Date.now() - t0 : undefined),
        30_000,
        100,
      );

      // All reach a terminal state; they are sleeps that succeed: COMPLETE.
      const finals: Record<string, string> = {};
      await waitFor(
        'every acknowledged run to end',
        async () => {
          for (const id of acknowledged) finals[id] = await client.status(id);
          return acknowledged.every((id) => TERMINAL.includes(finals[id]));
        },
        90_000,
        250,
      ).catch(async (err) => {
        const details = await Promise.all(
          acknowledged.map(async (id) => {
            const rec = await inspector.record(id);
            return { id, job: await queue.jobState(rec.hash.job || id), ...rec };
          }),
        );
        throw new Error(`${(err as Error).message}: ${JSON.stringify(details)}`);
      });
      watching = false;
      await watcher;
      await queue.close();
      const records = await Promise.all(acknowledged.map((id) => inspector.record(id)));
      console.log(
        `redis restart (${how}, down ${downMs} ms): restart took ${restartMs} ms, API answered after ${apiBackMs} ms; ` +
          `jobless QUEUED spans ${JSON.stringify(joblessSpans)}; final ${JSON.stringify(acknowledged.map((id, i) => ({ state: finals[id], attempt: records[i].hash.attempt, logs: records[i].systemLogs })))}`,
      );
      for (const [i, id] of acknowledged.entries()) {
        expect(finals[id], `${id}: ${JSON.stringify(records[i].systemLogs)}`).toBe('COMPLETE');
        expect(terminalTimes(records[i].hash)).toHaveLength(1);
      }

      // New submissions work, through the same API and worker processes.
      const fresh = uniqueSeconds(1);
      const freshId = await client.submitOk(napForm(fresh, { role: 'after-restart' }));
      await client.waitForState(freshId, ['COMPLETE'], 60_000);
      expect(stack.liveWorkers()).toHaveLength(1);
      expect(stack.workers).toHaveLength(1);
      expect(stack.api.child.exitCode).toBeNull();
      const info = await client.getJson('/service-info');
      expect(info.workflow_engine_versions?.cwltool?.workflow_engine_version?.length, 'the worker announced itself again').toBeGreaterThan(0);
      expect(info.system_state_counts.COMPLETE).toBe(4);
      const { counts, truth } = await inspector.countsAndTruth();
      expect(counts).toEqual(truth);
      await sleep(200);
      expect(findProcesses(stack.workDir)).toEqual([]);

      // The worker never died: it was there, on this host, with its process alive, all along.
      // Taking it for lost because its heartbeat key expired while Redis was down kills a
      // healthy engine and runs the workflow again.
      const runningRecord = records[0];
      expect(
        { attempt: runningRecord.hash.attempt, systemLogs: runningRecord.systemLogs },
        'the run held by a live worker (same host, pid alive) was taken from it after the Redis restart',
      ).toEqual({ attempt: '1', systemLogs: [] });
      // And a QUEUED run always has its queue job (else it waits for WES_QUEUED_JOB_CHECK_MS).
      expect(joblessSpans, joblessSpans.join('\n')).toEqual([]);
    } finally {
      inspector.close();
    }
  });
});
