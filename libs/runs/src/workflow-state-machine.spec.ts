import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { RunKeys } from './run-keys';
import { encodeCommand, encodeRunRequest } from './run-model';
import { formatWorkerId, INLINE_PIECES, packValue, PIECE_BYTES } from './run-fields';
import { RunStore } from './run-store';
import { RUN_STATES, RunMessage, RunState, TERMINAL_STATES, TRANSITIONS, isTerminal } from './states';
import { TerminalStateCache } from './terminal-state-cache';
import { IllegalTransitionError, WorkflowStateMachine } from './workflow-state-machine';

const MESSAGES = Object.keys(TRANSITIONS) as RunMessage[];

/**
 * Against a real, private redis-server: the Lua scripts are the state machine, so a mocked
 * Redis would test nothing.
 */
let redis: Redis;
let keys: RunKeys;
let machine: WorkflowStateMachine;
let store: RunStore;
let seq = 0;

const newRunId = () => `run-${String(++seq).padStart(5, '0')}-${randomBytes(3).toString('hex')}`;

const r = usePrivateRedis();

beforeEach(() => {
  redis = r.redis;
  keys = new RunKeys(`sm-${randomBytes(4).toString('hex')}`);
  machine = new WorkflowStateMachine(redis, keys);
  store = new RunStore(redis, keys);
});

/** Messages that lead from QUEUED to each state reachable by messages. */
const PATHS: Partial<Record<RunState, RunMessage[]>> = {
  QUEUED: [],
  INITIALIZING: ['initialize'],
  RUNNING: ['initialize', 'run'],
  COMPLETE: ['initialize', 'run', 'complete'],
  EXECUTOR_ERROR: ['initialize', 'run', 'executor_error'],
  SYSTEM_ERROR: ['system_error'],
  CANCELING: ['initialize', 'cancel'],
  CANCELED: ['cancel'],
};

/**
 * A new run in `state`: by legal messages when the table reaches it, otherwise (UNKNOWN, PAUSED,
 * PREEMPTED) written directly, counters kept, as another component might.
 */
async function runIn(state: RunState, m: WorkflowStateMachine = machine): Promise<string> {
  const id = newRunId();
  expect(await m.enqueue(id, { request: '{}' })).toBe(true);
  const path = PATHS[state];
  if (path) {
    for (const message of path) await m.sendOrThrow(id, message);
  } else {
    await redis.multi().hset(keys.run(id), 'state', state).hincrby(keys.counts, 'QUEUED', -1).hincrby(keys.counts, state, 1).exec();
  }
  expect(await redis.hget(keys.run(id), 'state')).toBe(state);
  return id;
}

