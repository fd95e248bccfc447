import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { groupMembers } from '../../libs/engines/src';
import { SHUTDOWN_REDIS_WAIT_MS } from '../../libs/queue/src';
import { TERMINAL } from '../helpers/client';
import { FAST_RECOVERY_ENV, napForm, RunInspector, uniqueSeconds, waitEngineRunning, waitFor, waitProcessesGone } from '../helpers/recovery';
import { ManagedProcess, startStack, Stack } from '../helpers/stack';

/**
 * SIGTERM while Redis is unreachable (killed): every command the process sends waits for a
 * reconnection that does not come (ioredis, maxRetriesPerRequest null). The process must still
 * exit within its drain and grace times, stop its engines first (worker), and leave what it
 * held to the usual recovery once Redis is back: the run is not stuck RUNNING.
 */

const DRAIN_MS = 1000;
const GRACE_MS = 2000;
const API_DRAIN_MS = 2000;
/**
 * What the exit may take beyond the drain and grace times: the bounded waits for Redis
 * (SHUTDOWN_REDIS_WAIT_MS, at most three in a row), Node's own exit.
 */
const MARGIN_MS = 3 * SHUTDOWN_REDIS_WAIT_MS + 2000;

/** A clean exit after SIGTERM: code 0, or ended by the re-raised SIGTERM (Nest's shutdown hooks). */
function expectCleanExit(exit: { code: number | null; signal: NodeJS.Signals | null }): void {
  expect(exit.code === 0 || (exit.code === null && exit.signal === 'SIGTERM'), `exit ${JSON.stringify(exit)}`).toBe(true);
}

async function withStack(options: Parameters<typeof startStack>[0], body: (stack: Stack) => Promise<void>): Promise<void> {
  const stack = await startStack(options);
  try {
    await body(stack);
  } catch (err) {
    console.log(`logs of the stack under test:\n${stack.logTail(80)}`);
    throw err;
  } finally {
    await stack.stop();
  }
}

/**
 * Kills the stack's Redis, runs `whileDown`, then sends SIGTERM to `p`, which must exit cleanly
 * within `limitMs`; returns how long it took.
 */
async function sigtermAfterRedisDies(stack: Stack, p: ManagedProcess, limitMs: number, whileDown?: () => Promise<void>): Promise<number> {
  await stack.redis.kill();
  // Long enough for the process's connections to see the loss and start reconnecting.
  await sleep(500);
  await whileDown?.();
  const t0 = Date.now();
  stack.signal(p, 'SIGTERM');
  const exit = await stack.waitExit(p, limitMs);
  const exitMs = Date.now() - t0;
  expectCleanExit(exit);
  return exitMs;
}

describe('SIGTERM while Redis is unreachable', () => {
  it('a worker running a run stops its engine group, exits within drain + grace, and the run is recovered once Redis is back', async () => {
    await withStack(
      {
        workers: 1,
        workerConcurrency: 1,
        cancelGraceMs: GRACE_MS,
        env: { ...FAST_RECOVERY_ENV, WES_CANCEL_GRACE_MS: String(GRACE_MS) },
        workerEnv: { WES_DRAIN_MS: String(DRAIN_MS) },
      },
      async (stack) => {
        const { client } = stack;
        const inspector = new RunInspector(stack);
        try {
          // The tool ignores SIGTERM: the group is gone only through the SIGKILL after the grace time.
          const seconds = uniqueSeconds(6);
          const id = await client.submitOk(napForm(seconds, { test: 'shutdown-redis-down' }, 'stubborn.cwl'));
          const procs = await waitEngineRunning(client, inspector, id, seconds, 1);
          const pgid = Number((await inspector.record(id)).hash.pgid);
          expect(pgid).toBeGreaterThan(0);
          const exitMs = await sigtermAfterRedisDies(stack, stack.workers[0], DRAIN_MS + GRACE_MS + MARGIN_MS);
          const groupLeft = await groupMembers(pgid);
          expect(groupLeft, `engine group ${pgid} after the worker exited`).toEqual([]);
          await waitProcessesGone(procs, 1000, 'the engine of the worker');

          await stack.redis.start();
          // The API's reaper finds the run's worker lost (its heartbeat record expired): requeue.
          const settled = await waitFor(
            'the run to be settled after Redis came back',
            async () => {
              const r = await inspector.record(id);
              return r.hash.state !== 'RUNNING' ? r : undefined;
            },
            30_000,
            100,
          );
          console.log(`worker SIGTERM with Redis down: exited ${exitMs} ms after SIGTERM (drain ${DRAIN_MS}, grace ${GRACE_MS}); run then ${settled.hash.state}: ${JSON.stringify(settled.systemLogs)}`);
          // WES_WORKER_LOSS_POLICY=requeue (the default); under `fail` it would be SYSTEM_ERROR.
          expect(settled.hash.state).toBe('QUEUED');
          expect(settled.systemLogs.join('\n')).toMatch(/attempt 1 of \d+ lost while RUNNING.*queued again/);

          // A new worker takes it and runs it to the end.
          await stack.startWorker();
          expect((await client.waitForState(id, TERMINAL, 60_000)).state).toBe('COMPLETE');
          expect((await inspector.record(id)).hash.attempt).toBe('2');
        } finally {
          inspector.close();
        }
      },
    );
  });

  it('an idle worker exits within drain + grace', async () => {
    await withStack({ workers: 1, env: FAST_RECOVERY_ENV, workerEnv: { WES_DRAIN_MS: String(DRAIN_MS) } }, async (stack) => {
      const exitMs = await sigtermAfterRedisDies(stack, stack.workers[0], DRAIN_MS + GRACE_MS + MARGIN_MS);
      console.log(`idle worker SIGTERM with Redis down: exited ${exitMs} ms after SIGTERM`);
    });
  });

  it('the API, with requests waiting on Redis, answers or closes them and exits within its drain time', async () => {
    await withStack({ workers: 0, apiEnv: { WES_API_DRAIN_MS: String(API_DRAIN_MS) } }, async (stack) => {
      const { client } = stack;
      const id = await client.submitOk(napForm(uniqueSeconds(1)));
      let waiting: Promise<string>[] = [];
      const exitMs = await sigtermAfterRedisDies(stack, stack.api, API_DRAIN_MS + MARGIN_MS, async () => {
        // Each waits for Redis: none can be answered from what the API holds.
        waiting = ['/service-info', `/runs/${id}/status`, `/runs/${id}`, '/runs'].map((p) =>
          fetch(client.url(p)).then(
            async (res) => `${res.status}`,
            (err: Error) => `closed (${err.message})`,
          ),
        );
        await sleep(300);
      });
      const outcomes = await Promise.race([Promise.all(waiting), sleep(2000).then(() => undefined)]);
      console.log(`API SIGTERM with Redis down: exited ${exitMs} ms after SIGTERM (drain ${API_DRAIN_MS}); requests: ${JSON.stringify(outcomes)}`);
      expect(outcomes, 'every waiting request was answered or closed').toBeDefined();
    });
  });
});
