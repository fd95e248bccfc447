import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runForm, workflowFiles } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { FAST_RECOVERY_ENV, holderPid, RunInspector, uniqueSeconds, waitEngineRunning, waitFor, waitTerminal } from '../helpers/recovery';
import { ManagedProcess, queueOf } from '../helpers/stack';

/**
 * Two pools of different concurrency, both running cwltool: `small` (1 run per worker, the
 * default pool of cwltool) and `wide` (3 per worker), and `idle`, which no worker serves. Each
 * worker serves one pool (WES_WORKER_POOLS). Runs go to the pool of their engine or the one
 * they name (workflow_engine_parameters `wes:pool`), only that pool's workers take them, and
 * no worker runs more of a pool's runs at once than the pool allows.
 */
const POOLS_ENV: Record<string, string> = {
  ...FAST_RECOVERY_ENV,
  WES_POOL_SMALL_ENGINES: 'cwltool',
  WES_POOL_SMALL_CONCURRENCY: '1',
  WES_POOL_WIDE_ENGINES: 'cwltool',
  WES_POOL_WIDE_CONCURRENCY: '3',
  WES_POOL_IDLE_ENGINES: 'cwltool',
  WES_POOL_IDLE_CONCURRENCY: '1',
  WES_ENGINE_POOLS: 'cwltool=small',
};

/** A nap run (`sleep <seconds>`), in `pool` when given. */
function napIn(seconds: string, pool?: string): FormData {
  return runForm({
    workflow_url: 'nap.cwl',
    workflow_type: 'CWL',
    workflow_type_version: 'v1.1',
    workflow_params: { seconds },
    ...(pool ? { workflow_engine_parameters: { 'wes:pool': pool } } : {}),
    attachments: workflowFiles('nap.cwl'),
  });
}

