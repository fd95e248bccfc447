import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { encodeTagPart, RunKeys } from './run-keys';
import { LIST_FILTER_BUDGET, RunFilter, RunStore } from './run-store';
import { RunMessage, RunState } from './states';
import { TerminalStateCache } from './terminal-state-cache';
import { WorkflowStateMachine } from './workflow-state-machine';
import { RunIndexBackfill } from './run-index-backfill';

/**
 * The per-state and per-tag indexes, the filtered run list and the delete script, against a
 * real private redis-server.
 */
const r = usePrivateRedis();
let keys: RunKeys;
let machine: WorkflowStateMachine;
let store: RunStore;
let cache: TerminalStateCache;

beforeEach(() => {
  keys = new RunKeys(`life-${randomBytes(4).toString('hex')}`);
  cache = new TerminalStateCache();
  machine = new WorkflowStateMachine(r.redis, keys, cache);
  store = new RunStore(r.redis, keys);
});

const PATHS: Partial<Record<RunState, RunMessage[]>> = {
  QUEUED: [],
  RUNNING: ['initialize', 'run'],
  COMPLETE: ['initialize', 'run', 'complete'],
  EXECUTOR_ERROR: ['initialize', 'run', 'executor_error'],
  CANCELED: ['cancel'],
};

/** A run (UUIDv7 id, so ids sort by age) brought to `state` by messages. */
async function runIn(state: RunState, tags: Record<string, string> = {}, owner?: string): Promise<string> {
  const id = uuidv7();
  const fields: Record<string, string> = { request: '{}', ...(Object.keys(tags).length ? { tags: JSON.stringify(tags) } : {}), ...(owner ? { owner } : {}) };
  expect(await machine.enqueue(id, fields)).toBe(true);
  for (const m of PATHS[state]!) await machine.sendOrThrow(id, m);
  return id;
}

/** Every page of a filtered list, following the tokens; also the number of pages. */
async function all(filter: RunFilter, pageSize = 2): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await store.listFiltered(pageSize, after, filter);
    pages++;
    expect(page.rows.length).toBeLessThanOrEqual(pageSize);
    ids.push(...page.rows.map((row) => row.runId));
    if (!page.more) return { ids, pages };
    after = page.last;
  }
}

const newestFirst = (ids: string[]) => [...ids].sort().reverse();

describe('the per-state index', () => {
  it('holds each run under its current state only, terminal states too', async () => {
    const done = await runIn('COMPLETE');
    const queued = await runIn('QUEUED');
    const running = await runIn('RUNNING');
    expect(await r.redis.zrange(keys.stateIndex('COMPLETE'), 0, -1)).toEqual([done]);
    expect(await r.redis.zrange(keys.stateIndex('QUEUED'), 0, -1)).toEqual([queued]);
    expect(await r.redis.zrange(keys.stateIndex('RUNNING'), 0, -1)).toEqual([running]);
    expect(await r.redis.exists(keys.stateIndex('INITIALIZING'))).toBe(0);
  });
});

