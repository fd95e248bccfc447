import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStack } from '../helpers/e2e';
import { environOf, findProcesses, launcherOf } from '../helpers/processes';
import {
  FAST_RECOVERY_ENV,
  napForm,
  RunInspector,
  runProcesses,
  stillRunning,
  holderPid,
  terminalTimes,
  uniqueSeconds,
  waitEngineRunning,
  waitFor,
  waitProcessesGone,
  waitTerminal,
} from '../helpers/recovery';
import { logHas, ManagedProcess, WORKER_READY_LOG } from '../helpers/stack';

/**
 * Workers killed with SIGKILL while they hold a run. Fast settings (heartbeat 0.5 s, reaper
 * 0.5 s, job lock 2 s, stalled check 1 s) so a lost worker is noticed within seconds.
 */

describe('worker killed mid-run, policy requeue (default)', () => {
  const h = useStack({ workers: 2, workerConcurrency: 1, env: FAST_RECOVERY_ENV });
  let inspector: RunInspector;
  beforeAll(() => {
    inspector = new RunInspector(h.stack);
  });
  afterAll(() => inspector?.close());

  it('goes back to QUEUED with a system log, the old engine dies, and the other worker runs it to COMPLETE', async () => {
    const { client, stack } = h;
    const seconds = uniqueSeconds(4);
    const id = await client.submitOk(napForm(seconds, { test: 'worker-crash' }));
    const attempt1 = await waitEngineRunning(client, inspector, id, seconds, 1);
    expect(attempt1.some((p) => p.cmdline.startsWith(`sleep ${seconds}`))).toBe(true);
    const holder = await stack.workerHolding(id);
    expect(holder, 'the run record names one of the stack workers (wpid)').toBeDefined();
    const other = stack.liveWorkers().find((w) => w !== holder) as ManagedProcess;
    const deadId = (await inspector.record(id)).hash.worker;

    const killedAt = Date.now();
    await stack.kill(holder!);

    // Settled: back to QUEUED with a line saying which attempt was lost, within a few seconds.
    const rec = await waitFor(
      'a system log about the lost attempt',
      async () => {
        const r = await inspector.record(id);
        return r.systemLogs.some((l) => /attempt 1 of 3 lost while RUNNING/.test(l)) ? r : undefined;
      },
      10_000,
      50,
    );
    const settledMs = Date.now() - killedAt;
    const line = rec.systemLogs.find((l) => /attempt 1 of 3 lost/.test(l))!;
    expect(line).toMatch(/queued again/);
    expect(line).toContain(`worker ${deadId}`);
    // The preempt went through QUEUED again: its time is that of the preempt, not of the submit.
    expect(Number(rec.hash['t:QUEUED'])).toBeGreaterThan(Number(rec.hash.created));

    // Nothing of attempt 1 outlives its worker for long: not cwltool, not the sleep.
    const goneMs = await waitProcessesGone(attempt1, 5_000, 'the engine processes of the killed worker');

    // Attempt 2, on the surviving worker, to the end.
    const final = await waitTerminal(client, id, 60_000);
    const after = await inspector.record(id);
    const log = await client.runLog(id);
    console.log(`worker-crash requeue: settled ${settledMs} ms after SIGKILL, engine gone after ${goneMs} ms; final ${final}; system_logs ${JSON.stringify(after.systemLogs)}`);
    expect(final, JSON.stringify(log.run_log)).toBe('COMPLETE');
    expect(after.hash.attempt).toBe('2');
    expect(holderPid(after.hash)).toBe(other.child.pid);
    expect(log.run_log.system_logs.some((l: string) => /attempt 1 of 3 lost while RUNNING/.test(l))).toBe(true);
    expect(log.run_log.exit_code).toBe(0);
    expect(terminalTimes(after.hash)).toEqual(['t:COMPLETE']);
    expect(runProcesses(id, seconds)).toEqual([]);

    const { counts, truth } = await inspector.countsAndTruth();
    expect(counts).toEqual(truth);
    expect(counts).toEqual({ COMPLETE: 1 });
  });

  it('attempts are bounded: killed in every attempt, the run ends SYSTEM_ERROR after WES_MAX_ATTEMPTS (3)', async () => {
    const { client, stack } = h;
    const seconds = uniqueSeconds(300);
    const id = await client.submitOk(napForm(seconds, { test: 'worker-crash-bounded' }));
    const killed: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const procs = await waitEngineRunning(client, inspector, id, seconds, attempt, 60_000);
      const holder = await stack.workerHolding(id);
      expect(holder, `holder of attempt ${attempt}`).toBeDefined();
      await stack.kill(holder!);
      killed.push(holder!.child.pid!);
      // Somebody must be there to take the next attempt.
      if (stack.liveWorkers().length === 0) await stack.startWorker();
      await waitProcessesGone(procs, 5_000, `the engine of attempt ${attempt}`);
    }
    const final = await waitFor(
      'the run to end',
      async () => {
        const s = await inspector.state(id);
        return s && ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'].includes(s) ? s : undefined;
      },
      15_000,
    );
    // A 4th attempt must never start: wait a little and look again.
    await sleep(2500);
    const rec = await inspector.record(id);
    console.log(`worker-crash bounded: final ${final}; attempt ${rec.hash.attempt}; system_logs ${JSON.stringify(rec.systemLogs)}`);
    expect(final).toBe('SYSTEM_ERROR');
    expect(rec.hash.state).toBe('SYSTEM_ERROR');
    expect(rec.hash.attempt).toBe('3');
    expect(rec.systemLogs.filter((l) => /attempt 1 of 3 lost while RUNNING.*queued again/.test(l))).toHaveLength(1);
    expect(rec.systemLogs.filter((l) => /attempt 2 of 3 lost while RUNNING.*queued again/.test(l))).toHaveLength(1);
    expect(rec.systemLogs.filter((l) => /attempt 3 of 3 lost while RUNNING.*no attempts left.*SYSTEM_ERROR/.test(l))).toHaveLength(1);
    expect(findProcesses(`sleep ${seconds}`)).toEqual([]);
    expect(runProcesses(id)).toEqual([]);
    const log = await client.runLog(id);
    expect(log.state).toBe('SYSTEM_ERROR');
    expect(log.run_log.system_logs).toEqual(rec.systemLogs);
    const { counts, truth } = await inspector.countsAndTruth();
    expect(counts).toEqual(truth);
  });
});

