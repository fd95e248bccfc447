import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RunKeys } from '../../libs/runs/src/run-keys';
import { WorkflowStateMachine } from '../../libs/runs/src/workflow-state-machine';

/** A run recorded under a fresh key prefix and brought to RUNNING on attempt 1, by the real transition scripts. */
export async function runningRun(redis: Redis, prefix: string) {
  const keys = new RunKeys(`${prefix}-${randomBytes(4).toString('hex')}`);
  const sm = new WorkflowStateMachine(redis, keys);
  const runId = `run-${randomBytes(4).toString('hex')}`;
  await sm.enqueue(runId, { request: '{}' });
  await sm.sendOrThrow(runId, 'initialize');
  await sm.sendOrThrow(runId, 'run', { attempt: 1 });
  return { keys, sm, runId };
}