/** The state of every run of this key prefix, counted by reading the run hashes. */
async function tally(): Promise<Record<string, number>> {
  const ids = await store.allRunIds();
  const out: Record<string, number> = {};
  for (const id of ids) {
    const s = (await redis.hget(keys.run(id), 'state')) as string;
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

async function expectCountersMatch(): Promise<void> {
  const counts = await store.counts();
  const actual = await tally();
  for (const s of RUN_STATES) expect(counts[s], `counter of ${s}`).toBe(actual[s] ?? 0);
}

describe('WorkflowStateMachine', () => {
  describe('the whole TRANSITIONS table', () => {
    for (const message of MESSAGES) {
      for (const from of RUN_STATES) {
        const to = TRANSITIONS[message][from];
        it(`${message} from ${from} ${to ? `→ ${to}` : 'is refused'}`, async () => {
          const id = await runIn(from);
          const before = await redis.hgetall(keys.run(id));
          const logsBefore = await redis.lrange(keys.systemLogs(id), 0, -1);
          const result = await machine.send(id, message, { fields: { marker: 'x' }, systemLogs: [`${message} sent`] });
          const after = await redis.hgetall(keys.run(id));
          if (to) {
            expect(result).toEqual({ applied: true, from, to });
            expect(after.state).toBe(to);
            // The time of entering it: RUNNING's is 'start', a terminal state's 'end', and no
            // 't:' field repeats it (run footprint); any other state's is 't:<STATE>'.
            const timeField = to === 'RUNNING' ? 'start' : isTerminal(to) ? 'end' : `t:${to}`;
            expect(Number(after[timeField])).toBeGreaterThan(0);
            if (timeField !== `t:${to}`) expect(after[`t:${to}`]).toBe(before[`t:${to}`]);
            expect(after.marker).toBe('x');
            expect(await redis.lrange(keys.systemLogs(id), 0, -1)).toEqual([...logsBefore, `${message} sent`]);
          } else {
            expect(result).toEqual({ applied: false, state: from });
            // A refused message writes nothing: no state, no fields, no log line.
            expect(after).toEqual(before);
            expect(await redis.lrange(keys.systemLogs(id), 0, -1)).toEqual(logsBefore);
            await expect(machine.sendOrThrow(id, message)).rejects.toBeInstanceOf(IllegalTransitionError);
          }
          await expectCountersMatch();
        });
      }
    }
  });

  it('refuses every message in every terminal state, which never changes', async () => {
    for (const terminal of TERMINAL_STATES) {
      const id = await runIn(terminal);
      const before = await redis.hgetall(keys.run(id));
      for (const message of MESSAGES) {
        expect(await machine.send(id, message)).toEqual({ applied: false, state: terminal });
      }
      expect(await redis.hgetall(keys.run(id))).toEqual(before);
      expect(await machine.enqueue(id, { request: '{}' })).toBe(false);
      expect(await redis.hget(keys.run(id), 'state')).toBe(terminal);
    }
    await expectCountersMatch();
  });

  it('has exactly the transition table of the design brief', () => {
    expect(TRANSITIONS).toEqual({
      initialize: { QUEUED: 'INITIALIZING' },
      run: { INITIALIZING: 'RUNNING' },
      complete: { RUNNING: 'COMPLETE' },
      executor_error: { INITIALIZING: 'EXECUTOR_ERROR', RUNNING: 'EXECUTOR_ERROR' },
      system_error: { QUEUED: 'SYSTEM_ERROR', INITIALIZING: 'SYSTEM_ERROR', RUNNING: 'SYSTEM_ERROR', CANCELING: 'SYSTEM_ERROR' },
      cancel: { QUEUED: 'CANCELED', INITIALIZING: 'CANCELING', RUNNING: 'CANCELING' },
      canceled: { CANCELING: 'CANCELED' },
      preempt: { INITIALIZING: 'QUEUED', RUNNING: 'QUEUED' },
    });
    expect([...TERMINAL_STATES].sort()).toEqual(['CANCELED', 'COMPLETE', 'EXECUTOR_ERROR', 'PREEMPTED', 'SYSTEM_ERROR']);
  });

  it('puts no terminal state in any from-column of the table', () => {
    for (const message of MESSAGES) {
      for (const from of Object.keys(TRANSITIONS[message])) expect(isTerminal(from)).toBe(false);
    }
  });

  it('enqueue creates a run once, indexed and counted', async () => {
    const id = newRunId();
    expect(await machine.enqueue(id, { request: '{"a":1}', tags: '{}' }, 1_700_000_000_000)).toBe(true);
    expect(await machine.enqueue(id, { request: '{"b":2}' })).toBe(false);
    const h = await redis.hgetall(keys.run(id));
    // Long fields in pieces of the run hash (run-fields.ts); 'created' is the time of QUEUED.
    expect(h).toEqual({ state: 'QUEUED', created: '1700000000000', request: '{"a":1}', tags: '{}' });
    expect(await redis.exists(keys.doc(id))).toBe(0);
    expect(await store.times(id)).toEqual({ queued: 1_700_000_000_000 });
    // Listed by its state's index (RunKeys.listIndexes); the run index of before is not written.
    expect(await redis.zrange(keys.stateIndex('QUEUED'), 0, -1)).toEqual([id]);
    expect(await redis.exists(keys.index)).toBe(0);
    expect((await store.counts()).QUEUED).toBe(1);
  });

  it('keeps long fields in pieces of the run hash, or whole in the doc hash, so the run hash stays a compact listpack', async () => {
    const id = newRunId();
    const long = 'x'.repeat(500);
    const request = JSON.stringify({ workflow_params: { message: long }, workflow_url: 'main.cwl' });
    expect(await machine.enqueue(id, { request, tags: '{"a":"b"}', engine: 'cwltool', workflow: 'main.cwl', attachments: '["main.cwl"]', job: id })).toBe(true);
    await machine.sendOrThrow(id, 'initialize', { fields: { worker: 'w-1', host: 'h', wpid: '42' } });
    await machine.sendOrThrow(id, 'run', { fields: { cmd: encodeCommand(['cwltool', long], '/w') } });
    await store.setFields(id, { pgid: '4242', cmd: encodeCommand(['cwltool', long, '/w/again', '/w', '/wx', 'x/w/'], '/w') });
    // 512 bytes as recorded (packValue: its mark and the value): exactly INLINE_PIECES pieces, the longest value kept in the run hash.
    const outputs = JSON.stringify({ ou: 'é'.repeat(251) });
    expect(Buffer.byteLength(packValue(outputs))).toBe(PIECE_BYTES * INLINE_PIECES);
    await machine.sendOrThrow(id, 'complete', { fields: { exit_code: '0', outputs } });
    expect(await redis.object('ENCODING', keys.run(id))).toBe('listpack');
    const h = await redis.hgetall(keys.run(id));
    for (const v of Object.values(h)) expect(Buffer.byteLength(v)).toBeLessThanOrEqual(PIECE_BYTES);
    expect(Object.keys(h).filter((f) => f.startsWith('outputs')).length).toBe(INLINE_PIECES);
    // Longer than INLINE_PIECES pieces: whole in the doc hash, nothing of it in the run hash.
    expect(Object.keys(await redis.hgetall(keys.doc(id))).sort()).toEqual(['cmd', 'request']);
    expect(Object.keys(h).filter((f) => f.startsWith('cmd') || f.startsWith('request'))).toEqual([]);
    const run = await store.get(id);
    expect(run).toMatchObject({
      state: 'COMPLETE',
      request: { workflow_params: { message: long }, workflow_url: 'main.cwl', tags: { a: 'b' } },
      engine: 'cwltool',
      workflow: 'main.cwl',
      attachments: ['main.cwl'],
      cmd: ['cwltool', long, '<run>/again', '<run>', '/wx', 'x/w/'],
      exitCode: 0,
      outputs: JSON.parse(outputs),
      attempt: 1,
      worker: 'w-1',
      pgid: 4242,
    });
    const page = await store.listPage(10);
    expect(page.rows.find((r) => r.runId === id)?.tags).toEqual({ a: 'b' });
  });

  it('leaves nothing of a long field written before: its other pieces, its doc hash copy', async () => {
    const id = newRunId();
    expect(await machine.enqueue(id, { request: '{}', tags: JSON.stringify({ k: 'v'.repeat(100) }) })).toBe(true);
    await machine.sendOrThrow(id, 'initialize');
    const cmdOf = (n: number) => encodeCommand(['cwltool', 'a'.repeat(n)], '/w');
    const piecesOf = async (name: string) => Object.keys(await redis.hgetall(keys.run(id))).filter((f) => f === name || f.startsWith(`${name}:`)).length;
    await machine.sendOrThrow(id, 'run', { fields: { cmd: cmdOf(300) } });
    expect(await piecesOf('cmd')).toBe(5);
    // Shorter: fewer pieces; longer than the pieces allow: to the doc hash; then back to pieces.
    await store.setFields(id, { cmd: cmdOf(10) });
    expect(await piecesOf('cmd')).toBe(1);
    expect((await store.get(id))?.cmd).toEqual(['cwltool', 'a'.repeat(10)]);
    await store.setFields(id, { cmd: cmdOf(1000) });
    expect(await piecesOf('cmd')).toBe(0);
    expect((await store.get(id))?.cmd).toEqual(['cwltool', 'a'.repeat(1000)]);
    await machine.sendOrThrow(id, 'complete', { fields: { cmd: cmdOf(100), exit_code: '0' } });
    expect(await piecesOf('cmd')).toBe(2);
    expect(await redis.hexists(keys.doc(id), 'cmd')).toBe(0);
    expect((await store.get(id))?.cmd).toEqual(['cwltool', 'a'.repeat(100)]);
    // An empty value deletes the field, in a transition's fields as in setFields.
    await store.setFields(id, { pgid: '7' });
    await store.setFields(id, { pgid: '' });
    expect(await redis.hexists(keys.run(id), 'pgid')).toBe(0);
    // The tags, in two pieces, are read whole by the run list and by the delete (their index).
    expect((await store.listPage(10)).rows.find((r) => r.runId === id)?.tags).toEqual({ k: 'v'.repeat(100) });
    expect(await redis.zcard(keys.tagIndex('k', 'v'.repeat(100)))).toBe(1);
    expect(await machine.remove(id)).toEqual({ removed: true, state: 'COMPLETE' });
    expect(await redis.zcard(keys.tagIndex('k', 'v'.repeat(100)))).toBe(0);
  });

  it('reads a run recorded before the pieces: long fields in the doc hash, request as an object, command as JSON', async () => {
    const id = newRunId();
    const request = { workflow_params: { message: 'hi' }, workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_engine_parameters: {}, workflow_url: 'main.cwl' };
    const oldCmd = JSON.stringify({ dir: '/w/x', args: ['cwltool', '\0/outputs', '\0/attachments/main.cwl'] });
    await redis
      .multi()
      .hset(keys.run(id), { state: 'COMPLETE', created: '1', 't:QUEUED': '1', engine: 'cwltool', job: id, attempt: '1', start: '2', end: '3', 't:RUNNING': '2', 't:COMPLETE': '3', exit_code: '0', worker: 'w-old', host: 'h-old', wpid: '7' })
      .hset(keys.doc(id), { request: JSON.stringify(request), tags: '{"old":"yes"}', workflow: 'main.cwl', attachments: '["main.cwl"]', cmd: oldCmd, outputs: '{"o":1}' })
      .zadd(keys.index, 0, id)
      .zadd(keys.tagIndex('old', 'yes'), 0, id)
      .zadd(keys.stateIndex('COMPLETE'), 0, id)
      .hincrby(keys.counts, 'COMPLETE', 1)
      .exec();
    expect(await store.get(id)).toMatchObject({
      state: 'COMPLETE',
      request: { ...request, tags: { old: 'yes' } },
      workflow: 'main.cwl',
      attachments: ['main.cwl'],
      cmd: ['cwltool', '<run>/outputs', '<run>/attachments/main.cwl'],
      outputs: { o: 1 },
      start: 2,
      end: 3,
      worker: 'w-old',
      host: 'h-old',
      workerPid: 7,
    });
    // Listed once, though in the run index of before and in its state's index.
    expect((await store.listPage(10)).rows.filter((r) => r.runId === id)).toHaveLength(1);
    expect(await store.times(id)).toMatchObject({ queued: 1, running: 2, end: 3 });
    expect((await store.listPage(10)).rows.find((r) => r.runId === id)?.tags).toEqual({ old: 'yes' });
    expect(await machine.remove(id)).toEqual({ removed: true, state: 'COMPLETE' });
    expect(await redis.exists(keys.run(id), keys.doc(id), keys.tagIndex('old', 'yes'))).toBe(0);
  });

  it('lists a run recorded before the per-state indexes held every run: in the run index only, or in both (once)', async () => {
    const onlyOld = newRunId();
    const both = newRunId();
    const fresh = newRunId();
    for (const id of [onlyOld, both]) {
      await redis.multi().hset(keys.run(id), { state: 'COMPLETE', created: '1', start: '2', end: '3', 't:RUNNING': '2', 't:COMPLETE': '3' }).zadd(keys.index, 0, id).hincrby(keys.counts, 'COMPLETE', 1).exec();
    }
    // The index backfill (RunIndexBackfill) has reached `both`, not `onlyOld`.
    await redis.zadd(keys.stateIndex('COMPLETE'), 0, both);
    await machine.enqueue(fresh, { request: '{}' });
    const all = await store.listPage(10);
    expect(all.rows.map((r) => r.runId)).toEqual([fresh, both, onlyOld]);
    expect(all.more).toBe(false);
    const p1 = await store.listPage(2);
    expect(p1.rows.map((r) => r.runId)).toEqual([fresh, both]);
    expect(p1.more).toBe(true);
    const p2 = await store.listPage(2, p1.last);
    expect(p2.rows.map((r) => r.runId)).toEqual([onlyOld]);
    expect(p2.more).toBe(false);
    expect(await store.allRunIds()).toEqual([onlyOld, both, fresh]);
    for (const id of [onlyOld, both]) expect(await machine.remove(id)).toEqual({ removed: true, state: 'COMPLETE' });
    expect(await redis.exists(keys.index)).toBe(0);
    expect((await store.listPage(10)).rows.map((r) => r.runId)).toEqual([fresh]);
  });

  it('records a finished run without duplicate fields: times once, the holder by its worker id, long fields packed; reads it whole', async () => {
    const id = newRunId();
    const worker = formatWorkerId('node-7', 4242, 'a1b2c3');
    const outputs = JSON.stringify({ out: { location: 'wes-output:hello.txt', basename: 'hello.txt', class: 'File', checksum: 'sha1$f572d396fae9206628714fb2ce00f72e94f2258f', size: 6 } });
    const dir = '/var/lib/wes/work/x-1';
    const args = ['cwltool', '--disable-color', '--outdir', `${dir}/outputs`, '--tmpdir-prefix', `${dir}/tmp/`, `${dir}/attachments/hello.cwl`, `${dir}/attachments/wes-params.json`];
    expect(await machine.enqueue(id, { request: '[{},"CWL","v1.2",{},"hello.cwl"]', tags: '{}' })).toBe(true);
    await machine.sendOrThrow(id, 'initialize', { fields: { worker, host: 'node-7', wpid: '4242' } });
    await machine.sendOrThrow(id, 'run', { fields: { cmd: encodeCommand(args, dir) } });
    await machine.sendOrThrow(id, 'complete', { fields: { exit_code: '0', outputs } });
    const h = await redis.hgetall(keys.run(id));
    expect(Object.keys(h).filter((f) => f.startsWith('t:'))).toEqual(['t:INITIALIZING']);
    expect(h.host).toBeUndefined();
    expect(h.wpid).toBeUndefined();
    expect(Object.keys(h).filter((f) => f.startsWith('cmd'))).toEqual(['cmd']);
    expect(Object.keys(h).filter((f) => f.startsWith('outputs'))).toHaveLength(2);
    const run = await store.get(id);
    expect(run).toMatchObject({ worker, host: 'node-7', workerPid: 4242, exitCode: 0, outputs: JSON.parse(outputs), start: Number(h.start), end: Number(h.end) });
    expect(run?.cmd).toEqual(['cwltool', '--disable-color', '--outdir', '<run>/outputs', '--tmpdir-prefix', '<run>/tmp/', '<run>/attachments/hello.cwl', '<run>/attachments/wes-params.json']);
    expect(await store.holders([id])).toMatchObject([{ worker, host: 'node-7', workerPid: 4242 }]);
    expect(await store.times(id)).toMatchObject({ running: Number(h.start), end: Number(h.end) });
    // A holder whose id does not name its host and pid keeps them in fields; a new holder
    // leaves none of the old holder's behind.
    const other = newRunId();
    await machine.enqueue(other, { request: '{}' });
    await machine.sendOrThrow(other, 'initialize', { fields: { worker: 'w-1', host: 'h', wpid: '42' } });
    expect(await store.holders([other])).toMatchObject([{ worker: 'w-1', host: 'h', workerPid: 42 }]);
    await machine.sendOrThrow(other, 'preempt');
    await machine.sendOrThrow(other, 'initialize', { fields: { worker, host: 'node-7', wpid: '4242' } });
    expect(await redis.hmget(keys.run(other), 'host', 'wpid')).toEqual([null, null]);
    expect(await store.holders([other])).toMatchObject([{ worker, host: 'node-7', workerPid: 4242 }]);
    // A value holding a character packing uses is recorded as it is, and read back the same.
    await store.setFields(id, { cmd: '\0cwltool\0a\u0003b' });
    expect(await redis.hget(keys.run(id), 'cmd')).toBe('\0cwltool\0a\u0003b');
    expect((await store.get(id))?.cmd).toEqual(['cwltool', 'a\u0003b']);
  });

  it('reads the workflow as the workflow_url when none was recorded', async () => {
    const id = newRunId();
    expect(await machine.enqueue(id, { request: encodeRunRequest({ workflow_params: {}, workflow_type: 'CWL', workflow_type_version: 'v1.2', tags: {}, workflow_engine_parameters: {}, workflow_url: 'a.cwl' }) })).toBe(true);
    expect((await store.get(id))?.workflow).toBe('a.cwl');
  });

  it('reports a message for a run that does not exist', async () => {
    expect(await machine.send('no-such-run', 'cancel')).toEqual({ applied: false, state: null });
    await expect(machine.sendOrThrow('no-such-run', 'initialize')).rejects.toThrow(/no-such-run.*initialize.*\(none\)/);
    expect(await redis.exists(keys.run('no-such-run'))).toBe(0);
    expect(await machine.getState('no-such-run')).toBeNull();
  });

  it('marks and broadcasts a cancel of a run held by a worker, not of a queued one', async () => {
    const sub = new Redis(r.server.url);
    const heard: string[] = [];
    try {
      await sub.subscribe(keys.cancelChannel);
      sub.on('message', (_channel, runId) => heard.push(runId));
      const running = await runIn('RUNNING');
      const queued = await runIn('QUEUED');
      await machine.sendOrThrow(running, 'cancel');
      await machine.sendOrThrow(queued, 'cancel');
      const [runningHolder, queuedHolder] = await store.holders([running, queued]);
      expect(runningHolder.cancelRequestedAt).toBeGreaterThan(0);
      expect(queuedHolder.cancelRequestedAt).toBeUndefined();
      for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toEqual([running]);
    } finally {
      sub.disconnect();
    }
  });

  it('gives start_time and end_time from the transitions', async () => {
    const id = await runIn('COMPLETE');
    const run = await store.get(id);
    expect(run?.state).toBe('COMPLETE');
    expect(run?.start).toBeGreaterThanOrEqual(run!.created);
    expect(run?.end).toBeGreaterThanOrEqual(run!.start!);
    const queued = await store.get(await runIn('CANCELED'));
    expect(queued?.start).toBeUndefined();
    expect(queued?.end).toBeGreaterThan(0);
  });

  it('keeps the counters equal to the states after many transitions', async () => {
    for (let i = 0; i < 40; i++) {
      const target = (Object.keys(PATHS) as RunState[])[i % Object.keys(PATHS).length];
      const id = await runIn(target);
      // Then a random message, legal or not.
      await machine.send(id, MESSAGES[(i * 7) % MESSAGES.length]);
    }
    await expectCountersMatch();
    const counts = await store.counts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(40);
  });

  describe('races between processes (separate connections)', () => {
    let other: Redis;
    beforeAll(() => {
      other = new Redis(r.server.url, { maxRetriesPerRequest: null });
    });
    afterAll(async () => {
      await other.quit();
    });

    async function race(state: RunState, a: RunMessage, b: RunMessage, n = 60) {
      const m1 = new WorkflowStateMachine(redis, keys, new TerminalStateCache());
      const m2 = new WorkflowStateMachine(other, keys, new TerminalStateCache());
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(await runIn(state));
      const results = await Promise.all(
        ids.map((id, i) => {
          // Alternate who sends first, so neither side always wins by ordering alone.
          const pair = i % 2 === 0 ? [m1.send(id, a), m2.send(id, b)] : [m2.send(id, b), m1.send(id, a)];
          return Promise.all(pair).then((r) => (i % 2 === 0 ? r : [r[1], r[0]]));
        }),
      );
      const winners = { [a]: 0, [b]: 0 } as Record<string, number>;
      for (const [i, [ra, rb]] of results.entries()) {
        const final = await redis.hget(keys.run(ids[i]), 'state');
        expect(Number(ra.applied) + Number(rb.applied), `run ${ids[i]}: exactly one of ${a}, ${b} wins`).toBe(1);
        const win = ra.applied ? ra : rb;
        const lose = ra.applied ? rb : ra;
        if (!win.applied || lose.applied) throw new Error('unreachable');
        expect(final).toBe(win.to);
        // The loser saw the winner's state.
        expect(lose.state).toBe(win.to);
        winners[ra.applied ? a : b]++;
      }
      await expectCountersMatch();
      return winners;
    }

    it('complete vs cancel on a RUNNING run: exactly one wins, and a cancel is never overwritten by COMPLETE', async () => {
      const winners = await race('RUNNING', 'complete', 'cancel');
      expect(winners.complete + winners.cancel).toBe(60);
    });

    it('canceled vs system_error on a CANCELING run: exactly one wins', async () => {
      await race('CANCELING', 'canceled', 'system_error');
    });

    it('two workers taking the same QUEUED run: exactly one initializes it', async () => {
      await race('QUEUED', 'initialize', 'initialize');
    });

    it('cancel vs initialize on a QUEUED run: a canceled run is never initialized, a cancel is never lost', async () => {
      const m1 = new WorkflowStateMachine(redis, keys, new TerminalStateCache());
      const m2 = new WorkflowStateMachine(other, keys, new TerminalStateCache());
      const ids: string[] = [];
      for (let i = 0; i < 60; i++) ids.push(await runIn('QUEUED'));
      const results = await Promise.all(ids.map((id) => Promise.all([m1.send(id, 'cancel'), m2.send(id, 'initialize')])));
      for (const [i, [cancel, init]] of results.entries()) {
        const final = await redis.hget(keys.run(ids[i]), 'state');
        // The cancel always applies: QUEUED → CANCELED, or INITIALIZING → CANCELING after the worker won.
        expect(cancel.applied).toBe(true);
        if (init.applied) {
          expect(cancel).toEqual({ applied: true, from: 'INITIALIZING', to: 'CANCELING' });
          expect(final).toBe('CANCELING');
        } else {
          expect(cancel).toEqual({ applied: true, from: 'QUEUED', to: 'CANCELED' });
          expect(init).toEqual({ applied: false, state: 'CANCELED' });
          expect(final).toBe('CANCELED');
        }
      }
      await expectCountersMatch();
    });
  });

  describe('terminal state cache', () => {
    it('keeps a terminal state it has seen (sticky), never a non-terminal one', async () => {
      const cache = new TerminalStateCache();
      const m = new WorkflowStateMachine(redis, keys, cache);
      const done = await runIn('COMPLETE', m);
      expect(await m.getState(done)).toBe('COMPLETE');
      expect(cache.get(done)).toBe('COMPLETE');
      // Even if the record were damaged, this process keeps what it saw.
      await redis.hset(keys.run(done), 'state', 'RUNNING');
      expect(await m.getState(done)).toBe('COMPLETE');
      await redis.hset(keys.run(done), 'state', 'COMPLETE');

      const live = await runIn('RUNNING', m);
      expect(await m.getState(live)).toBe('RUNNING');
      expect(cache.get(live)).toBeUndefined();
      // Another process moves it on: this one must see the change, not a cached RUNNING.
      await new WorkflowStateMachine(redis, keys).sendOrThrow(live, 'cancel');
      expect(await m.getState(live)).toBe('CANCELING');
      expect(cache.get(live)).toBeUndefined();
    });

    it('drops its oldest entry when full', () => {
      const cache = new TerminalStateCache(2);
      cache.remember('a', 'COMPLETE');
      cache.remember('b', 'CANCELED');
      cache.remember('c', 'EXECUTOR_ERROR');
      cache.remember('d', 'RUNNING');
      expect(cache.size).toBe(2);
      expect(cache.get('a')).toBeUndefined();
      expect(cache.get('c')).toBe('EXECUTOR_ERROR');
      expect(cache.get('d')).toBeUndefined();
    });
  });
});

describe('RunStore.listPage', () => {
  it('pages newest first by run id, and a token survives new runs', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = newRunId();
      ids.push(id);
      await machine.enqueue(id, { request: '{}', tags: JSON.stringify({ i: String(i) }) });
    }
    const p1 = await store.listPage(2);
    expect(p1.rows.map((r) => r.runId)).toEqual([ids[4], ids[3]]);
    expect(p1.more).toBe(true);
    const late = newRunId();
    await machine.enqueue(late, { request: '{}' });
    const p2 = await store.listPage(2, p1.last);
    expect(p2.rows.map((r) => r.runId)).toEqual([ids[2], ids[1]]);
    const p3 = await store.listPage(2, p2.last);
    expect(p3.rows.map((r) => r.runId)).toEqual([ids[0]]);
    expect(p3.more).toBe(false);
    expect(p3.rows[0].tags).toEqual({ i: '0' });
    expect((await store.listPage(1)).rows[0].runId).toBe(late);
  });

  it("with an owner, pages only that owner's runs, from the owner's index written by enqueue", async () => {
    const owners = ['alice', 'bob', 'alice', undefined, 'bob', 'alice'];
    const ids: string[] = [];
    for (const owner of owners) {
      const id = newRunId();
      ids.push(id);
      expect(await machine.enqueue(id, { request: '{}', ...(owner ? { owner } : {}) })).toBe(true);
    }
    // Same script: the run, the global index and the owner's index together.
    expect(await redis.zrange(keys.ownerIndex('alice'), 0, -1)).toEqual([ids[0], ids[2], ids[5]]);
    expect(await redis.zrange(keys.ownerIndex('bob'), 0, -1)).toEqual([ids[1], ids[4]]);
    expect(await store.allRunIds()).toEqual([...ids].sort());
    // A taken id leaves the owner's index alone.
    expect(await machine.enqueue(ids[0]!, { request: '{}', owner: 'bob' })).toBe(false);
    expect(await redis.zcard(keys.ownerIndex('bob'))).toBe(2);

    const p1 = await store.listPage(2, undefined, 'alice');
    expect(p1.rows.map((r) => r.runId)).toEqual([ids[5], ids[2]]);
    expect(p1.more).toBe(true);
    const p2 = await store.listPage(2, p1.last, 'alice');
    expect(p2.rows.map((r) => r.runId)).toEqual([ids[0]]);
    expect(p2.more).toBe(false);
    expect((await store.listPage(10, undefined, 'carol')).rows).toEqual([]);
    expect((await store.listPage(10)).rows).toHaveLength(6);
    expect(await store.ownerOf(ids[1]!)).toEqual({ exists: true, owner: 'bob' });
    expect(await store.ownerOf(ids[3]!)).toEqual({ exists: true, owner: undefined });
    expect(await store.ownerOf('no-such-run')).toEqual({ exists: false, owner: undefined });
    expect((await store.get(ids[2]!))?.owner).toBe('alice');
  });
});
