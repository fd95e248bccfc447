import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { runningRun } from '../../../test/helpers/running-run';
import { RunKeys } from './run-keys';
import { TaskRecord, TaskStore } from './task-store';
import { WorkflowStateMachine } from './workflow-state-machine';

const r = usePrivateRedis();

/** A store on a fresh key prefix, and a run brought to RUNNING on attempt 1. */
async function runningRunStore() {
  const { keys, sm, runId } = await runningRun(r.redis, 'tasks');
  return { sm, store: new TaskStore(r.redis, keys), id: runId };
}

const task = (name: string, attempt = 1, extra: Partial<TaskRecord> = {}): TaskRecord => ({
  name,
  cmd: [name, 'it’s "quoted"'],
  start: 1_700_000_000_000 + name.length,
  attempt,
  systemLogs: [],
  ...extra,
});

describe('TaskStore', () => {
  it('appends tasks with ids 1, 2, 3..., updates them, reads one and pages', async () => {
    const { store, id } = await runningRunStore();
    for (const [i, name] of ['a', 'b', 'c', 'd', 'e'].entries()) expect(await store.append(id, task(name))).toBe(i);
    const ended = task('b', 1, { end: 1_700_000_000_900, exitCode: 3, stderr: true, systemLogs: ['exited with status: 3'] });
    expect(await store.update(id, 1, ended)).toBe(true);
    expect(await store.get(id, '2')).toEqual({ ...ended, id: '2' });

    const first = await store.page(id, 2);
    expect(first.tasks.map((t) => [t.id, t.name])).toEqual([['1', 'a'], ['2', 'b']]);
    expect(first.more).toBe(true);
    const second = await store.page(id, 2, '2');
    expect(second.tasks.map((t) => t.id)).toEqual(['3', '4']);
    const last = await store.page(id, 2, '4');
    expect(last).toEqual({ tasks: [{ ...task('e'), id: '5' }], more: false });
    expect(await store.page(id, 2, '5')).toEqual({ tasks: [], more: false });
  });

  it('finds no task for an id it did not give', async () => {
    const { store, id } = await runningRunStore();
    await store.append(id, task('a'));
    for (const bad of ['0', '2', '-1', '01', '1.0', 'a', '', '1e3', '99999999999999999999']) expect(await store.get(id, bad), bad).toBeNull();
    expect(await store.get('no-such-run', '1')).toBeNull();
    expect(await store.update(id, 1, task('x'))).toBe(false);
  });

  it('gives all the tasks up to a maximum, none beyond it', async () => {
    const { store, id } = await runningRunStore();
    expect(await store.allUpTo(id, 3)).toEqual([]);
    for (const name of ['a', 'b', 'c']) await store.append(id, task(name));
    expect((await store.allUpTo(id, 3))?.map((t) => t.id)).toEqual(['1', '2', '3']);
    await store.append(id, task('d'));
    expect(await store.allUpTo(id, 3)).toBeNull();
  });
});

describe('TaskStore fencing', () => {
  it('refuses the writes of an attempt the run has moved on from, and a new attempt starts empty', async () => {
    const { sm, store, id } = await runningRunStore();
    expect(await store.reset(id, 1)).toBe(true);
    await store.append(id, task('old'));

    // The worker of attempt 1 is taken for lost: the run waits QUEUED, then attempt 2 runs.
    await sm.sendOrThrow(id, 'preempt', { attempt: 1 });
    expect(await store.append(id, task('late'))).toBeNull();
    await sm.sendOrThrow(id, 'initialize');
    await sm.sendOrThrow(id, 'run', { attempt: 2 });
    expect(await store.reset(id, 1)).toBe(false);
    expect(await store.reset(id, 2)).toBe(true);
    expect((await store.page(id, 10)).tasks).toEqual([]);

    // Attempt 1's worker comes back: none of its writes land.
    expect(await store.append(id, task('stale'))).toBeNull();
    expect(await store.update(id, 0, task('stale'))).toBe(false);
    expect(await store.append(id, task('new', 2))).toBe(0);
    expect(await store.update(id, 0, task('stale', 1))).toBe(false);
    expect((await store.page(id, 10)).tasks.map((t) => [t.name, t.attempt])).toEqual([['new', 2]]);
  });

  it('takes writes while the run is CANCELING, none once it ended', async () => {
    const { sm, store, id } = await runningRunStore();
    await store.append(id, task('a'));
    await sm.sendOrThrow(id, 'cancel');
    expect(await store.update(id, 0, task('a', 1, { end: 1 }))).toBe(true);
    await sm.sendOrThrow(id, 'canceled', { attempt: 1 });
    expect(await store.update(id, 0, task('a', 1, { end: 2 }))).toBe(false);
    expect(await store.append(id, task('b'))).toBeNull();
    expect(await store.reset(id, 1)).toBe(false);
    expect((await store.get(id, '1'))?.end).toBe(1);
  });

  it('refuses writes before the run runs, and for a run that does not exist', async () => {
    const keys = new RunKeys(`tasks-${randomBytes(4).toString('hex')}`);
    const sm = new WorkflowStateMachine(r.redis, keys);
    const store = new TaskStore(r.redis, keys);
    expect(await store.append('missing', task('a', 0))).toBeNull();
    await sm.enqueue('r1', { request: '{}' });
    await sm.sendOrThrow('r1', 'initialize');
    expect(await store.append('r1', task('a', 1))).toBeNull();
    expect(await r.redis.exists(keys.tasks('r1'), keys.tasks('missing'))).toBe(0);
  });
});
