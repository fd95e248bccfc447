import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis, startRedis } from '../../../test/helpers/redis-server';
import { RunKeys } from './run-keys';
import { ACTIVE_STATES, HELD_STATES, isTerminal, RUN_STATES, RunMessage, RunState, TRANSITIONS } from './states';
import { TransitionResult, WorkflowStateMachine } from './workflow-state-machine';

/**
 * Property: several processes (separate Redis connections, each with its own WorkflowStateMachine
 * and terminal-state cache) send random messages, in random interleavings, to a few runs of a
 * real redis-server. Whatever the interleaving:
 *  - every applied transition is a row of TRANSITIONS, every refusal is right for the state it reports;
 *  - per run, the applied transitions form one path from QUEUED to the run's final state;
 *  - a terminal state, once applied, never changes: every message sent after its reply is
 *    refused naming it, and every later read returns it;
 *  - at every instant (MULTI snapshots taken by an observer during the storm) and at the end,
 *    the counters equal the number of runs in each state and the `in:<STATE>` sets hold exactly
 *    the runs in each active state;
 *  - the record agrees: `attempt` = applied initializes, `cancel` mark iff CANCELING was
 *    entered, `end` iff terminal, at most one terminal `t:` field;
 *  - at every instant, run R is in worker W's set of held runs iff R is in a held state and its
 *    holder is W (each client claims as its own worker, preempt clears the holder as recovery
 *    does), and the holders set lists exactly the workers whose set is not empty.
 */

const MESSAGES = Object.keys(TRANSITIONS) as RunMessage[];
const CLIENTS = 4;
const MAX_RUNS = 4;
/** The worker each client claims runs as (its `initialize` names it as the holder). */
const WORKERS = Array.from({ length: CLIENTS }, (_, c) => `w${c}`);

type Op = RunMessage | 'enqueue' | 'read';

interface Command {
  run: number;
  op: Op;
  /** The attempt the sender names (attempt fencing); undefined: any attempt. */
  attempt?: number;
}

interface Scenario {
  runs: number;
  /** Runs recorded before the storm (the others only by an `enqueue` in some client's list). */
  upFront: boolean[];
  /** One list of commands per client. */
  clients: Command[][];
  /** Per client: await each reply before the next send, or pipeline the whole list. */
  pipelined: boolean[];
}

/** One command as executed: logical send and reply times (one clock for everybody). */
interface Event {
  client: number;
  run: string;
  op: Op;
  sent: number;
  done: number;
  result?: TransitionResult;
  attempt?: number;
  enqueued?: boolean;
  read?: RunState | null;
}

interface Snapshot {
  sent: number;
  done: number;
  counts: Record<string, string>;
  states: (string | null)[];
  inState: Record<string, string[]>;
  /** Members of each state's index (RunKeys.stateIndex), every state. */
  byState: Record<string, string[]>;
  /** Each run's `worker` field. */
  holders: (string | null)[];
  /** Members of each worker's set of held runs (RunKeys.heldRuns). */
  held: Record<string, string[]>;
  /** Members of RunKeys.holders. */
  holderIds: string[];
}

let server: PrivateRedis;
let connections: Redis[] = [];
let observer: Redis;

beforeAll(async () => {
  server = await startRedis();
  connections = Array.from({ length: CLIENTS }, () => new Redis(server.url, { maxRetriesPerRequest: null }));
  observer = new Redis(server.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await Promise.all([...connections, observer].filter(Boolean).map((c) => c.quit()));
  await server?.stop();
});

// Messages that move a run forward get more weight, so runs reach RUNNING and beyond often.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Op>('initialize') },
  { weight: 3, arbitrary: fc.constant<Op>('run') },
  { weight: 6, arbitrary: fc.constantFrom<Op>(...MESSAGES) },
  { weight: 1, arbitrary: fc.constant<Op>('enqueue') },
  { weight: 1, arbitrary: fc.constant<Op>('read') },
);

/** Scenarios; with `fenced`, most messages name an attempt (0-3) the way a worker names the one it holds. */
const scenarioArb = (fenced: boolean): fc.Arbitrary<Scenario> =>
  fc.integer({ min: 1, max: MAX_RUNS }).chain((runs) =>
    fc.record({
      runs: fc.constant(runs),
      upFront: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), { minLength: runs, maxLength: runs }),
      clients: fc.array(
        fc.array(
          fc.record(
            {
              run: fc.nat({ max: runs - 1 }),
              op: opArb,
              attempt: fenced ? fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: fc.nat({ max: 3 }) }) : fc.constant(undefined),
            },
            { requiredKeys: ['run', 'op'] },
          ),
          { maxLength: 24 },
        ),
        { minLength: 2, maxLength: CLIENTS },
      ),
      pipelined: fc.array(fc.boolean(), { minLength: CLIENTS, maxLength: CLIENTS }),
    }),
  );

