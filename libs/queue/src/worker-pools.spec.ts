import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { InvalidSettingError, loadSettings } from '../../config/src';
import { ENGINE_NAMES } from '../../engines/src/engine-catalog';
import { RunKeys } from '../../runs/src/run-keys';
import { RunQueues } from './run-queue';
import { WorkerRegistry } from './worker-registry';
import { DEFAULT_POOL, PoolChoiceError, WorkerPools } from './worker-pools';

const TWO_POOLS = {
  WES_QUEUE_NAME: 'q',
  WES_POOL_SMALL_ENGINES: 'cwltool',
  WES_POOL_SMALL_CONCURRENCY: '1',
  WES_POOL_WIDE_ENGINES: 'cwltool',
  WES_POOL_WIDE_CONCURRENCY: '3',
  WES_POOL_WIDE_MAX_ATTEMPTS: '5',
};

function choiceError(pools: WorkerPools, engine: string, requested?: string): string {
  try {
    pools.choose(engine, requested);
  } catch (err) {
    expect(err).toBeInstanceOf(PoolChoiceError);
    return (err as Error).message;
  }
  throw new Error(`choose(${engine}, ${requested}) accepted`);
}

function settingError(make: () => unknown): string {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidSettingError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('WorkerPools', () => {
  it('without pools: one pool `default` on the queue of before pools, with every engine and the worker settings', () => {
    const pools = new WorkerPools(loadSettings({ WES_QUEUE_NAME: 'wes-runs-x', WES_WORKER_CONCURRENCY: '7', WES_JOB_LOCK_MS: '9000', WES_MAX_ATTEMPTS: '4' }));
    expect(pools.all).toEqual([
      { name: DEFAULT_POOL, queueName: 'wes-runs-x', concurrency: 7, engines: ENGINE_NAMES, jobLockMs: 9000, maxAttempts: 4, engineOptions: {}, implicit: true },
    ]);
    expect(pools.choose('cwltool')).toBe(DEFAULT_POOL);
    expect(pools.ofRun(undefined)?.name).toBe(DEFAULT_POOL);
    expect(pools.servedBy('')).toEqual(pools.all);
  });

  it('configured pools: a queue each, the deployment settings for fields left out, the first pool running an engine as its default', () => {
    const pools = new WorkerPools(loadSettings({ ...TWO_POOLS, WES_JOB_LOCK_MS: '8000', WES_MAX_ATTEMPTS: '2' }));
    expect(pools.names).toEqual(['small', 'wide']);
    expect(pools.get('small')).toEqual({ name: 'small', queueName: 'q-small', concurrency: 1, engines: ['cwltool'], jobLockMs: 8000, maxAttempts: 2, engineOptions: {}, implicit: false });
    expect(pools.get('wide')).toMatchObject({ queueName: 'q-wide', concurrency: 3, maxAttempts: 5 });
    expect(pools.get(DEFAULT_POOL)).toBeUndefined();
    expect(pools.choose('cwltool')).toBe('small');
    expect(pools.choose('cwltool', 'wide')).toBe('wide');
    // A pool named `default` keeps the queue of before pools.
    expect(new WorkerPools(loadSettings({ WES_QUEUE_NAME: 'q', WES_POOL_DEFAULT_ENGINES: 'cwltool', WES_POOL_DEFAULT_CONCURRENCY: '1' })).get(DEFAULT_POOL)?.queueName).toBe('q');
  });

  it('enginePools names an engine default explicitly', () => {
    expect(new WorkerPools(loadSettings({ ...TWO_POOLS, WES_ENGINE_POOLS: 'cwltool=wide' })).choose('cwltool')).toBe('wide');
  });

  it('routing refuses a pool that does not exist, one that does not run the engine, and an engine no pool runs', () => {
    const pools = new WorkerPools(loadSettings(TWO_POOLS));
    expect(choiceError(pools, 'cwltool', 'huge')).toBe('no pool "huge" (pools: small, wide)');
    expect(choiceError(pools, 'cwltool', 'constructor')).toContain('no pool "constructor"');
    expect(choiceError(pools, 'toil-cwl', 'small')).toBe('pool small does not run toil-cwl (pools running it: none)');
    expect(choiceError(pools, 'toil-cwl')).toBe('no pool runs toil-cwl here (pools: small: cwltool; wide: cwltool)');
  });

  it("keeps a pool's engine options (YAML), and refuses an unknown engine or options its engine refuses, and a bad shape", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-pools-spec-'));
    const file = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return { WES_CONFIG_FILE: path.join(dir, name) };
    };
    try {
      const pool = (options: string) => `pools:\n  big:\n    engines: [snakemake]\n    concurrency: 1\n    engineOptions:\n${options}`;
      const pools = new WorkerPools(loadSettings(file('ok.yaml', pool('      snakemake:\n        cores: "8"\n'))));
      expect(pools.get('big')?.engineOptions).toEqual({ snakemake: { cores: '8' } });
      expect(settingError(() => new WorkerPools(loadSettings(file('e.yaml', pool('      snakemaker:\n        cores: "8"\n')))))).toContain('pools.big.engineOptions.snakemaker: no engine "snakemaker"');
      expect(settingError(() => new WorkerPools(loadSettings(file('c.yaml', pool('      snakemake:\n        cores: all\n')))))).toContain('pools.big.engineOptions.snakemake: cores');
      expect(settingError(() => loadSettings(file('s.yaml', pool('      snakemake:\n        cores: 8\n'))))).toContain('engineOptions: must map engine names to maps of option names to strings');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('start-up refuses an unknown engine in a pool, a bad enginePools entry, and a worker pool that does not exist', () => {
    expect(settingError(() => new WorkerPools(loadSettings({ WES_POOL_A_ENGINES: 'cwl-tool', WES_POOL_A_CONCURRENCY: '1' })))).toContain(
      'pools.a.engines: no engine "cwl-tool"',
    );
    expect(settingError(() => new WorkerPools(loadSettings({ ...TWO_POOLS, WES_ENGINE_POOLS: 'cwltool=huge' })))).toContain('no pool "huge"');
    expect(settingError(() => new WorkerPools(loadSettings({ ...TWO_POOLS, WES_ENGINE_POOLS: 'nope=small' })))).toContain('no engine "nope"');
    const pools = new WorkerPools(loadSettings(TWO_POOLS));
    expect(pools.servedBy('wide').map((p) => p.name)).toEqual(['wide']);
    expect(pools.servedBy('small, wide,small').map((p) => p.name)).toEqual(['small', 'wide']);
    expect(settingError(() => pools.servedBy('small,default'))).toBe('invalid setting WES_WORKER_POOLS=small,default: no pool "default" (pools: small, wide)');
  });
});

const r = usePrivateRedis();

describe('pools in Redis', () => {
  it('each pool has its own BullMQ queue under the prefix; a run queued in one is not in another', async () => {
    const prefix = `pools-${randomBytes(4).toString('hex')}`;
    const settings = loadSettings({ ...TWO_POOLS, WES_KEY_PREFIX: prefix });
    const queues = new RunQueues(r.redis, new WorkerPools(settings), settings);
    try {
      await queues.of('wide').enqueue('run-w');
      expect(await queues.of('wide').jobState('run-w')).toBe('waiting');
      expect(await queues.of('small').jobState('run-w')).toBe('unknown');
      expect(await r.redis.exists(`${new RunKeys(prefix).bullPrefix}:q-wide:run-w`)).toBe(1);
      expect(() => queues.of(undefined)).toThrow('no pool "default" is configured');
      expect(() => queues.of('gone')).toThrow('no pool "gone"');
    } finally {
      await queues.close();
    }
  });

  it('the registry records the pools each worker serves; per pool counts include pools no worker serves', async () => {
    const keys = new RunKeys(`reg-${randomBytes(4).toString('hex')}`);
    const registry = new WorkerRegistry(r.redis, keys, 60_000);
    const base = { host: 'h', pid: 1, startedAt: new Date().toISOString(), engines: { cwltool: '3.1' } };
    await registry.announce({ ...base, workerId: 'w1', concurrency: 1, pools: ['small'] });
    await registry.announce({ ...base, workerId: 'w2', concurrency: 4, pools: ['small', 'wide'] });
    // A worker of before pools serves `default`.
    await registry.announce({ ...base, workerId: 'w3', concurrency: 2 });
    const live = await registry.live();
    expect(live.find((w) => w.workerId === 'w2')?.pools).toEqual(['small', 'wide']);
    expect(WorkerRegistry.workersPerPool(live, ['small', 'wide', 'idle', DEFAULT_POOL])).toEqual({ small: 2, wide: 1, idle: 0, [DEFAULT_POOL]: 1 });
    await registry.withdraw('w2');
    expect(WorkerRegistry.workersPerPool(await registry.live(), ['small', 'wide'])).toEqual({ small: 1, wide: 0 });
  });
});