describe('a filtered run list', () => {
  it('by states: the union of their runs, newest first, over pages', async () => {
    const complete = [await runIn('COMPLETE'), await runIn('COMPLETE'), await runIn('COMPLETE')];
    const failed = [await runIn('EXECUTOR_ERROR'), await runIn('EXECUTOR_ERROR')];
    const queued = [await runIn('QUEUED')];
    expect((await all({ states: ['COMPLETE'] })).ids).toEqual(newestFirst(complete));
    const both = await all({ states: ['COMPLETE', 'EXECUTOR_ERROR'] });
    expect(both.ids).toEqual(newestFirst([...complete, ...failed]));
    expect(both.pages).toBe(3);
    expect((await all({ states: ['QUEUED', 'COMPLETE', 'EXECUTOR_ERROR'] }, 10)).ids).toEqual(newestFirst([...complete, ...failed, ...queued]));
    expect((await all({ states: ['PAUSED'] })).ids).toEqual([]);
  });

  it('by tags: runs carrying all of them (AND), combined with states and an owner', async () => {
    const a = await runIn('COMPLETE', { project: 'x', sample: '1' }, 'alice');
    const b = await runIn('COMPLETE', { project: 'x', sample: '2' }, 'alice');
    const c = await runIn('QUEUED', { project: 'x', sample: '1' }, 'bob');
    await runIn('COMPLETE', { project: 'y', sample: '1' }, 'alice');
    await runIn('COMPLETE', {}, 'alice');
    expect((await all({ tags: [['project', 'x']] })).ids).toEqual(newestFirst([a, b, c]));
    expect((await all({ tags: [['project', 'x'], ['sample', '1']] })).ids).toEqual(newestFirst([a, c]));
    expect((await all({ tags: [['project', 'x'], ['sample', '1']], states: ['COMPLETE'] })).ids).toEqual([a]);
    expect((await all({ tags: [['project', 'x']], owner: 'alice' })).ids).toEqual(newestFirst([a, b]));
    expect((await all({ tags: [['project', 'x']], owner: 'bob' })).ids).toEqual([c]);
    expect((await all({ owner: 'bob', states: ['COMPLETE'] })).ids).toEqual([]);
    expect((await all({ tags: [['project', 'none']] })).ids).toEqual([]);
  });

  it('tag keys and values of any text stay inside their own key name', async () => {
    const odd = { 'a:b': '{x} *', 'c d': 'e:f' };
    const id = await runIn('COMPLETE', odd);
    await runIn('COMPLETE', { a: 'b:{x} *' });
    const name = keys.tagIndex('a:b', '{x} *');
    expect(name).toBe(`${keys.prefix}:tag:a%3Ab:%7Bx%7D%20%2A:runs`);
    expect(encodeTagPart('*')).toBe('%2A');
    expect((await all({ tags: [['a:b', '{x} *'], ['c d', 'e:f']] })).ids).toEqual([id]);
    expect((await all({ tags: [['a', 'b:{x} *'], ['c d', 'e:f']] })).ids).toEqual([]);
  });

  it('merges several state indexes over many rounds of candidates without skipping or repeating a run', async () => {
    // Two states interleaved (their union is walked, chunk by chunk), a tag on a few of them,
    // checked run by run; the tag's own index is made bigger so that it is not the one walked.
    const expected: string[] = [];
    for (let i = 0; i < 30; i++) {
      const tagged = i % 5 === 0;
      const id = await runIn(i % 3 === 0 ? 'EXECUTOR_ERROR' : 'COMPLETE', tagged ? { k: 'v' } : {});
      if (tagged) expected.push(id);
    }
    for (let i = 0; i < 40; i++) await runIn('QUEUED', { k: 'v' });
    for (const pageSize of [1, 2, 5, 100]) {
      const got = await all({ states: ['COMPLETE', 'EXECUTOR_ERROR'], tags: [['k', 'v']] }, pageSize);
      expect(got.ids).toEqual(newestFirst(expected));
    }
  });

  it('looks at a bounded number of runs per page: a rare match far down comes after short pages with tokens', async () => {
    // Many COMPLETE runs of one owner, one with a tag of another owner far below them.
    const rare = await runIn('COMPLETE', {}, 'carol');
    const pipe = r.redis.pipeline();
    for (let i = 0; i < LIST_FILTER_BUDGET + 50; i++) {
      const id = uuidv7();
      pipe.hset(keys.run(id), 'state', 'COMPLETE').zadd(keys.stateIndex('COMPLETE'), 0, id).zadd(keys.ownerIndex('dave'), 0, id);
    }
    await pipe.exec();
    // Walks carol's index (the smallest): one page.
    expect(await all({ owner: 'carol', states: ['COMPLETE'] }, 5)).toEqual({ ids: [rare], pages: 1 });
    // A state filter alone walks the state index: a short page, then the rest.
    const first = await store.listFiltered(5, undefined, { states: ['COMPLETE'] });
    expect(first.rows.length).toBe(5);
    const everyone = await all({ states: ['COMPLETE'] }, 1000);
    expect(everyone.ids.length).toBe(LIST_FILTER_BUDGET + 51);
    expect(everyone.ids[everyone.ids.length - 1]).toBe(rare);
  });
});