function legalTo(message: RunMessage, from: RunState | null): RunState | undefined {
  return from ? TRANSITIONS[message][from] : undefined;
}

/** Checks one MULTI snapshot: counters and per-state sets equal the states of the run hashes. */
function checkSnapshot(snap: Snapshot, ids: string[], where: string): void {
  const tally: Record<string, number> = {};
  snap.states.forEach((s) => {
    if (s) tally[s] = (tally[s] ?? 0) + 1;
  });
  for (const s of RUN_STATES) {
    expect(Number(snap.counts[s] ?? 0), `${where}: counter ${s} (counts ${JSON.stringify(snap.counts)}, states ${JSON.stringify(snap.states)})`).toBe(
      tally[s] ?? 0,
    );
  }
  for (const key of Object.keys(snap.counts)) expect(RUN_STATES as readonly string[], `${where}: counter of an unknown state`).toContain(key);
  for (const s of ACTIVE_STATES) {
    const expected = ids.filter((_, i) => snap.states[i] === s).sort();
    expect([...snap.inState[s]].sort(), `${where}: members of in:${s}`).toEqual(expected);
  }
  for (const s of RUN_STATES) {
    const expected = ids.filter((_, i) => snap.states[i] === s).sort();
    expect([...snap.byState[s]].sort(), `${where}: members of the ${s} index`).toEqual(expected);
  }
  // R is in W's set iff R is held (HELD_STATES) and its holder is W.
  const heldBy = (i: number) => ((HELD_STATES as readonly (string | null)[]).includes(snap.states[i]) && snap.holders[i] ? snap.holders[i] : null);
  for (const w of WORKERS) {
    const expected = ids.filter((_, i) => heldBy(i) === w).sort();
    expect([...snap.held[w]].sort(), `${where}: held runs of ${w} (states ${JSON.stringify(snap.states)}, holders ${JSON.stringify(snap.holders)})`).toEqual(expected);
  }
  const holding = WORKERS.filter((w) => ids.some((_, i) => heldBy(i) === w));
  expect([...snap.holderIds].sort(), `${where}: holders`).toEqual(holding);
}

async function takeSnapshot(keys: RunKeys, ids: string[], clock: () => number): Promise<Snapshot> {
  const sent = clock();
  const multi = observer.multi().hgetall(keys.counts);
  ids.forEach((id) => multi.hget(keys.run(id), 'state'));
  ACTIVE_STATES.forEach((s) => multi.zrange(keys.inState(s), 0, -1));
  RUN_STATES.forEach((s) => multi.zrange(keys.stateIndex(s), 0, -1));
  ids.forEach((id) => multi.hget(keys.run(id), 'worker'));
  WORKERS.forEach((w) => multi.smembers(keys.heldRuns(w)));
  multi.smembers(keys.holders);
  const res = (await multi.exec()) ?? [];
  const done = clock();
  const values = res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
  const inState: Record<string, string[]> = {};
  ACTIVE_STATES.forEach((s, i) => (inState[s] = values[1 + ids.length + i] as string[]));
  const byState: Record<string, string[]> = {};
  RUN_STATES.forEach((s, i) => (byState[s] = values[1 + ids.length + ACTIVE_STATES.length + i] as string[]));
  let at = 1 + ids.length + ACTIVE_STATES.length + RUN_STATES.length;
  const holders = values.slice(at, at + ids.length) as (string | null)[];
  at += ids.length;
  const held: Record<string, string[]> = {};
  WORKERS.forEach((w, i) => (held[w] = values[at + i] as string[]));
  const holderIds = values[at + WORKERS.length] as string[];
  return { sent, done, counts: values[0] as Record<string, string>, states: values.slice(1, 1 + ids.length) as (string | null)[], inState, byState, holders, held, holderIds };
}

