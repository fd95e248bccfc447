import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { RunKeys } from './run-keys';
import { RunStore } from './run-store';
import { HELD_STATES, RunMessage, RunState } from './states';
import { ActiveRunLimitError, WorkflowStateMachine } from './workflow-state-machine';

/**
 * The per-user set of active runs, kept by the enqueue and transition scripts, against a real
 * private redis-server: a run is in its owner's set from enqueue until a terminal state, the
 * limit is checked in the same step as the record, and ids of finished or vanished runs do
 * not hold a slot.
 */
const r = usePrivateRedis();
let keys: RunKeys;
let machine: WorkflowStateMachine;
let store: RunStore;
let seq = 0;
const newRunId = () => `run-${String(++seq).padStart(5, '0')}-${randomBytes(3).toString('hex')}`;

beforeEach(() => {
  keys = new RunKeys(`act-${randomBytes(4).toString('hex')}`);
  machine = new WorkflowStateMachine(r.redis, keys);
  store = new RunStore(r.redis, keys);
});

const members = (owner?: string) => r.redis.smembers(keys.activeRuns(owner));

async function enqueue(owner: string | undefined, maxActiveRuns = 0): Promise<string> {
  const id = newRunId();
  expect(await machine.enqueue(id, { request: '{}', ...(owner ? { owner } : {}) }, Date.now(), [], { maxActiveRuns })).toBe(true);
  return id;
}

/** Every path of messages from QUEUED to a terminal state, the reaper's and recovery's included. */
const TO_TERMINAL: Record<string, RunMessage[]> = {
  complete: ['initialize', 'run', 'complete'],
  'executor_error while initializing': ['initialize', 'executor_error'],
  'executor_error while running': ['initialize', 'run', 'executor_error'],
  'system_error while queued': ['system_error'],
  'system_error while initializing': ['initialize', 'system_error'],
  'system_error while running (reaper, policy fail)': ['initialize', 'run', 'system_error'],
  'system_error while canceling (reaper)': ['initialize', 'cancel', 'system_error'],
  'cancel while queued': ['cancel'],
  'cancel while running, then canceled (worker or reaper)': ['initialize', 'run', 'cancel', 'canceled'],
  'preempted (reaper, policy requeue), then run again and complete': ['initialize', 'run', 'preempt', 'initialize', 'run', 'complete'],
};

describe('per-user active runs', () => {
  for (const [name, path] of Object.entries(TO_TERMINAL)) {
    it(`a run stays in its owner's set until its terminal state: ${name}`, async () => {
      const id = await enqueue('alice');
      expect(await members('alice')).toEqual([id]);
      for (const [i, message] of path.entries()) {
        expect(await members('alice'), `before ${message}`).toEqual([id]);
        await machine.sendOrThrow(id, message);
        if (i < path.length - 1) expect(await machine.activeRuns('alice')).toBe(1);
      }
      expect(await members('alice')).toEqual([]);
      expect(await machine.activeRuns('alice')).toBe(0);
    });
  }

  it('keeps one set per owner, and one for the runs without an owner (authMode none)', async () => {
    const a = await enqueue('alice');
    const b = await enqueue('bob');
    const anon = await enqueue(undefined);
    expect(await members('alice')).toEqual([a]);
    expect(await members('bob')).toEqual([b]);
    expect(await members(undefined)).toEqual([anon]);
    await machine.sendOrThrow(anon, 'cancel');
    expect(await members(undefined)).toEqual([]);
    expect(await members('alice')).toEqual([a]);
  });

  it('refuses the run beyond the limit and writes nothing of it; another user is not affected', async () => {
    await enqueue('alice', 2);
    await enqueue('alice', 2);
    const before = await store.counts();
    const refused = newRunId();
    const err = await machine.enqueue(refused, { request: '{}', owner: 'alice' }, Date.now(), ['a log line'], { maxActiveRuns: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(ActiveRunLimitError);
    expect(err).toMatchObject({ owner: 'alice', active: 2, limit: 2 });
    expect(await r.redis.exists(keys.run(refused), keys.doc(refused), keys.systemLogs(refused))).toBe(0);
    expect(await r.redis.zscore(keys.stateIndex('QUEUED'), refused)).toBeNull();
    expect(await r.redis.zscore(keys.ownerIndex('alice'), refused)).toBeNull();
    expect(await r.redis.zscore(keys.inState('QUEUED'), refused)).toBeNull();
    expect(await store.counts()).toEqual(before);
    expect(await members('alice')).toHaveLength(2);
    await enqueue('bob', 2);
  });

  it('gives the slot back when a run ends: the next submit passes', async () => {
    const first = await enqueue('alice', 1);
    await expect(enqueue('alice', 1)).rejects.toBeInstanceOf(ActiveRunLimitError);
    await machine.sendOrThrow(first, 'cancel');
    await enqueue('alice', 1);
  });

  it('lets exactly the limit through when many submits race for the last slots', async () => {
    const limit = 3;
    await enqueue('alice', limit);
    // Separate connections, so the scripts really arrive interleaved.
    const clients = Array.from({ length: 8 }, () => new Redis(r.server.url));
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          new WorkflowStateMachine(clients[i % clients.length], keys).enqueue(newRunId(), { request: '{}', owner: 'alice' }, Date.now(), [], { maxActiveRuns: limit }),
        ),
      );
      expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(limit - 1);
      const refused = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
      expect(refused.every((x) => x.reason instanceof ActiveRunLimitError)).toBe(true);
      expect(refused).toHaveLength(40 - (limit - 1));
      expect(await members('alice')).toHaveLength(limit);
      expect((await store.counts()).QUEUED).toBe(limit);
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });

  it('drops ids of runs that vanished or ended around the scripts once the limit is reached', async () => {
    const kept = await enqueue('alice');
    const deleted = await enqueue('alice');
    const rewritten = await enqueue('alice');
    // A run record deleted or expired, and one set terminal by something other than the scripts.
    await r.redis.del(keys.run(deleted));
    await r.redis.hset(keys.run(rewritten), 'state', 'COMPLETE');
    expect(await machine.activeRuns('alice')).toBe(3); // without a limit: the plain count
    expect(await machine.activeRuns('alice', 5)).toBe(3); // below the limit: nothing to heal
    expect(await machine.activeRuns('alice', 3)).toBe(1);
    expect(await members('alice')).toEqual([kept]);
  });

  it('heals a large set a bounded batch at a time (a user far over a lowered limit)', async () => {
    const stale = Array.from({ length: 2500 }, (_, i) => `gone-${i}`);
    await r.redis.sadd(keys.activeRuns('alice'), ...stale);
    expect(await machine.activeRuns('alice', 1)).toBe(1500);
    expect(await machine.activeRuns('alice', 1)).toBe(500);
    expect(await machine.activeRuns('alice', 1)).toBe(0);
  });

  it('heals in the atomic check as well: a stale id does not refuse a submit', async () => {
    const stale = await enqueue('alice');
    await r.redis.del(keys.run(stale));
    const id = await enqueue('alice', 1);
    expect(await members('alice')).toEqual([id]);
  });
});

