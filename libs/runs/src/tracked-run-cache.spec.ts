import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { waitFor } from '../../../test/helpers/wait-for';
import { RunKeys } from './run-keys';
import { RunMessage, RunState } from './states';
import { TrackedRunCache } from './tracked-run-cache';
import { WorkflowStateMachine } from './workflow-state-machine';

/**
 * The API's run cache against a real private redis-server, with the transitions made by another
 * process (test/helpers/transition-process.ts, its own connection): a read that starts after a
 * transition's reply reached that process never answers an older state, while reads hammer the
 * same run; nor after either of the cache's connections is killed; and a run that does not change
 * is answered from memory.
 */
const r = usePrivateRedis();

/** The other process: `send` resolves with the new state once its transition's reply came back. */
class TransitionProcess {
  private readonly waiting: ((line: string) => void)[] = [];
  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.waiting.shift()?.(line));
  }

  static async start(url: string, prefix: string): Promise<TransitionProcess> {
    const script = path.join(__dirname, '../../../test/helpers/transition-process.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script, url, prefix], { stdio: ['pipe', 'pipe', 'inherit'] });
    const p = new TransitionProcess(child);
    expect(await p.next()).toBe('ready');
    return p;
  }

  private next(): Promise<string> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async send(message: RunMessage, runId: string): Promise<RunState> {
    const answer = this.next();
    this.child.stdin!.write(`${message} ${runId}\n`);
    const [id, state, ...rest] = (await answer).split(' ');
    if (id !== runId || state === 'error') throw new Error(`transition ${message} of ${runId}: ${state} ${rest.join(' ')}`);
    return state as RunState;
  }

  stop(): void {
    this.child.stdin!.end();
  }
}

const ORDER: RunState[] = ['QUEUED', 'INITIALIZING', 'RUNNING', 'COMPLETE'];
const PATH: RunMessage[] = ['initialize', 'run', 'complete'];

let keys: RunKeys;
let machine: WorkflowStateMachine;
let other: TransitionProcess;
let conn: Redis;
let cache: TrackedRunCache | undefined;
let seq = 0;

const newRun = async () => {
  const id = `run-${String(++seq).padStart(5, '0')}-${randomBytes(3).toString('hex')}`;
  expect(await machine.enqueue(id, { request: '{}' })).toBe(true);
  return id;
};

const until = (what: string, check: () => boolean | Promise<boolean>) => waitFor(what, check, 10_000, 5);

async function startCache(maxEntries = 1000): Promise<TrackedRunCache> {
  cache = new TrackedRunCache(conn, keys, maxEntries);
  cache.start();
  await until('the cache serving', () => cache!.isServing);
  return cache;
}