describe('worker killed mid-run, WES_WORKER_LOSS_POLICY=fail', () => {
  const h = useStack({ workers: 1, workerConcurrency: 1, env: { ...FAST_RECOVERY_ENV, WES_WORKER_LOSS_POLICY: 'fail' } });

  it('ends SYSTEM_ERROR with a system log saying the worker was lost (settled by the API alone)', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      const seconds = uniqueSeconds(300);
      const id = await client.submitOk(napForm(seconds));
      const procs = await waitEngineRunning(client, inspector, id, seconds, 1);
      await waitFor('the nap task recorded', async () => ((await client.getJson(`/runs/${id}/tasks`)).task_logs.length === 1 ? true : undefined), 10_000, 50);
      const killedAt = Date.now();
      await stack.kill(stack.workers[0]);
      // No worker is left: only the API's reaper can settle it.
      expect(stack.liveWorkers()).toEqual([]);
      const state = await waitFor('SYSTEM_ERROR', async () => ((await inspector.state(id)) === 'SYSTEM_ERROR' ? 'SYSTEM_ERROR' : undefined), 10_000, 50);
      const settledMs = Date.now() - killedAt;
      expect(state).toBe('SYSTEM_ERROR');
      await waitProcessesGone(procs, 5_000, 'the engine of the killed worker');
      const log = await client.runLog(id);
      console.log(`worker-crash fail policy: SYSTEM_ERROR ${settledMs} ms after SIGKILL; system_logs ${JSON.stringify(log.run_log.system_logs)}`);
      expect(log.state).toBe('SYSTEM_ERROR');
      const lines = log.run_log.system_logs as string[];
      expect(lines.some((l) => /attempt 1 of 3 lost while RUNNING: worker .*(lost|died).*worker-loss policy is "fail".*SYSTEM_ERROR/.test(l)), lines.join('\n')).toBe(true);
      expect(log.run_log.end_time).toBeDefined();
      // Nobody saw its task end: the task says so rather than look as if it still ran.
      const [task] = (await client.getJson(`/runs/${id}/tasks`)).task_logs;
      expect(task.end_time).toBeUndefined();
      expect(task.system_logs).toContain('the run ended SYSTEM_ERROR before this task was seen to end');
      expect((await inspector.record(id)).hash.attempt).toBe('1');
      expect(logHas(stack.api, 'lost run settled')).toBe(true);
      const info = await client.getJson('/service-info');
      expect(info.system_state_counts.SYSTEM_ERROR).toBe(1);
      expect(info.system_state_counts.RUNNING ?? 0).toBe(0);
    } finally {
      inspector.close();
    }
  });
});