/**
 * The per-worker sets of held runs (RunKeys.heldRuns), kept by the transition and delete
 * scripts: a run is in its worker's set exactly while it is held (HELD_STATES), and
 * RunKeys.holders lists the workers whose set is not empty.
 */
describe('per-worker held runs', () => {
  const held = (worker: string) => r.redis.smembers(keys.heldRuns(worker));
  const holders = async () => (await r.redis.smembers(keys.holders)).sort();
  /** A message as the product sends it: a claim names its worker, a preempt clears it. */
  const send = (id: string, message: RunMessage, worker: string) =>
    machine.sendOrThrow(id, message, message === 'initialize' ? { fields: { worker } } : message === 'preempt' ? { fields: { worker: '' } } : {});

  for (const [name, path] of Object.entries(TO_TERMINAL)) {
    it(`a run is in its worker's set exactly while held: ${name}`, async () => {
      const id = await enqueue('alice');
      // Each claim by another worker, as a run taken over after its worker was lost.
      let claims = 0;
      let worker = '';
      for (const message of path) {
        if (message === 'initialize') worker = `w${++claims}`;
        const state: RunState = await send(id, message, worker);
        const isHeld = (HELD_STATES as readonly string[]).includes(state);
        for (let w = 1; w <= claims; w++) {
          expect(await held(`w${w}`), `w${w} after ${message} (${state})`).toEqual(isHeld && `w${w}` === worker ? [id] : []);
        }
        expect(await holders(), `holders after ${message}`).toEqual(isHeld ? [worker] : []);
      }
    });
  }

  it('a holder stays listed while it holds any run, and leaves with its last', async () => {
    const [a, b] = [await enqueue('alice'), await enqueue('alice')];
    await send(a, 'initialize', 'w1');
    await send(b, 'initialize', 'w1');
    await send(a, 'executor_error', 'w1');
    expect(await held('w1')).toEqual([b]);
    expect(await holders()).toEqual(['w1']);
    await send(b, 'cancel', 'w1');
    expect(await held('w1')).toEqual([b]);
    await send(b, 'canceled', 'w1');
    expect(await r.redis.exists(keys.heldRuns('w1'))).toBe(0);
    expect(await holders()).toEqual([]);
  });

  it('DELETE takes out an entry a write around the scripts left, and the holder with it', async () => {
    const id = await enqueue('alice');
    await send(id, 'initialize', 'w1');
    await send(id, 'executor_error', 'w1');
    // E.g. an earlier version's recovery re-added it, or an operator's tool.
    await r.redis.multi().sadd(keys.heldRuns('w1'), id).sadd(keys.holders, 'w1').exec();
    expect((await machine.remove(id)).removed).toBe(true);
    expect(await held('w1')).toEqual([]);
    expect(await holders()).toEqual([]);
  });

  it('syncHeld drops entries whose run moved on or vanished, and adds a held run missing from its set', async () => {
    const [gone, moved, missing, kept] = [await enqueue('alice'), await enqueue('alice'), await enqueue('alice'), await enqueue('alice')];
    for (const id of [gone, moved, missing, kept]) await send(id, 'initialize', 'w1');
    // Around the scripts: a record expired, a holder rewritten, an entry lost (a run held before the sets).
    await r.redis.del(keys.run(gone));
    await r.redis.hset(keys.run(moved), 'worker', 'w2');
    await r.redis.srem(keys.heldRuns('w1'), missing);
    expect(await store.syncHeld('w1', [gone, moved, kept])).toBe(2);
    expect(await store.syncHeld(undefined, [missing])).toBe(0);
    expect((await store.heldBy('w1')).sort()).toEqual([kept, missing].sort());
    expect(await held('w2')).toEqual([moved]);
    expect(await holders()).toEqual(['w1', 'w2']);
  });
});