describe('removing a run', () => {
  it('takes a finished run out of every index, its counter and its record, and remembers it for the file sweep', async () => {
    const id = await runIn('COMPLETE', { project: 'z' }, 'alice');
    await r.redis.rpush(keys.systemLogs(id), 'a line');
    await r.redis.rpush(keys.tasks(id), '{}');
    expect(await machine.getState(id)).toBe('COMPLETE');
    expect(await machine.remove(id, 1234)).toEqual({ removed: true, state: 'COMPLETE' });
    const left = await r.redis.keys(`${keys.prefix}:*${id}*`);
    expect(left).toEqual([]);
    for (const index of [keys.index, keys.ownerIndex('alice'), keys.stateIndex('COMPLETE'), keys.tagIndex('project', 'z')]) {
      expect(await r.redis.zscore(index, id), index).toBeNull();
    }
    expect(await r.redis.sismember(keys.activeRuns('alice'), id)).toBe(0);
    expect((await store.counts()).COMPLETE).toBe(0);
    expect(await r.redis.zscore(keys.deleting, id)).toBe('1234');
    // The process's own cache forgets it: its state is gone.
    expect(await machine.getState(id)).toBeNull();
    expect(await store.get(id)).toBeNull();
  });

  it('refuses a run not finished, and a run not there', async () => {
    const id = await runIn('RUNNING');
    expect(await machine.remove(id)).toEqual({ removed: false, state: 'RUNNING' });
    expect(await store.get(id)).not.toBeNull();
    expect(await machine.remove(uuidv7())).toEqual({ removed: false, state: null });
  });

  it('two concurrent deletes: exactly one removes the run', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, () => runIn('COMPLETE')));
    for (const id of ids) {
      const results = await Promise.all([machine.remove(id), machine.remove(id), machine.remove(id)]);
      expect(results.filter((x) => x.removed).length).toBe(1);
    }
    expect((await store.counts()).COMPLETE).toBe(0);
    expect(await store.allRunIds()).toEqual([]);
  });

  it('a delete racing the last transition: either the run ends and stays, or ends and is removed; never half', async () => {
    for (let i = 0; i < 20; i++) {
      const id = await runIn('RUNNING');
      const [removed, sent] = await Promise.all([machine.remove(id), machine.send(id, 'complete')]);
      expect(sent.applied).toBe(true);
      const record = await store.get(id);
      if (removed.removed) expect(record).toBeNull();
      else expect(record?.state).toBe('COMPLETE');
      const counts = await store.counts();
      expect(counts.COMPLETE + counts.RUNNING).toBe(record ? 1 : 0);
      if (record) await machine.remove(id);
    }
  });
});

describe('the index backfill (runs recorded before the state and tag indexes)', () => {
  it('puts each existing run into its state and tag indexes, a batch a step, then says it is done', async () => {
    // Runs as the enqueue script of before wrote them: record, run index, no state or tag index.
    const old: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = uuidv7();
      await r.redis
        .multi()
        .hset(keys.run(id), 'state', i === 0 ? 'RUNNING' : 'COMPLETE')
        .hset(keys.doc(id), 'tags', JSON.stringify({ batch: 'old', n: String(i) }))
        .zadd(keys.index, 0, id)
        .exec();
      old.push(id);
    }
    const fresh = await runIn('COMPLETE', { batch: 'new' });
    expect((await all({ tags: [['batch', 'old']] })).ids).toEqual([]);
    // The run list has them already (it reads the run index of before beside the state indexes).
    expect((await all({})).ids).toEqual(newestFirst([...old, fresh]));
    const backfill = new RunIndexBackfill(r.redis, keys);
    // The old runs: a new run is in no run index of all runs (its state's index lists it).
    expect(await backfill.step()).toBe(3);
    expect(await backfill.step()).toBeNull();
    expect(await backfill.step()).toBeNull();
    expect((await all({ tags: [['batch', 'old']] })).ids).toEqual(newestFirst(old));
    expect((await all({ states: ['COMPLETE'] })).ids).toEqual(newestFirst([old[1], old[2], fresh]));
    expect((await all({ states: ['RUNNING'], tags: [['n', '0']] })).ids).toEqual([old[0]]);
    // From then on the scripts move it like any other run.
    await machine.sendOrThrow(old[0], 'complete');
    expect((await all({ states: ['RUNNING'] })).ids).toEqual([]);
    expect(await machine.remove(old[0])).toEqual({ removed: true, state: 'COMPLETE' });
    expect((await all({ tags: [['batch', 'old']] })).ids).toEqual(newestFirst([old[1], old[2]]));
    // Listed once each, though the old runs are in the run index and their state's.
    expect((await all({})).ids).toEqual(newestFirst([old[1], old[2], fresh]));
  });
});
