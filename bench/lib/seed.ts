/**
 * Puts many finished runs straight into Redis through the product's own state machine (the
 * same Lua scripts the API and the workers run: enqueue, initialize, run, complete), with the
 * fields a real small run has. Run ids are UUIDv7 drawn in order, so the index stays
 * time-ordered exactly as the API's would.
 */
import type { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { WorkerRegistry } from '../../libs/queue/src';
import { RunKeys, WorkflowStateMachine, encodeCommand, encodeRunRequest, formatWorkerId } from '../../libs/runs/src';

/** The one tag every seeded run carries, as a `tag=` filter names it (key:value). */
export const SEED_TAG = 'bench:seed';

export const SMALL_REQUEST = {
  workflow_params: { message: 'hello' },
  workflow_type: 'CWL',
  workflow_type_version: 'v1.2',
  tags: Object.fromEntries([SEED_TAG.split(':')]) as Record<string, string>,
  workflow_engine_parameters: {},
  workflow_url: 'hello.cwl',
};

/**
 * SMALL_REQUEST's fields as the API records them (runs.service.ts submit): the request apart
 * from its tags; no `workflow` (it is the workflow_url) and no `job` (its id is the run's).
 */
function recordedRequest(): { request: string; tags: string } {
  return { request: encodeRunRequest(SMALL_REQUEST), tags: JSON.stringify(SMALL_REQUEST.tags) };
}

/** The command line a worker records for a run (as RunExecutor builds it), with a realistic scratch path. */
export function realisticCmd(runId: string, workDir = '/var/lib/wes/work'): string {
  const s = `${workDir}/${runId}-Ab3xYz`;
  const cmd = ['cwltool', '--disable-color', '--outdir', `${s}/outputs`, '--tmpdir-prefix', `${s}/tmp/`, '--tmp-outdir-prefix', `${s}/tmp/`];
  return encodeCommand([...cmd, `${s}/attachments/hello.cwl`, `${s}/attachments/wes-params.json`], s);
}

/** The output object a worker stores for the hello run (one File, location rewritten to the store). */
export const REALISTIC_OUTPUTS = JSON.stringify({
  out: { location: 'wes-output:hello.txt', basename: 'hello.txt', class: 'File', checksum: 'sha1$f572d396fae9206628714fb2ce00f72e94f2258f', size: 6 },
});

export interface SeedOptions {
  /** Runs created per batch (their commands are in flight together on one connection: pipelined). */
  batch?: number;
  /** Take the runs all the way to COMPLETE (else they stay QUEUED). */
  finish?: boolean;
  onProgress?: (done: number) => void;
}

/** Creates `n` runs; returns their ids, oldest first. */
export async function seedRuns(redis: Redis, prefix: string, n: number, o: SeedOptions = {}): Promise<string[]> {
  const keys = new RunKeys(prefix);
  const sm = new WorkflowStateMachine(redis, keys);
  const batch = o.batch ?? 2000;
  const { request, tags } = recordedRequest();
  const all: string[] = [];
  // A worker id as workers make them (its host and pid are read from it).
  const holder = { worker: formatWorkerId('bench-host', 4242, '1a2b3c'), host: 'bench-host', wpid: '4242' };
  // The runs pass through RUNNING held by this made-up worker: it is announced (as a live
  // worker would be), else a reaper sweeping meanwhile would rightly settle them as lost.
  const registry = new WorkerRegistry(redis, keys, 3_600_000);
  const info = { workerId: holder.worker, host: holder.host, pid: 4242, startedAt: new Date().toISOString(), concurrency: 1, engines: { cwltool: 'seed' } };
  if (o.finish !== false) await registry.announce(info);
  for (let i = 0; i < n; i += batch) {
    const ids = Array.from({ length: Math.min(batch, n - i) }, () => uuidv7());
    const created = await Promise.all(
      ids.map((id) => sm.enqueue(id, { request, tags, engine: 'cwltool', attachments: '["hello.cwl"]' })),
    );
    if (created.some((c) => !c)) throw new Error('seed: a run id was taken');
    if (o.finish !== false) {
      await Promise.all(ids.map((id) => sm.sendOrThrow(id, 'initialize', { fields: holder })));
      await Promise.all(ids.map((id) => sm.sendOrThrow(id, 'run', { fields: { cmd: realisticCmd(id) } })));
      const pipe = redis.pipeline();
      ids.forEach((id, k) => pipe.hset(keys.run(id), 'pgid', String(100_000 + ((i + k) % 900_000))));
      await pipe.exec();
      await Promise.all(ids.map((id) => sm.sendOrThrow(id, 'complete', { fields: { exit_code: '0', outputs: REALISTIC_OUTPUTS } })));
    }
    all.push(...ids);
    o.onProgress?.(all.length);
  }
  if (o.finish !== false) await registry.withdraw(holder.worker);
  return all;
}

/** A simulated worker of scenario 12: its id, host and pid as a run record holds them. */
export interface SimulatedWorker {
  workerId: string;
  host: string;
  pid: number;
}

/**
 * Creates `n` RUNNING runs held by `workers` (round robin), through the product's state machine
 * (enqueue, initialize with the holder's fields, run), and announces each worker with a
 * heartbeat record through WorkerRegistry (TTL `ttlMs`), as a live worker would. Returns the ids
 * each worker holds.
 */
export async function seedHeldRuns(redis: Redis, prefix: string, n: number, workers: SimulatedWorker[], ttlMs: number): Promise<Map<string, string[]>> {
  const keys = new RunKeys(prefix);
  const sm = new WorkflowStateMachine(redis, keys);
  const registry = new WorkerRegistry(redis, keys, ttlMs);
  for (const w of workers) {
    await registry.announce({ workerId: w.workerId, host: w.host, pid: w.pid, startedAt: new Date().toISOString(), concurrency: Math.ceil(n / workers.length), engines: { cwltool: 'seed' } });
  }
  const { request, tags } = recordedRequest();
  const held = new Map<string, string[]>(workers.map((w) => [w.workerId, []]));
  const batch = 2000;
  for (let i = 0; i < n; i += batch) {
    const ids = Array.from({ length: Math.min(batch, n - i) }, () => uuidv7());
    const created = await Promise.all(
      ids.map((id) => sm.enqueue(id, { request, tags, engine: 'cwltool', attachments: '["hello.cwl"]' })),
    );
    if (created.some((c) => !c)) throw new Error('seed: a run id was taken');
    const holderOf = (k: number) => workers[(i + k) % workers.length];
    await Promise.all(
      ids.map((id, k) => {
        const w = holderOf(k);
        return sm.sendOrThrow(id, 'initialize', { fields: { worker: w.workerId, host: w.host, wpid: String(w.pid) } });
      }),
    );
    await Promise.all(ids.map((id) => sm.sendOrThrow(id, 'run', { fields: { cmd: realisticCmd(id) } })));
    ids.forEach((id, k) => held.get(holderOf(k).workerId)!.push(id));
  }
  return held;
}