async function runScenario(sc: Scenario): Promise<{ events: Event[]; snapshots: Snapshot[]; keys: RunKeys; ids: string[] }> {
  const keys = new RunKeys(`prop-${randomBytes(5).toString('hex')}`);
  const ids = Array.from({ length: sc.runs }, (_, i) => `run-${i}`);
  let tick = 0;
  const clock = () => ++tick;
  const events: Event[] = [];
  const snapshots: Snapshot[] = [];
  const machines = connections.map((c) => new WorkflowStateMachine(c, keys));

  for (let i = 0; i < sc.runs; i++) {
    if (!sc.upFront[i]) continue;
    const sent = clock();
    const enqueued = await machines[0].enqueue(ids[i], { request: '{}' });
    events.push({ client: -1, run: ids[i], op: 'enqueue', sent, done: clock(), enqueued });
  }

  const exec = async (client: number, cmd: Command): Promise<void> => {
    const m = machines[client];
    const run = ids[cmd.run];
    const sent = clock();
    if (cmd.op === 'enqueue') {
      const enqueued = await m.enqueue(run, { request: '{}' });
      events.push({ client, run, op: cmd.op, sent, done: clock(), enqueued });
    } else if (cmd.op === 'read') {
      const read = await m.getState(run);
      events.push({ client, run, op: cmd.op, sent, done: clock(), read });
    } else {
      // As the product: a claim names its worker as the holder, a preempt (recovery) clears it.
      const fields = cmd.op === 'initialize' ? { worker: WORKERS[client] } : cmd.op === 'preempt' ? { worker: '' } : undefined;
      const result = await m.send(run, cmd.op, { systemLogs: [`${client}:${cmd.op}`], attempt: cmd.attempt, fields });
      events.push({ client, run, op: cmd.op, sent, done: clock(), result, attempt: cmd.attempt });
    }
  };

  let stormOver = false;
  const observe = (async () => {
    while (!stormOver) {
      snapshots.push(await takeSnapshot(keys, ids, clock));
      await new Promise((r) => setImmediate(r));
    }
  })();
  await Promise.all(
    sc.clients.map(async (cmds, client) => {
      if (sc.pipelined[client]) {
        await Promise.all(cmds.map((cmd) => exec(client, cmd)));
      } else {
        for (const cmd of cmds) await exec(client, cmd);
      }
    }),
  );
  stormOver = true;
  await observe;
  snapshots.push(await takeSnapshot(keys, ids, clock));
  return { events, snapshots, keys, ids };
}

