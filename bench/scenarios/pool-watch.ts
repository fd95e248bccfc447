/**
 * Scenario 12, watching a big pool: N RUNNING runs held by 50 simulated workers (run records
 * written through the state machine, heartbeat records through WorkerRegistry: see
 * seedHeldRuns), then the Redis commands of
 *
 *   - one reaper sweep (RunRecovery.sweep: the workers holding runs and their heartbeats read,
 *     the held-run sets of lost ones only, old QUEUED runs checked), and
 *   - one worker's own periodic work: its heartbeat (WorkerRegistry.announce) and its orphan
 *     check (RunRecovery.settleOrphansOf: runs recorded as its own that it no longer executes),
 *     both run every reaperIntervalMs / heartbeatMs by each worker,
 *
 * counted with MONITOR (lib/monitor.ts) on a connection of their own, at N = 10,000 (the
 * scenario) and N = 1,000 (the baseline), in the same run. A worker's cost should grow with its
 * own runs only (it reads its own set of held runs); the sweep's with the number of workers and
 * the lost workers' runs (none here). The runs go through the product's scripts (seedHeldRuns),
 * so the held-run sets are filled as a live pool's are.
 * The simulated workers live on a made-up host, so the recovery never probes their pids.
 */
import { Redis } from 'ioredis';
import { loadSettings, SETTING_SOURCES } from '../../libs/config/src';
import { createLogger } from '../../libs/logging/src';
import { RunQueues, WorkerPools, WorkerRegistry } from '../../libs/queue/src';
import type { RunRecovery as RunRecoveryClass } from '../../libs/recovery/src';
import { RunKeys, RunStore, WorkflowStateMachine } from '../../libs/runs/src';
import type { Bench } from '../lib/harness';
import { requireWithEsm } from '../lib/esm-interop';
import { CommandCount, countCommands } from '../lib/monitor';
import { seedHeldRuns, SimulatedWorker } from '../lib/seed';
import { row, say, ScenarioResult } from '../lib/util';

const WORKERS = 50;
const CONNECTION = 'bench-pool-watch';

interface PoolCosts {
  runs: number;
  workers: number;
  sweep: CommandCount & { ms: number; swept: boolean };
  ownCheck: CommandCount & { ms: number };
  heartbeat: CommandCount;
}