describe('worker pools', () => {
  const h = useStack({ workers: 0, env: POOLS_ENV });
  let inspector: RunInspector;
  let smallWorker: ManagedProcess;
  let wideWorker: ManagedProcess;
  beforeAll(async () => {
    inspector = new RunInspector(h.stack);
    smallWorker = await h.stack.startWorker({ env: { WES_WORKER_POOLS: 'small' } });
    wideWorker = await h.stack.startWorker({ env: { WES_WORKER_POOLS: 'wide' } });
  });
  afterAll(() => inspector?.close());

  it('service-info lists each pool, its engines and its live workers (none for idle)', async () => {
    const info = await waitFor('both workers in service-info', async () => {
      const body = await h.client.getJson('/service-info');
      return body.worker_pools?.small?.live_workers === 1 && body.worker_pools?.wide?.live_workers === 1 ? body : undefined;
    });
    expect(info.worker_pools).toEqual({
      small: { engines: ['cwltool'], default_for: ['cwltool'], concurrency_per_worker: 1, live_workers: 1 },
      wide: { engines: ['cwltool'], default_for: [], concurrency_per_worker: 3, live_workers: 1 },
      idle: { engines: ['cwltool'], default_for: [], concurrency_per_worker: 1, live_workers: 0 },
    });
  });

  it('a pool that does not exist is a 400 naming the pools; wes:pool is not passed to the engine', async () => {
    const r = await h.client.submit(napIn('1', 'huge'));
    expect(r.status).toBe(400);
    expect(r.body.msg).toBe('workflow_engine_parameters: wes:pool: no pool "huge" (pools: small, wide, idle)');
    const id = await h.client.submitOk(napIn('0.1', 'wide'));
    expect(await waitTerminal(h.client, id)).toBe('COMPLETE');
    const log = await h.client.runLog(id);
    expect(log.request.workflow_engine_parameters ?? {}).toEqual({});
    expect(log.run_log.cmd.join(' ')).not.toContain('pool');
    expect((await inspector.record(id)).hash.pool).toBe('wide');
  });

  it("routes runs to their pool's workers, and no worker runs more of a pool's runs at once than its concurrency", async () => {
    const { client } = h;
    const small = await Promise.all([1, 2, 3].map(() => client.submitOk(napIn(uniqueSeconds(2)))));
    const wide = await Promise.all([1, 2, 3, 4, 5].map(() => client.submitOk(napIn(uniqueSeconds(2), 'wide'))));
    // Poll every run's record until all have ended: who holds each, and how many run at once.
    let maxSmall = 0;
    let maxWide = 0;
    const holders = new Map<string, Set<string>>();
    for (;;) {
      const records = await Promise.all([...small, ...wide].map(async (id) => ({ id, hash: (await inspector.record(id)).hash })));
      const held = records.filter((r) => ['INITIALIZING', 'RUNNING'].includes(r.hash.state));
      for (const r of held) (holders.get(r.id) ?? holders.set(r.id, new Set()).get(r.id)!).add(String(holderPid(r.hash)));
      maxSmall = Math.max(maxSmall, held.filter((r) => small.includes(r.id)).length);
      maxWide = Math.max(maxWide, held.filter((r) => wide.includes(r.id)).length);
      if (records.every((r) => ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'].includes(r.hash.state))) break;
      await sleep(50);
    }
    for (const id of [...small, ...wide]) expect(await client.status(id)).toBe('COMPLETE');
    for (const id of small) {
      expect((await inspector.record(id)).hash.pool).toBe('small');
      expect([...(holders.get(id) ?? [])]).toEqual([String(smallWorker.child.pid)]);
    }
    for (const id of wide) {
      expect((await inspector.record(id)).hash.pool).toBe('wide');
      expect([...(holders.get(id) ?? [])]).toEqual([String(wideWorker.child.pid)]);
    }
    console.log(`worker-pools: most runs at once: small ${maxSmall} (concurrency 1), wide ${maxWide} (concurrency 3)`);
    expect(maxSmall).toBe(1);
    expect(maxWide).toBeLessThanOrEqual(3);
    // Five runs queued at once for a worker taking three: it held more than one at a time.
    expect(maxWide).toBeGreaterThan(1);
  });

  it('a run of a pool without a live worker waits QUEUED in its queue; cancelling it removes its job from that queue', async () => {
    const id = await h.client.submitOk(napIn('1', 'idle'));
    const idleQueue = queueOf(h.stack, 'idle');
    const smallQueue = queueOf(h.stack, 'small');
    try {
      expect(await idleQueue.jobState(id)).toBe('waiting');
      expect(await smallQueue.jobState(id)).toBe('unknown');
      // The other pools' workers are idle and never take it.
      await sleep(1500);
      expect(await h.client.status(id)).toBe('QUEUED');
      expect((await h.client.getJson('/service-info')).worker_pools.idle.live_workers).toBe(0);
      expect((await h.client.cancel(id)).status).toBe(200);
      expect(await h.client.status(id)).toBe('CANCELED');
      expect(await idleQueue.jobState(id)).toBe('unknown');
    } finally {
      await idleQueue.close();
      await smallQueue.close();
    }
  });

  it('a worker SIGKILLed in a pool has its run queued again in that pool, and a worker of that pool ends it', async () => {
    const { client, stack } = h;
    const seconds = uniqueSeconds(5);
    const id = await client.submitOk(napIn(seconds, 'wide'));
    await waitEngineRunning(client, inspector, id, seconds, 1);
    expect(holderPid((await inspector.record(id)).hash)).toBe(wideWorker.child.pid);
    // Another worker of the pool, to take the run again.
    const second = await stack.startWorker({ env: { WES_WORKER_POOLS: 'wide' } });
    await stack.kill(wideWorker);
    const rec = await waitFor(
      'the lost attempt to be queued again',
      async () => {
        const r = await inspector.record(id);
        return r.systemLogs.some((l) => /attempt 1 of 3 lost while RUNNING.*queued again in pool wide/.test(l)) ? r : undefined;
      },
      15_000,
      50,
    );
    expect(rec.hash.pool).toBe('wide');
    expect(await waitTerminal(client, id, 60_000)).toBe('COMPLETE');
    const after = await inspector.record(id);
    expect(after.hash.attempt).toBe('2');
    expect(holderPid(after.hash)).toBe(second.child.pid);
  });

  it('a worker refuses to start for a pool that does not exist, saying which', async () => {
    const w = await h.stack.startWorker({ env: { WES_WORKER_POOLS: 'small,huge' }, waitReady: false });
    const { code } = await h.stack.waitExit(w, 30_000);
    expect(code).toBe(2);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(w.logFile, 'utf8')).toContain('invalid setting WES_WORKER_POOLS=small,huge: no pool "huge" (pools: small, wide, idle)');
  });
});

describe('graceful shutdown of a worker serving two pools', () => {
  const h = useStack({ workers: 0, env: { ...POOLS_ENV, WES_DRAIN_MS: '500' } });

  it("hands each run back to its own pool's queue, where only that pool's workers take it", async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    const smallQueue = queueOf(stack, 'small');
    const wideQueue = queueOf(stack, 'wide');
    try {
      const both = await stack.startWorker({ env: { WES_WORKER_POOLS: 'small,wide' } });
      const [smallSeconds, wideSeconds] = [uniqueSeconds(6), uniqueSeconds(6)];
      const inSmall = await client.submitOk(napIn(smallSeconds));
      const inWide = await client.submitOk(napIn(wideSeconds, 'wide'));
      await waitEngineRunning(client, inspector, inSmall, smallSeconds, 1);
      await waitEngineRunning(client, inspector, inWide, wideSeconds, 1);
      stack.signal(both, 'SIGTERM');
      const exit = await stack.waitExit(both, 20_000);
      // Nest's shutdown hooks may re-raise the signal once they are done: a clean exit either way.
      expect(exit.code === 0 || (exit.code === null && exit.signal === 'SIGTERM'), JSON.stringify(exit)).toBe(true);
      for (const id of [inSmall, inWide]) {
        const rec = await inspector.record(id);
        expect(rec.hash.state).toBe('QUEUED');
        expect(rec.systemLogs.join('\n')).toMatch(/handed back to the queue/);
      }
      expect(await smallQueue.jobState(inSmall)).toBe('waiting');
      expect(await wideQueue.jobState(inWide)).toBe('waiting');
      expect(await wideQueue.jobState(inSmall)).toBe('unknown');
      // A worker of wide ends the wide run; the small one waits for a worker of small.
      const wide = await stack.startWorker({ env: { WES_WORKER_POOLS: 'wide' } });
      expect(await waitTerminal(client, inWide, 60_000)).toBe('COMPLETE');
      expect(holderPid((await inspector.record(inWide)).hash)).toBe(wide.child.pid);
      expect(await client.status(inSmall)).toBe('QUEUED');
      const small = await stack.startWorker({ env: { WES_WORKER_POOLS: 'small' } });
      expect(await waitTerminal(client, inSmall, 60_000)).toBe('COMPLETE');
      expect(holderPid((await inspector.record(inSmall)).hash)).toBe(small.child.pid);
    } finally {
      await smallQueue.close();
      await wideQueue.close();
      inspector.close();
    }
  });
});