async function checkScenario(sc: Scenario): Promise<{ events: Event[]; snapshots: number }> {
  const { events, snapshots, keys, ids } = await runScenario(sc);

  for (const [i, snap] of snapshots.entries()) checkSnapshot(snap, ids, `snapshot ${i + 1}/${snapshots.length}`);
  const final = snapshots[snapshots.length - 1];

  for (const [i, id] of ids.entries()) {
    const mine = events.filter((e) => e.run === id);
    const finalState = final.states[i] as RunState | null;
    const creations = mine.filter((e) => e.op === 'enqueue' && e.enqueued);
    expect(creations.length, `${id}: successful enqueues`).toBe(finalState ? 1 : 0);
    const created = creations[0];

    const applied = mine.filter((e) => e.result?.applied);
    for (const e of mine) {
      if (!e.result) continue;
      const message = e.op as RunMessage;
      if (e.result.applied) {
        // Only rows of the table are ever applied.
        expect(legalTo(message, e.result.from), `${id}: ${message} applied from ${e.result.from} to ${e.result.to}`).toBe(e.result.to);
      } else if (e.result.stale) {
        // Refused for its attempt: only a message that named one, for a run that exists.
        expect(e.attempt, `${id}: ${message} refused as stale without naming an attempt`).toBeDefined();
        expect(e.result.state).not.toBeNull();
      } else {
        // A refusal is right for the state it reports (null: no run yet).
        expect(legalTo(message, e.result.state), `${id}: ${message} refused in ${e.result.state}`).toBeUndefined();
        if (created && e.sent > created.done) expect(e.result.state, `${id}: ${message} sent after the run was recorded`).not.toBeNull();
      }
    }

    // Attempt fencing: the run's attempt when a message was executed lies between the
    // initializes that surely came before it and those that may have; a message naming an
    // attempt outside that range can only have been refused as stale, and one that was judged
    // (applied or refused for its state) named an attempt inside it.
    const inits = applied.filter((e) => e.op === 'initialize');
    for (const e of mine) {
      if (!e.result || e.attempt === undefined) continue;
      if (!e.result.applied && e.result.state === null) continue; // no run yet: nothing to fence
      const low = inits.filter((x) => x !== e && x.done < e.sent).length;
      const high = inits.filter((x) => x !== e && x.sent < e.done).length;
      const stale = !e.result.applied && e.result.stale === true;
      if (e.attempt < low || e.attempt > high) {
        expect(stale, `${id}: ${e.op} naming attempt ${e.attempt} (run at ${low}..${high}) was not refused as stale: ${JSON.stringify(e.result)}`).toBe(true);
      } else if (low === high && (e.result.applied || e.result.state !== 'QUEUED')) {
        // While the run waits QUEUED no holder has it: a message naming an attempt is stale then.
        expect(stale, `${id}: ${e.op} naming the run's attempt ${e.attempt} was refused as stale`).toBe(false);
      }
      if (!e.result.applied && e.result.state === 'QUEUED') {
        expect(stale, `${id}: ${e.op} naming attempt ${e.attempt} while QUEUED was not refused as stale`).toBe(true);
      }
    }

    // The applied transitions form one path QUEUED → … → final state (flow conservation).
    if (finalState) {
      const balance: Record<string, number> = {};
      for (const e of applied) {
        const r = e.result as Extract<TransitionResult, { applied: true }>;
        balance[r.from] = (balance[r.from] ?? 0) - 1;
        balance[r.to] = (balance[r.to] ?? 0) + 1;
      }
      balance.QUEUED = (balance.QUEUED ?? 0) + 1;
      balance[finalState] = (balance[finalState] ?? 0) - 1;
      for (const [s, b] of Object.entries(balance)) {
        expect(b, `${id}: transitions into and out of ${s} do not form a path to ${finalState}: ${JSON.stringify(applied.map((e) => e.result))}`).toBe(0);
      }
    } else {
      expect(applied, `${id}: transitions applied to a run that does not exist`).toEqual([]);
    }

    // Terminal states are sticky: at most one terminal transition, and everything that started
    // after its reply sees it (refusals, reads through any cache, the observer's snapshots).
    const terminals = applied.filter((e) => isTerminal((e.result as { to: RunState }).to));
    expect(terminals.length, `${id}: terminal transitions applied`).toBeLessThanOrEqual(1);
    if (terminals.length === 1) {
      const t = terminals[0];
      const T = (t.result as { to: RunState }).to;
      expect(finalState).toBe(T);
      for (const e of mine) {
        if (e.sent < t.done) continue;
        if (e.result) {
          expect(e.result.applied, `${id}: ${e.op} sent after ${T} was applied`).toBe(false);
          expect((e.result as { state: RunState }).state, `${id}: ${e.op} sent after ${T} was applied`).toBe(T);
        }
        if (e.op === 'read') expect(e.read, `${id}: read after ${T} was applied`).toBe(T);
        if (e.op === 'enqueue') expect(e.enqueued).toBe(false);
      }
      for (const snap of snapshots) if (snap.sent > t.done) expect(snap.states[i], `${id}: snapshot after ${T}`).toBe(T);
      // And once any observer sees a terminal state, no later snapshot sees another state.
      const firstSeen = snapshots.find((s) => isTerminal(s.states[i]));
      if (firstSeen) for (const snap of snapshots) if (snap.sent > firstSeen.done) expect(snap.states[i]).toBe(firstSeen.states[i]);
    } else if (finalState) {
      expect(isTerminal(finalState), `${id}: ends ${finalState} without a terminal transition`).toBe(false);
    }

    // What the record says agrees with the transitions.
    if (finalState) {
      const h = await observer.hgetall(keys.run(id));
      const count = (to: RunState, message?: RunMessage) =>
        applied.filter((e) => (e.result as { to: RunState }).to === to && (!message || e.op === message)).length;
      expect(Number(h.attempt ?? 0), `${id}: attempt`).toBe(count('INITIALIZING', 'initialize'));
      expect('cancel' in h, `${id}: durable cancel mark`).toBe(count('CANCELING') > 0);
      expect('end' in h, `${id}: end time`).toBe(isTerminal(finalState));
      expect('start' in h, `${id}: start time`).toBe(count('RUNNING') > 0);
      // The enqueue writes 'created' and no 't:QUEUED' (the same time); a return to QUEUED writes it.
      if (finalState === 'QUEUED' && count('QUEUED', 'preempt') === 0) expect(h['t:QUEUED'], `${id}: t:QUEUED of a run never requeued`).toBeUndefined();
      // Its time: RUNNING's is 'start', a terminal state's 'end', another state's 't:<STATE>'.
      else expect(h[finalState === 'RUNNING' ? 'start' : isTerminal(finalState) ? 'end' : `t:${finalState}`], `${id}: time of its state`).toBeDefined();
      expect(h.created, `${id}: created`).toBeDefined();
      const terminalTimes = Object.keys(h).filter((k) => k.startsWith('t:') && isTerminal(k.slice(2)));
      // A terminal state's time is 'end' alone (run footprint): no 't:' field of a terminal state.
      expect(terminalTimes, `${id}: terminal t: fields`).toEqual([]);
      // Every applied message appended its one system_logs line, and no refused one did.
      const logs = await observer.lrange(keys.systemLogs(id), 0, -1);
      expect(logs.length, `${id}: system_logs lines`).toBe(applied.length);
    }
  }
  // Every run is listed by exactly the index of its state (the run list merges them); no run index of all runs is written.
  const listedIn = new Map<string, string[]>();
  for (const s of RUN_STATES) for (const id of await observer.zrange(keys.stateIndex(s), 0, -1)) listedIn.set(id, [...(listedIn.get(id) ?? []), s]);
  expect(await observer.exists(keys.index), 'run index of before').toBe(0);
  expect([...listedIn.keys()].sort()).toEqual(ids.filter((_, i) => final.states[i] !== null).sort());
  ids.forEach((id, i) => final.states[i] !== null && expect(listedIn.get(id), `${id}: state indexes`).toEqual([final.states[i]]));
  // The (owner-less) runs' active set holds exactly the runs that are not finished.
  const unfinished = ids.filter((_, i) => final.states[i] !== null && !isTerminal(final.states[i]));
  expect((await observer.smembers(keys.activeRuns(undefined))).sort(), 'active-run set').toEqual(unfinished.sort());
  // Each scenario has its own prefix: drop its keys so the server stays small.
  const stale = await observer.keys(`${keys.prefix}:*`);
  if (stale.length) await observer.del(...stale);
  return { events, snapshots: snapshots.length };
}