/** Heartbeat TTL 3 × 10 s, reapers every 10 min, 30 s job lock: nothing notices a dead worker for a while. */
const SLOW_NOTICE_ENV = { WES_HEARTBEAT_MS: '10000', WES_REAPER_INTERVAL_MS: '600000', WES_JOB_LOCK_MS: '30000', WES_STALLED_INTERVAL_MS: '1000' };

describe('the engine dies with its worker, with no other process on the host to clean up', () => {
  // A 60 s stop grace: an engine left to wait it out after its worker was gone would be caught
  // (the next attempt of its run may start long before, in the same run folder).
  const h = useStack({ workers: 1, workerConcurrency: 1, env: { ...SLOW_NOTICE_ENV, WES_CANCEL_GRACE_MS: '60000' } });

  it('no engine process (cwltool, the tool) outlives the SIGKILLed worker by more than a few seconds', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      const seconds = uniqueSeconds(300);
      const id = await client.submitOk(napForm(seconds));
      const procs = await waitEngineRunning(client, inspector, id, seconds, 1);
      const killedAt = Date.now();
      await stack.kill(stack.workers[0]);
      try {
        await waitProcessesGone(procs, 5_000, 'the engine of the SIGKILLed worker (parent-death signal)');
      } finally {
        const left = procs.filter(stillRunning);
        console.log(
          `parent-death: ${Date.now() - killedAt} ms after SIGKILL of the worker, still running: ${JSON.stringify(left.map((p) => p.cmdline.slice(0, 70)))}`,
        );
      }
      // Nobody settled the run (that is the next test's business): it is the engine that went.
      expect(await inspector.state(id)).toBe('RUNNING');
      // Cancelled, so the next worker's start-up settles it CANCELED instead of running it again.
      expect((await client.cancel(id)).status).toBe(200);
    } finally {
      inspector.close();
    }
  });

  it('even a tool that ignores the stop signal is gone within seconds of its worker\'s SIGKILL, not after the 60 s grace', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      await stack.startWorker();
      const seconds = uniqueSeconds(300);
      const id = await client.submitOk(napForm(seconds, {}, 'stubborn.cwl'));
      expect(await inspector.state((await inspector.countsAndTruth()).ids.find((x) => x !== id)!)).toBe('CANCELED');
      const procs = await waitEngineRunning(client, inspector, id, seconds);
      const holder = await stack.workerHolding(id);
      expect(holder).toBeDefined();
      const killedAt = Date.now();
      await stack.kill(holder!);
      // The launcher SIGKILLs the group of a worker that is gone: no grace to wait out.
      await waitProcessesGone(procs, 3_000, 'the stubborn engine of the SIGKILLed worker');
      console.log(`parent-death (tool ignoring SIGINT/SIGTERM): engine gone ${Date.now() - killedAt} ms after SIGKILL of the worker`);
      // Cancelled, so the next worker's start-up settles it CANCELED instead of running it again.
      expect((await client.cancel(id)).status).toBe(200);
    } finally {
      inspector.close();
    }
  });

  it('a worker SIGTERMed, then SIGKILLed while its engine waits out the stop grace: the engine goes with it at once', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      const worker = await stack.startWorker({ env: { WES_DRAIN_MS: '300' } });
      // Its launcher holds nothing of the worker's environment (an unsandboxed engine of the same
      // user could read /proc/<launcher>/environ): not REDIS_URL, not the stack's settings.
      const launcher = launcherOf(worker.child.pid);
      expect(launcher, 'the worker runs its engine launcher').toBeDefined();
      const environ = environOf(launcher!.pid);
      expect(environ.join('\n')).not.toContain(stack.redis.url);
      expect(environ.filter((v) => /^(REDIS_URL|WES_)/.test(v))).toEqual([]);

      const seconds = uniqueSeconds(300);
      const id = await client.submitOk(napForm(seconds, {}, 'stubborn.cwl'));
      const procs = await waitEngineRunning(client, inspector, id, seconds);
      expect(await stack.workerHolding(id)).toBe(worker);
      stack.signal(worker, 'SIGTERM');
      // The drain is over: the engine got its stop signal, which it ignores, and has 60 s.
      await waitFor('the stop of the engine group', () => logHas(worker, 'stopping the engine group'), 10_000, 50);
      await sleep(300);
      expect(procs.some(stillRunning)).toBe(true);
      const killedAt = Date.now();
      await stack.kill(worker);
      await waitProcessesGone(procs, 3_000, 'the engine of the worker killed during its stop grace');
      await waitFor('the launcher to exit', () => !stillRunning(launcher!), 3_000, 50);
      console.log(`shutdown then SIGKILL: engine gone ${Date.now() - killedAt} ms after SIGKILL of the worker (stop grace 60 s)`);
    } finally {
      inspector.close();
    }
  });
});

