import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { RunKeys } from '../../libs/runs/src/run-keys';
import { WorkflowStateMachine } from '../../libs/runs/src/workflow-state-machine';
import { runForm, WesClient, workflowFiles } from '../helpers/client';
import { reverseLines, TWO_STEP_FILES, uniqueNumber, useStack } from '../helpers/e2e';
import { findProcesses } from '../helpers/processes';
import { logHas, Stack } from '../helpers/stack';

/**
 * Cancellation. One worker that runs one run at a time, so a second run waits in QUEUED, and a
 * short grace period between the stop signal and SIGKILL.
 */
const GRACE_MS = 2000;

function sleepSpec(seconds: number) {
  return runForm({
    workflow_url: 'sleep.cwl',
    workflow_type: 'CWL',
    workflow_type_version: 'v1.1',
    workflow_params: { seconds },
    tags: { purpose: 'cancel-test' },
    attachments: workflowFiles('sleep.cwl'),
  });
}

async function waitForProcess(marker: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (findProcesses(marker).length === 0) {
    if (Date.now() > deadline) throw new Error(`no process "${marker}" appeared within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A sleep that ignores SIGTERM and SIGINT: only SIGKILL ends it (whatever the engine does on a stop signal). */
function stubbornSpec(seconds: number) {
  return runForm({
    workflow_url: 'stubborn.cwl',
    workflow_type: 'CWL',
    workflow_type_version: 'v1.1',
    workflow_params: { seconds: String(seconds) },
    tags: { purpose: 'cancel-test' },
    attachments: workflowFiles('stubborn.cwl'),
  });
}

/** Starts a sleep run and waits until it is RUNNING and its `sleep` process exists. */
async function startSleeping(client: WesClient, seconds: number, spec = sleepSpec): Promise<string> {
  const id = await client.submitOk(spec(seconds));
  await client.waitForState(id, ['RUNNING']);
  // The engine really runs: its sleep is visible (so "no process left" later means something).
  await waitForProcess(`sleep ${seconds}`);
  return id;
}

/**
 * Cancels a RUNNING run; checks CANCELING right after (or, with a fast engine, CANCELED
 * already), CANCELED later, and that the state machine recorded CANCELING before CANCELED.
 * Returns the time from the cancel request to CANCELED.
 */
async function cancelRunning(stack: Stack, id: string, mustSeeCanceling: boolean): Promise<number> {
  const client = stack.client;
  expect(await client.status(id)).toBe('RUNNING');
  const t0 = Date.now();
  const r = await client.cancel(id);
  expect(r.status).toBe(200);
  expect(r.body).toEqual({ run_id: id });
  const right = await client.status(id);
  expect(mustSeeCanceling ? ['CANCELING'] : ['CANCELING', 'CANCELED']).toContain(right);
  const { seen } = await client.waitForState(id, ['CANCELED'], 30_000, 50);
  const elapsed = Date.now() - t0;
  expect(['CANCELING', 'CANCELED']).toContain(seen[0]);
  expect(seen).not.toContain('COMPLETE');

  // The transition times in the run record (private Redis, known prefix) prove the path.
  const redis = new Redis(stack.redis.url);
  try {
    // Entering RUNNING writes 'start', a terminal state 'end', CANCELING 't:CANCELING'.
    const times = await redis.hmget(new RunKeys(stack.keyPrefix).run(id), 'start', 't:CANCELING', 'end');
    expect(times.every((t) => t !== null), `transition times ${JSON.stringify(times)}`).toBe(true);
    const [running, canceling, canceled] = times.map(Number);
    expect(running).toBeLessThanOrEqual(canceling);
    expect(canceling).toBeLessThanOrEqual(canceled);
  } finally {
    redis.disconnect();
  }
  return elapsed;
}

describe('cancel with the engine stop signal (cwltool: SIGINT)', () => {
  const h = useStack({ workerConcurrency: 1, cancelGraceMs: GRACE_MS, cancelPollMs: 250 });
  const running = { id: '', seconds: uniqueNumber() };
  const queued = { id: '', seconds: uniqueNumber(100_000) };

  it('a QUEUED run: CANCELED at once', async () => {
    running.id = await startSleeping(h.client, running.seconds);
    queued.id = await h.client.submitOk(sleepSpec(queued.seconds));
    // The only slot is taken: the second run must wait.
    for (let i = 0; i < 5; i++) {
      expect(await h.client.status(queued.id)).toBe('QUEUED');
      await sleep(100);
    }
    const r = await h.client.cancel(queued.id);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ run_id: queued.id });
    expect(await h.client.status(queued.id)).toBe('CANCELED');

    const log = await h.client.runLog(queued.id);
    expect(log.state).toBe('CANCELED');
    expect(log.run_log?.start_time).toBeUndefined();
    expect(log.run_log?.cmd ?? []).toEqual([]);
  });

  it('a RUNNING run: CANCELING, then CANCELED once its whole process group is gone', async () => {
    const elapsed = await cancelRunning(h.stack, running.id, false);
    // Nothing of the run is left: not the tool (sleep), not cwltool (whose argv names the work dir).
    expect(findProcesses(`sleep ${running.seconds}`)).toEqual([]);
    expect(findProcesses(h.stack.workDir)).toEqual([]);
    expect(elapsed).toBeLessThan(GRACE_MS + 6000);

    const log = await h.client.runLog(running.id);
    expect(log.state).toBe('CANCELED');
    expect(log.run_log.start_time).toBeDefined();
    expect(log.run_log.end_time).toBeDefined();
    expect(Date.parse(log.run_log.end_time)).toBeGreaterThanOrEqual(Date.parse(log.run_log.start_time));
    expect(log.run_log.exit_code ?? null).not.toBe(0);
  });

  it('is sticky: a canceled run stays CANCELED, even after a second cancel', async () => {
    await sleep(1000);
    expect(await h.client.status(running.id)).toBe('CANCELED');
    // The status code of a cancel of a finished run is not fixed by WES; the state must not move.
    const again = await fetch(h.client.url(`/runs/${running.id}/cancel`), { method: 'POST' });
    expect(again.status).toBeLessThan(500);
    await again.text();
    expect(await h.client.status(running.id)).toBe('CANCELED');
    expect(await h.client.status(queued.id)).toBe('CANCELED');
  });

  it('the canceled QUEUED run never runs, while the freed worker takes the next run', async () => {
    const input = 'after\ncancel\n';
    const next = await h.client.submitOk(
      runForm({
        workflow_url: 'main.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.2',
        workflow_params: { inp: { class: 'File', location: 'input.txt' } },
        attachments: { ...workflowFiles(...TWO_STEP_FILES), 'input.txt': input },
      }),
    );
    await h.client.waitForState(next, ['COMPLETE']);
    const out = (await h.client.runLog(next)).outputs;
    expect((await h.client.fetchText(out.reversed.location)).text).toBe(reverseLines(input));

    expect(findProcesses(`sleep ${queued.seconds}`)).toEqual([]);
    const log = await h.client.runLog(queued.id);
    expect(log.state).toBe('CANCELED');
    expect(log.run_log?.start_time).toBeUndefined();
    expect(log.run_log?.cmd ?? []).toEqual([]);
    expect(log.run_log?.exit_code).toBeUndefined();
    // No worker ever took it: the state machine never recorded INITIALIZING.
    const redis = new Redis(h.stack.redis.url);
    try {
      const rec = await redis.hgetall(new RunKeys(h.stack.keyPrefix).run(queued.id));
      expect(rec.state).toBe('CANCELED');
      expect(rec['t:INITIALIZING']).toBeUndefined();
      expect(rec.start).toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });

  it('is counted in service-info', async () => {
    const info = await h.client.getJson('/service-info');
    expect(info.system_state_counts.CANCELED).toBe(2);
    expect(info.system_state_counts.COMPLETE).toBe(1);
    expect(info.system_state_counts.CANCELING ?? 0).toBe(0);
    expect(info.system_state_counts.RUNNING ?? 0).toBe(0);
  });

  it('a cancel whose broadcast the worker missed still lands: it finds the durable mark by polling', async () => {
    const seconds = uniqueNumber();
    const id = await startSleeping(h.client, seconds);
    const redis = new Redis(h.stack.redis.url);
    try {
      const machine = new WorkflowStateMachine(redis, new RunKeys(h.stack.keyPrefix));
      // Cut every subscriber off and cancel in the same instant (both commands leave in one
      // write): the worker's cancel subscriber is reconnecting when the broadcast goes out.
      const [killed, sent] = await Promise.all([redis.client('KILL', 'TYPE', 'pubsub'), machine.send(id, 'cancel')]);
      expect(Number(killed)).toBeGreaterThan(0);
      expect(sent).toEqual({ applied: true, from: 'RUNNING', to: 'CANCELING' });
      await h.client.waitForState(id, ['CANCELED'], 30_000, 50);
    } finally {
      redis.disconnect();
    }
    const worker = h.stack.workers[0];
    expect(logHas(worker, 'cancel mark found by polling')).toBe(true);
    expect(readFileSync(worker.logFile, 'utf8').split('\n').some((l) => l.includes(id) && l.includes('cancel received'))).toBe(false);
    expect(findProcesses(`sleep ${seconds}`)).toEqual([]);
  });
});

describe('cancel with WES_CANCEL_SIGNAL=SIGTERM and a tool that ignores it', () => {
  const h = useStack({ workerConcurrency: 1, cancelGraceMs: GRACE_MS, cancelPollMs: 250, env: { WES_CANCEL_SIGNAL: 'SIGTERM' } });

  it('waits the grace period, then SIGKILLs the whole group', async () => {
    const seconds = uniqueNumber();
    const id = await startSleeping(h.client, seconds, stubbornSpec);
    const elapsed = await cancelRunning(h.stack, id, true);
    expect(findProcesses(`sleep ${seconds}`)).toEqual([]);
    expect(findProcesses(h.stack.workDir)).toEqual([]);
    // Not before the grace period (the tool was still there), not long after it (SIGKILL came).
    expect(elapsed).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(elapsed).toBeLessThan(GRACE_MS + 6000);
  });
});