/** HMGETs Redis has run so far (the cache's reads of run hashes). */
async function hmgets(): Promise<number> {
  const info = await r.redis.info('commandstats');
  return Number(/cmdstat_hmget:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/** The newest connection of that name (an earlier test's closed ones may linger a moment). */
async function clientId(name: string): Promise<string> {
  const list = (await r.redis.client('LIST')) as string;
  const ids = list
    .split('\n')
    .filter((l) => l.includes(` name=${name} `))
    .map((l) => Number(/id=(\d+)/.exec(l)![1]));
  expect(ids.length, `a connection named ${name}`).toBeGreaterThan(0);
  return String(Math.max(...ids));
}

beforeAll(async () => {
  keys = new RunKeys(`trk-${randomBytes(4).toString('hex')}`);
  machine = new WorkflowStateMachine(r.redis, keys);
  conn = new Redis(r.server.url, { maxRetriesPerRequest: null });
  other = await TransitionProcess.start(r.server.url, keys.prefix);
});

afterAll(async () => {
  other?.stop();
  conn?.disconnect();
});

beforeEach(() => {
  cache = undefined;
});

afterEach(() => {
  cache?.close();
});

describe('TrackedRunCache', () => {
  it("a transition made by another process is seen by every read that starts after the transition's reply, with reads hammering the run", async () => {
    const c = await startCache();
    let reads = 0;
    const stale: string[] = [];
    for (let i = 0; i < 150; i++) {
      const id = await newRun();
      expect((await c.read(id)).state).toBe('QUEUED');
      // The latest state whose transition's reply the other process has passed on to us.
      let known: RunState = 'QUEUED';
      let stop = false;
      const reader = async () => {
        while (!stop) {
          const floor = known;
          const { state } = await c.read(id);
          reads++;
          if (ORDER.indexOf(state!) < ORDER.indexOf(floor)) stale.push(`${id}: read ${state} after ${floor}`);
        }
      };
      const readers = [reader(), reader(), reader()];
      for (const message of PATH) {
        known = await other.send(message, id);
        expect((await c.read(id)).state, `${id} right after ${message}`).toBe(known);
      }
      stop = true;
      await Promise.all(readers);
    }
    expect(stale).toEqual([]);
    expect(reads).toBeGreaterThan(150 * PATH.length);
  });

  it('a run that does not change is answered from memory, and a change is read again', async () => {
    const c = await startCache();
    const id = await newRun();
    expect((await c.read(id)).state).toBe('QUEUED');
    const before = await hmgets();
    for (let i = 0; i < 50; i++) expect((await c.read(id)).state).toBe('QUEUED');
    expect(await hmgets()).toBe(before);
    await other.send('initialize', id);
    expect((await c.read(id)).state).toBe('INITIALIZING');
    expect(await hmgets()).toBe(before + 1);
  });

  it("owner and absence are cached the same way: a deleted run's key invalidates", async () => {
    const c = await startCache();
    const id = `run-owned-${randomBytes(3).toString('hex')}`;
    expect(await machine.enqueue(id, { request: '{}', owner: 'alice' })).toBe(true);
    expect(await c.read(id)).toEqual({ state: 'QUEUED', owner: 'alice' });
    expect(await c.read(id)).toEqual({ state: 'QUEUED', owner: 'alice' });
    await r.redis.del(keys.run(id));
    expect(await c.read(id)).toEqual({ state: null, owner: undefined });
  });

  for (const name of ['wes-api-invalidations', 'wes-api-tracking']) {
    it(`after CLIENT KILL of the ${name} connection, a later transition is never hidden, and caching resumes`, async () => {
      const c = await startCache();
      for (let i = 0; i < 20; i++) {
        const id = await newRun();
        expect((await c.read(id)).state).toBe('QUEUED');
        expect((await c.read(id)).state).toBe('QUEUED');
        await r.redis.client('KILL', 'ID', await clientId(name));
        // The transition goes through at once, whether or not this process noticed the kill yet.
        expect(await other.send('initialize', id)).toBe('INITIALIZING');
        expect((await c.read(id)).state).toBe('INITIALIZING');
        await until('the cache serving again', () => c.isServing);
        expect((await c.read(id)).state).toBe('INITIALIZING');
        const before = await hmgets();
        expect((await c.read(id)).state).toBe('INITIALIZING');
        expect(await hmgets(), 'a cached read again').toBe(before);
        await other.send('run', id);
        expect((await c.read(id)).state).toBe('RUNNING');
      }
    });
  }

  it('a connection that stops answering (neither replies nor closes) does not hold polls: they go to Redis, and caching resumes', async () => {
    const c = await startCache();
    const id = await newRun();
    expect((await c.read(id)).state).toBe('QUEUED');
    // A silent invalidations connection: its PINGs are never answered (a half-open socket).
    const conn = (c as unknown as { invalidations: Redis }).invalidations;
    const ping = conn.ping.bind(conn);
    conn.ping = (() => new Promise(() => undefined)) as unknown as typeof conn.ping;
    expect(await other.send('initialize', id)).toBe('INITIALIZING');
    // Without the fence's time limit this read would wait for ever (the test's own timeout).
    expect((await c.read(id)).state).toBe('INITIALIZING');
    expect(c.isServing).toBe(false);
    conn.ping = ping;
    await until('the cache serving again', () => c.isServing);
    expect((await c.read(id)).state).toBe('INITIALIZING');
    const before = await hmgets();
    expect((await c.read(id)).state).toBe('INITIALIZING');
    expect(await hmgets(), 'a cached read again').toBe(before);
  });

  it('holds at most maxEntries runs, and 0 reads Redis every time', async () => {
    const c = await startCache(5);
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(await newRun());
    for (const id of ids) expect((await c.read(id)).state).toBe('QUEUED');
    expect(c.size).toBe(5);
    c.close();
    const off = (cache = new TrackedRunCache(conn, keys, 0));
    off.start();
    expect(off.isServing).toBe(false);
    const before = await hmgets();
    expect((await off.read(ids[0]!)).state).toBe('QUEUED');
    expect((await off.read(ids[0]!)).state).toBe('QUEUED');
    expect(await hmgets()).toBe(before + 2);
  });

  it('an invalidation of everything (FLUSHALL) empties the cache', async () => {
    const c = await startCache();
    const id = await newRun();
    expect((await c.read(id)).state).toBe('QUEUED');
    expect(c.size).toBe(1);
    await r.redis.flushall();
    await until('the cache emptied', () => c.size === 0);
    expect((await c.read(id)).state).toBeNull();
  });
});
