import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { RunKeys } from './run-keys';
import { RunStore } from './run-store';
import { WorkflowStateMachine } from './workflow-state-machine';

/**
 * A worker that held attempt 1, was taken for lost (e.g. paused past its heartbeat), and comes
 * back must not end the attempt another worker is running: every message it sends names its
 * attempt, and the transition script refuses it once the run is on another.
 */
const r = usePrivateRedis();

describe('attempt fencing', () => {
  it('refuses, as stale, the end message of an attempt the run has moved on from', async () => {
    const { redis } = r;
    const keys = new RunKeys(`fence-${randomBytes(4).toString('hex')}`);
    const sm = new WorkflowStateMachine(redis, keys);
    const runs = new RunStore(redis, keys);
    const id = `run-${randomBytes(4).toString('hex')}`;
    expect(await sm.enqueue(id, { request: '{}' })).toBe(true);

    // Attempt 1 on worker A, which is then taken for lost: the run goes back to the queue.
    await sm.sendOrThrow(id, 'initialize', { fields: { worker: 'A' } });
    expect((await runs.get(id))?.attempt).toBe(1);
    await sm.sendOrThrow(id, 'run', { attempt: 1 });
    await sm.sendOrThrow(id, 'preempt', { attempt: 1, fields: { worker: '' } });

    // Attempt 2 on worker B.
    await sm.sendOrThrow(id, 'initialize', { fields: { worker: 'B' } });
    await sm.sendOrThrow(id, 'run', { attempt: 2 });

    // A comes back and reports its (killed) engine's failure: refused, the run is untouched.
    const stale = await sm.send(id, 'executor_error', { attempt: 1, fields: { exit_code: '137' } });
    expect(stale).toEqual({ applied: false, state: 'RUNNING', stale: true });
    const before = await runs.get(id);
    expect(before?.state).toBe('RUNNING');
    expect(before?.exitCode).toBeUndefined();

    // B's own end is applied.
    const done = await sm.send(id, 'complete', { attempt: 2, fields: { exit_code: '0' } });
    expect(done).toEqual({ applied: true, from: 'RUNNING', to: 'COMPLETE' });
  });

  it('refuses a reaper settling an attempt that is no longer the run’s', async () => {
    const { redis } = r;
    const keys = new RunKeys(`fence-${randomBytes(4).toString('hex')}`);
    const sm = new WorkflowStateMachine(redis, keys);
    const id = `run-${randomBytes(4).toString('hex')}`;
    await sm.enqueue(id, { request: '{}' });
    await sm.sendOrThrow(id, 'initialize', { fields: { worker: 'A' } });
    // The reaper read attempt 1; meanwhile the run was handed back and taken again (attempt 2).
    await sm.sendOrThrow(id, 'preempt', { attempt: 1 });
    await sm.sendOrThrow(id, 'initialize', { fields: { worker: 'B' } });
    const late = await sm.send(id, 'system_error', { attempt: 1, systemLogs: ['worker A lost'] });
    expect(late).toMatchObject({ applied: false, stale: true, state: 'INITIALIZING' });
    // Without an attempt (the API's cancel), messages apply as before.
    expect(await sm.send(id, 'cancel')).toEqual({ applied: true, from: 'INITIALIZING', to: 'CANCELING' });
  });
});