async function measurePool(b: Bench, runs: number): Promise<PoolCosts> {
  const prefix = `b-pool-${runs}`;
  const keys = new RunKeys(prefix);
  // The same settings a worker of this pool would load (key prefix, intervals, loss policy).
  const settings = loadSettings({ REDIS_URL: b.redisUrl, [SETTING_SOURCES.keyPrefix.env!]: prefix, [SETTING_SOURCES.queueName.env!]: `${prefix}-runs` });
  const redis = new Redis(b.redisUrl, { maxRetriesPerRequest: null, connectionName: CONNECTION });
  const workers: SimulatedWorker[] = Array.from({ length: WORKERS }, (_, i) => ({ workerId: `sim-${i}`, host: 'bench-simulated-host', pid: 10_000 + i }));
  const ttlMs = 3_600_000;
  const t0 = Date.now();
  const held = await seedHeldRuns(redis, prefix, runs, workers, ttlMs);
  say(`  pool watch: ${runs} runs held by ${WORKERS} simulated workers written in ${Date.now() - t0} ms`);
  const sm = new WorkflowStateMachine(redis, keys);
  const store = new RunStore(redis, keys);
  const registry = new WorkerRegistry(redis, keys, ttlMs);
  const queues = new RunQueues(redis, new WorkerPools(settings), settings);
  // libs/recovery imports libs/engines, which imports execa (an ES module only): see esm-interop.ts.
  const { RunRecovery } = await requireWithEsm(['execa'], () => require('../../libs/recovery/src') as { RunRecovery: typeof RunRecoveryClass });
  const recovery = new RunRecovery(settings, sm, store, registry, queues, redis, keys, createLogger('bench-pool-watch', 'silent'));
  try {
    // Warm up (scripts loaded, connections of BullMQ made) outside the counts.
    await recovery.sweep();
    const me = workers[0];
    const mine = new Set(held.get(me.workerId));
    await recovery.settleOrphansOf(me.workerId, (id) => mine.has(id));

    let sweepMs = 0;
    let swept = false;
    const sweep = await countCommands(b.redisUrl, [CONNECTION], 1, async () => {
      const s = performance.now();
      swept = (await recovery.sweep()).swept;
      sweepMs = performance.now() - s;
    });
    let ownMs = 0;
    const ownCheck = await countCommands(b.redisUrl, [CONNECTION], 1, async () => {
      const s = performance.now();
      const outcomes = await recovery.settleOrphansOf(me.workerId, (id) => mine.has(id));
      ownMs = performance.now() - s;
      if (outcomes.some((o) => o !== 'untouched')) throw new Error('pool watch: the orphan check settled a run that is held');
    });
    const heartbeat = await countCommands(b.redisUrl, [CONNECTION], 1, () =>
      registry.announce({ workerId: me.workerId, host: me.host, pid: me.pid, startedAt: new Date().toISOString(), concurrency: 1, engines: { cwltool: 'seed' } }),
    );
    // Nothing may have been settled: every holder is alive.
    const stillRunning = await redis.zcard(keys.inState('RUNNING'));
    if (stillRunning !== runs) throw new Error(`pool watch: ${runs - stillRunning} runs were settled by the sweep though their workers are alive`);
    return {
      runs,
      workers: WORKERS,
      sweep: { ...sweep, ms: Math.round(sweepMs * 10) / 10, swept },
      ownCheck: { ...ownCheck, ms: Math.round(ownMs * 10) / 10 },
      heartbeat,
    };
  } finally {
    await queues.close();
    // The runs are left to no one: remove this prefix's keys (the pool's runs are the only keys under it).
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (found.length) await redis.unlink(...found);
    } while (cursor !== '0');
    redis.disconnect();
  }
}

export async function poolWatchScenario(b: Bench): Promise<ScenarioResult> {
  // 10,000 in both modes: seeding them takes a few seconds.
  const big = 10_000;
  const small = 1_000;
  const atSmall = await measurePool(b, small);
  const atBig = await measurePool(b, big);
  for (const p of [atSmall, atBig]) {
    say(`  pool watch at ${p.runs} runs: sweep ${p.sweep.totalPerOp} commands (${p.sweep.ms} ms), a worker's own check ${p.ownCheck.totalPerOp} + heartbeat ${p.heartbeat.totalPerOp} commands (${p.ownCheck.ms} ms)`);
  }
  const perWorker = (p: PoolCosts) => p.ownCheck.totalPerOp + p.heartbeat.totalPerOp;
  const label = (n: number) => `${n / 1000}k`;
  return {
    rows: [
      row({
        id: '12',
        scenario: `pool of ${WORKERS} workers: Redis commands per worker's own check + heartbeat, ${label(big)} runs held vs ${label(small)}`,
        unit: 'cmds',
        ours: perWorker(atBig),
        baseline: perWorker(atSmall),
        goal: '≤ 1.2×',
        met: perWorker(atBig) / perWorker(atSmall) <= 1.2,
        note: `own check ${atBig.ownCheck.ms} ms vs ${atSmall.ownCheck.ms} ms; ${atBig.runs / WORKERS} runs per worker vs ${atSmall.runs / WORKERS}`,
      }),
      row({
        id: '12',
        scenario: `pool of ${WORKERS} workers: Redis commands per reaper sweep, ${label(big)} runs held vs ${label(small)}`,
        unit: 'cmds',
        ours: atBig.sweep.totalPerOp,
        baseline: atSmall.sweep.totalPerOp,
        goal: '— (measured)',
        met: null,
        note: `sweep ${atBig.sweep.ms} ms vs ${atSmall.sweep.ms} ms`,
      }),
    ],
    details: { workers: WORKERS, atSmall, atBig },
  };
}