describe('start-up reconciliation: a new worker on the host settles what its dead predecessor held', () => {
  const h = useStack({ workers: 1, workerConcurrency: 1, env: SLOW_NOTICE_ENV });
  const run = { id: '', seconds: uniqueSeconds(8), deadWorker: '', settledAt: 0, freshPid: 0 };

  it('settles the run at once (long before the heartbeat lapses), killing what is left of its engine first', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      run.id = await client.submitOk(napForm(run.seconds));
      const procs = await waitEngineRunning(client, inspector, run.id, run.seconds, 1);
      run.deadWorker = (await inspector.record(run.id)).hash.worker;
      const killedAt = Date.now();
      await stack.kill(stack.workers[0]);
      await sleep(300);
      expect((await inspector.record(run.id)).hash.state, 'nothing else settles it before the new worker starts').toBe('RUNNING');

      const fresh = await stack.startWorker();
      run.freshPid = fresh.child.pid!;
      run.settledAt = Date.now();
      const sinceKill = run.settledAt - killedAt;
      // Settled before the new worker takes jobs (it logs readiness only after reconciling).
      const rec = await inspector.record(run.id);
      const line = rec.systemLogs.find((l) => /attempt 1 of 3 lost while RUNNING/.test(l));
      console.log(`start-up reconciliation: new worker ready ${sinceKill} ms after the SIGKILL; system_logs ${JSON.stringify(rec.systemLogs)}`);
      expect(line, JSON.stringify(rec.systemLogs)).toBeDefined();
      expect(line).toContain(`worker ${run.deadWorker}`);
      expect(line).toMatch(/found by a worker starting up.*queued again/);
      expect(['QUEUED', 'INITIALIZING', 'RUNNING']).toContain(rec.hash.state);
      // The dead worker's heartbeat record (TTL 30 s) had not lapsed: only start-up reconciliation did this.
      expect(sinceKill).toBeLessThan(25_000);
      // The old engine was killed, not left to finish its 8 s sleep.
      await waitProcessesGone(procs, 2_000, 'the engine of the dead worker');
      expect(Date.now() - killedAt).toBeLessThan(Number(run.seconds) * 1000);
    } finally {
      inspector.close();
    }
  });

  it('runs it again at once (not when the dead worker\'s 30 s job lock lapses), to COMPLETE', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      // Measured first, asserted at the end, so a slow re-run is reported with its figure.
      const rerunMs = await waitFor(
        'attempt 2 to start',
        async () => (Number((await inspector.record(run.id)).hash.attempt) >= 2 ? Date.now() - run.settledAt : undefined),
        60_000,
        100,
      );
      const final = await waitTerminal(client, run.id, 60_000);
      const after = await inspector.record(run.id);
      console.log(`start-up reconciliation: attempt 2 started ${rerunMs} ms after the run was settled; final ${final}`);
      expect(final).toBe('COMPLETE');
      expect(after.hash.attempt).toBe('2');
      expect(holderPid(after.hash)).toBe(run.freshPid);
      expect(
        rerunMs,
        `the run was put back to QUEUED at start-up but its BullMQ job stayed active under the dead worker's lock (WES_JOB_LOCK_MS=30000) until it lapsed`,
      ).toBeLessThan(10_000);
    } finally {
      inspector.close();
    }
  });
});

