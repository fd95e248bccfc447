/**
 * Scenario 6, throughput: N runs of a no-op engine (WES_CWLTOOL_PATH=/bin/true, which also
 * answers --version) through 2 workers × concurrency 4, submitted by 8 concurrent clients;
 * runs/s from the first submit to the last COMPLETE (the state counters, polled every 10 ms).
 * Baseline: 2 bare BullMQ worker processes × concurrency 4 whose processor spawns `true`, fed
 * by 8 concurrent Queue.add callers; from the first add to the last processor done. Rounds
 * alternate.
 *
 * The first round of ours also measures Redis bytes per finished run made through the API
 * (scenario 8): used_memory before/after, less what BullMQ's event stream grew (it is capped
 * at ~10,000 events, so it does not grow with the number of runs).
 */
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { RunKeys, RunStore } from '../../libs/runs/src';
import { baselineQueue } from '../lib/baseline-queue';
import type { Bench, WesStack } from '../lib/harness';
import { deleteRun, helloSubmission, submit } from '../lib/fixtures';
import { describeHash, epochMs, folderBytes, row, say, ScenarioResult, sleep, usedMemory } from '../lib/util';

async function pool<T>(n: number, parallel: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** The pool and the load of scenario 6 (and of 13, which repeats it with and without the sandbox). */
export const THROUGHPUT_SHAPE = { processes: 2, concurrency: 4, clients: 8 } as const;

/** The no-op engine of scenario 6: `true` exits 0 at once, and answers --version too. */
export const NO_OP_ENGINE = '/bin/true';

export interface ThroughputTiming {
  rate: number;
  submitRate: number;
  seconds: number;
}

/**
 * Submits `runs` runs of `sub` from `clients` concurrent clients and waits until they are all
 * COMPLETE (the state counters, polled every 10 ms); runs/s from the first submit to the last
 * COMPLETE. Throws at the first run that fails.
 */
export async function runsThroughWes(
  b: Bench,
  stack: WesStack,
  sub: { body: Buffer; contentType: string },
  runs: number,
  clients: number,
): Promise<ThroughputTiming> {
  const countsKey = new RunKeys(stack.prefix).counts;
  const before = await b.redis.hgetall(countsKey);
  const doneBefore = Number(before.COMPLETE ?? 0);
  const badBefore = Number(before.EXECUTOR_ERROR ?? 0) + Number(before.SYSTEM_ERROR ?? 0);
  const t0 = epochMs();
  await pool(runs, clients, () => submit(stack.base, sub));
  const submitted = epochMs();
  const deadline = Date.now() + 600_000;
  for (;;) {
    const c = await b.redis.hgetall(countsKey);
    const bad = Number(c.EXECUTOR_ERROR ?? 0) + Number(c.SYSTEM_ERROR ?? 0) - badBefore;
    if (bad > 0) throw new Error(`throughput: ${bad} runs failed (see ${stack.workers[0].logFile})`);
    if (Number(c.COMPLETE ?? 0) - doneBefore >= runs) break;
    if (Date.now() > deadline) throw new Error('throughput: runs did not complete in 10 minutes');
    await sleep(10);
  }
  const t1 = epochMs();
  return { rate: (runs / (t1 - t0)) * 1000, submitRate: (runs / (submitted - t0)) * 1000, seconds: (t1 - t0) / 1000 };
}

export async function throughputScenario(b: Bench): Promise<ScenarioResult> {
  const n = b.full ? 2000 : 500;
  const rounds = 2;
  const { processes, concurrency, clients } = THROUGHPUT_SHAPE;
  const stack = await b.startWes('tput', {
    env: { WES_CWLTOOL_PATH: NO_OP_ENGINE, WES_WORKER_CONCURRENCY: String(concurrency) },
    workers: processes,
  });
  const baseQueueName = 'bbase-tput';
  const doneKey = 'bbase-tput:done';
  const baseWorkers = Array.from({ length: processes }, (_, i) =>
    b.startTs(`bullmq-tput-${i + 1}`, path.join(__dirname, '..', 'baselines', 'bullmq-worker.ts'), {
      REDIS_URL: b.redisUrl,
      BENCH_QUEUE: baseQueueName,
      BENCH_CONCURRENCY: String(concurrency),
      BENCH_MODE: 'spawn',
      BENCH_DONE_KEY: doneKey,
    }),
  );
  for (const w of baseWorkers) await b.waitLog(w, 'baseline worker ready');
  const queue = baselineQueue(b.redisUrl, baseQueueName, concurrency);
  const sub = helloSubmission('throughput');
  const eventsKey = `${stack.keys.bullPrefix}:${stack.queue}:events`;

  let footprint: Record<string, unknown> | undefined;
  // runs through WES deleted afterwards (scenario 8): what they leave behind
  const ours = async (record: boolean, runs: number) => {
    const mem0 = record ? await usedMemory(b.redis) : 0;
    const ev0 = record ? Number((await b.redis.memory('USAGE', eventsKey)) ?? 0) : 0;
    const keys = new RunKeys(stack.prefix);
    const store = new RunStore(b.redis, keys);
    const before = record ? new Set(await store.allRunIds()) : new Set<string>();
    const store0 = record ? folderBytes(stack.dataDir) : 0;
    const timing = await runsThroughWes(b, stack, sub, runs, clients);
    if (record) {
      // Jobs are removed as they finish, just after COMPLETE: give the last ones a moment.
      await sleep(1000);
      const mem1 = await usedMemory(b.redis);
      const ev1 = Number((await b.redis.memory('USAGE', eventsKey)) ?? 0);
      const sampleId = (await store.listPage(1)).rows[0].runId;
      footprint = {
        sampleRunHash: await describeHash(b.redis, stack.keys.run(sampleId)),
        sampleDocHash: await describeHash(b.redis, stack.keys.doc(sampleId)),
        runs,
        usedMemoryDelta: mem1 - mem0,
        eventStreamDelta: ev1 - ev0,
        bytesPerRun: Math.round((mem1 - mem0 - (ev1 - ev0)) / runs),
        bytesPerRunWithEvents: Math.round((mem1 - mem0) / runs),
        storeBytesPerRun: Math.round((folderBytes(stack.dataDir) - store0) / runs),
      };
      // Then deleted through the API (DELETE /runs/{id}): Redis and the store go back to
      // where they were before the round, but for sorted sets that grew past Redis's compact
      // encoding and stay in the larger one.
      const fresh = (await store.allRunIds()).filter((id) => !before.has(id));
      await pool(fresh.length, clients, async (i) => deleteRun(stack.base, fresh[i]));
      const mem2 = await usedMemory(b.redis);
      const ev2 = Number((await b.redis.memory('USAGE', eventsKey)) ?? 0);
      footprint.afterDelete = {
        deleted: fresh.length,
        redisBytesLeftPerRun: Math.round((mem2 - mem0 - (ev2 - ev0)) / fresh.length),
        storeBytesLeft: folderBytes(stack.dataDir) - store0,
      };
    }
    return timing;
  };
  const baseline = async (runs: number) => {
    const done0 = Number((await b.redis.get(doneKey)) ?? 0);
    const t0 = epochMs();
    await pool(runs, clients, async () => {
      const jobId = uuidv7();
      await queue.enqueue(jobId);
    });
    const submitted = epochMs();
    const deadline = Date.now() + 600_000;
    while (Number((await b.redis.get(doneKey)) ?? 0) - done0 < runs) {
      if (Date.now() > deadline) throw new Error('throughput baseline: jobs did not finish in 10 minutes');
      await sleep(10);
    }
    const t1 = epochMs();
    return { rate: (runs / (t1 - t0)) * 1000, submitRate: (runs / (submitted - t0)) * 1000, seconds: (t1 - t0) / 1000 };
  };

  // Warm-up: 40 of each.
  await ours(false, 40);
  await baseline(40);
  const results = { ours: [] as Awaited<ReturnType<typeof ours>>[], baseline: [] as Awaited<ReturnType<typeof baseline>>[] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['ours', 'baseline'] as const) : (['baseline', 'ours'] as const);
    for (const w of order) {
      const res = w === 'ours' ? await ours(results.ours.length === 0, n) : await baseline(n);
      results[w].push(res);
      say(`  throughput ${w.padEnd(8)} round ${r + 1}: ${res.rate.toFixed(1)} runs/s (${n} in ${res.seconds.toFixed(1)} s; submitted at ${res.submitRate.toFixed(0)}/s)`);
    }
  }
  await queue.close();
  for (const w of baseWorkers) await w.stop(5000);
  await stack.stop();
  const mean = (xs: { rate: number }[]) => xs.reduce((a, x) => a + x.rate, 0) / xs.length;
  const o = mean(results.ours);
  const bl = mean(results.baseline);
  return {
    rows: [
      row({
        id: '6',
        scenario: `throughput, ${n} no-op runs, ${processes} workers × ${concurrency}${b.full ? '' : ' (quick: 500 runs)'}`,
        unit: 'runs/s',
        ours: o,
        baseline: bl,
        goal: '≥ 0.7×',
        met: o / bl >= 0.7,
      }),
    ],
    details: { runs: n, rounds, processes, concurrency, clients, ours: results.ours, baseline: results.baseline, footprintViaApi: footprint },
  };
}