async function checkProperty(fenced: boolean, numRuns: number, timeLimitMs: number): Promise<void> {
    const started = Date.now();
    let scenarios = 0;
    let commands = 0;
    let snapshots = 0;
    let staleRefusals = 0;
    /** Rows of the table (message:from) applied at least once over all scenarios. */
    const exercised = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(scenarioArb(fenced), async (sc) => {
        scenarios++;
        const r = await checkScenario(sc);
        commands += r.events.length;
        snapshots += r.snapshots;
        for (const e of r.events) {
          if (e.result?.applied) exercised.set(`${e.op}:${e.result.from}`, (exercised.get(`${e.op}:${e.result.from}`) ?? 0) + 1);
          if (e.result && !e.result.applied && e.result.stale) staleRefusals++;
        }
      }),
      { numRuns, interruptAfterTimeLimit: timeLimitMs },
    );
    const ms = Date.now() - started;
    console.log(
      `state-machine property${fenced ? ' (messages naming attempts)' : ''}: ${scenarios} scenarios, ${commands} commands, ${snapshots} snapshots, ` +
        `${staleRefusals} stale refusals in ${ms} ms; rows applied: ${[...exercised].map(([k, n]) => `${k}=${n}`).join(' ')}`,
    );
    if (fenced) expect(staleRefusals).toBeGreaterThan(0);
    expect(scenarios).toBeGreaterThanOrEqual(100);
    // Meaningful: every row of the transition table was taken at least once under concurrency.
    for (const message of MESSAGES) {
      for (const from of Object.keys(TRANSITIONS[message])) expect(exercised.get(`${message}:${from}`) ?? 0, `${message} from ${from} never applied`).toBeGreaterThan(0);
    }
}

describe('WorkflowStateMachine under random concurrent messages (fast-check, real Redis)', () => {
  it('only legal paths, sticky terminal states, counters and state sets always true', async () => {
    await checkProperty(false, 2000, 12_000);
  }, 60_000);

  it('the same with messages naming attempts: a stale attempt is refused, the run\'s own is judged by the table', async () => {
    await checkProperty(true, 1500, 10_000);
  }, 60_000);

  it('a holder whose attempt was taken back (preempt → QUEUED) cannot end the run with a message legal from QUEUED', async () => {
    // Attempt 1 is preempted (its worker taken for lost); before attempt 2 starts, the old
    // holder, still alive, reports a failure of its own or cancels at shutdown, naming attempt 1.
    const keys = new RunKeys(`fence-q-${randomBytes(4).toString('hex')}`);
    const m = new WorkflowStateMachine(connections[0], keys);
    const outcomes: Record<string, TransitionResult> = {};
    for (const message of ['system_error', 'cancel'] as const) {
      const id = `run-${message}`;
      await m.enqueue(id, { request: '{}' });
      await m.sendOrThrow(id, 'initialize');
      await m.sendOrThrow(id, 'run', { attempt: 1 });
      await m.sendOrThrow(id, 'preempt', { attempt: 1 });
      outcomes[message] = await m.send(id, message, { attempt: 1 });
    }
    expect(outcomes, 'the recovery decision (run it again) must stand against the displaced holder').toEqual({
      system_error: { applied: false, state: 'QUEUED', stale: true },
      cancel: { applied: false, state: 'QUEUED', stale: true },
    });
  });
});