describe('CANCELING never sticks: the worker dies while it waits for the engine to stop', () => {
  // A tool that ignores SIGTERM and a 60 s grace: the worker is still waiting when it is killed.
  const h = useStack({
    workers: 1,
    workerConcurrency: 1,
    env: { ...FAST_RECOVERY_ENV, WES_CANCEL_SIGNAL: 'SIGTERM', WES_CANCEL_GRACE_MS: '60000' },
  });

  it('the reaper resolves the run to CANCELED within a bounded time, with a system log', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      const seconds = uniqueSeconds(300);
      const id = await client.submitOk(napForm(seconds, {}, 'stubborn.cwl'));
      const procs = await waitEngineRunning(client, inspector, id, seconds, 1);
      const r = await client.cancel(id);
      expect(r.status).toBe(200);
      await sleep(1500);
      expect(await client.status(id)).toBe('CANCELING');
      expect(logHas(stack.workers[0], 'stopping the engine group')).toBe(true);

      const killedAt = Date.now();
      await stack.kill(stack.workers[0]);
      await waitFor('CANCELED', async () => (await inspector.state(id)) === 'CANCELED', 10_000, 50);
      const ms = Date.now() - killedAt;
      await waitProcessesGone(procs, 5_000, 'the engine of the killed worker');
      const log = await client.runLog(id);
      console.log(`CANCELING reaper: CANCELED ${ms} ms after the worker was killed; system_logs ${JSON.stringify(log.run_log.system_logs)}`);
      expect(log.state).toBe('CANCELED');
      expect((log.run_log.system_logs as string[]).some((l) => /being canceled: CANCELED/.test(l))).toBe(true);
      const rec = await inspector.record(id);
      expect(terminalTimes(rec.hash)).toEqual(['t:CANCELED']);
      expect(rec.hash.cancel).toBeDefined();
      expect(ms).toBeLessThan(10_000);
      // Stays CANCELED.
      await sleep(1000);
      expect(await client.status(id)).toBe('CANCELED');
      const { counts, truth } = await inspector.countsAndTruth();
      expect(counts).toEqual(truth);
      expect(await inspector.activeIndex()).toEqual({ QUEUED: [], INITIALIZING: [], RUNNING: [], CANCELING: [] });
    } finally {
      inspector.close();
    }
  });
});
