import { InvalidSettingError, listSetting, WesSettings } from '../../config/src';
import { ENGINE_NAMES, ENGINES, EngineName, isEngineName } from '../../engines/src/engine-catalog';
import type { EngineDefinition } from '../../engines/src/engine-definition';

/** The pool of a deployment that configures none, and of runs recorded before pools existed. */
export const DEFAULT_POOL = 'default';

/**
 * The engine parameter (workflow_engine_parameters key) by which a client names its run's
 * pool. An execution parameter rather than a tag: tags are the client's labels and change
 * nothing, and no engine flag starts with `wes:`.
 */
export const POOL_PARAMETER = 'wes:pool';

/** One worker pool: a queue of its own, the engines whose runs it takes, and its workers' options. */
export interface PoolDefinition {
  name: string;
  /** Its BullMQ queue name (under the deployment's key prefix). */
  queueName: string;
  /** Runs one worker serving the pool takes from it at once. */
  concurrency: number;
  engines: readonly EngineName[];
  jobLockMs: number;
  /** Attempts a run of the pool gets under the requeue policy. */
  maxAttempts: number;
  /** Engine options of this pool's runs, over the worker's engineOptions (e.g. snakemake's cores). */
  engineOptions: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * The built-in pool of a deployment without `pools`: a worker serving it runs whichever of
   * its engines it found, as before pools; a worker serving a configured pool must run all.
   */
  implicit: boolean;
}

/** A client named a pool that does not exist or does not run its engine, or no pool runs the engine. */
export class PoolChoiceError extends Error {
  override name = 'PoolChoiceError';
}

/**
 * The pool `default` of a deployment without `pools`: every engine, on the queue queueName with
 * the worker settings of before pools, so nothing changes for it.
 */
export function defaultPoolOf(settings: WesSettings): PoolDefinition {
  return {
    name: DEFAULT_POOL,
    queueName: settings.queueName,
    concurrency: settings.workerConcurrency,
    engines: ENGINE_NAMES,
    jobLockMs: settings.jobLockMs,
    maxAttempts: settings.maxAttempts,
    engineOptions: {},
    implicit: true,
  };
}

/**
 * The deployment's pools, from the settings (`pools`, `enginePools`): the one table the API
 * (routing at submit, service-info), the workers (which queues they serve) and recovery (which
 * queue a lost run goes back to, how many attempts it has) read. Throws InvalidSettingError for
 * an engine or pool name that does not exist.
 */
export class WorkerPools {
  private readonly byName = new Map<string, PoolDefinition>();
  private readonly engineDefaults = new Map<EngineName, string>();

  constructor(settings: WesSettings) {
    const configured = Object.entries(settings.pools);
    if (configured.length === 0) this.byName.set(DEFAULT_POOL, defaultPoolOf(settings));
    for (const [name, pool] of configured) {
      for (const engine of pool.engines) {
        if (!isEngineName(engine)) throw new InvalidSettingError(`invalid setting pools.${name}.engines: no engine "${engine}" (known: ${ENGINE_NAMES.join(', ')})`);
      }
      for (const [engine, options] of Object.entries(pool.engineOptions ?? {})) {
        const where = `invalid setting pools.${name}.engineOptions.${engine}`;
        if (!isEngineName(engine)) throw new InvalidSettingError(`${where}: no engine "${engine}" (known: ${ENGINE_NAMES.join(', ')})`);
        const why = (ENGINES[engine] as EngineDefinition).checkOptions?.(options);
        if (why) throw new InvalidSettingError(`${where}: ${why}`);
      }
      this.byName.set(name, {
        name,
        // `default` keeps the queue of before pools: its waiting jobs stay taken after an upgrade.
        queueName: name === DEFAULT_POOL ? settings.queueName : `${settings.queueName}-${name}`,
        concurrency: pool.concurrency,
        engines: [...new Set(pool.engines)] as EngineName[],
        jobLockMs: pool.jobLockMs ?? settings.jobLockMs,
        maxAttempts: pool.maxAttempts ?? settings.maxAttempts,
        engineOptions: pool.engineOptions ?? {},
        implicit: false,
      });
    }
    for (const pool of this.byName.values()) for (const e of pool.engines) if (!this.engineDefaults.has(e)) this.engineDefaults.set(e, pool.name);
    for (const [engine, name] of Object.entries(settings.enginePools)) {
      const where = `invalid setting WES_ENGINE_POOLS (enginePools) ${engine}=${name}`;
      if (!isEngineName(engine)) throw new InvalidSettingError(`${where}: no engine "${engine}" (known: ${ENGINE_NAMES.join(', ')})`);
      const pool = this.byName.get(name);
      if (!pool) throw new InvalidSettingError(`${where}: no pool "${name}" (pools: ${this.names.join(', ')})`);
      if (!pool.engines.includes(engine)) throw new InvalidSettingError(`${where}: pool ${name} does not run ${engine} (it runs ${pool.engines.join(', ')})`);
      this.engineDefaults.set(engine, name);
    }
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get all(): PoolDefinition[] {
    return [...this.byName.values()];
  }

  get(name: string): PoolDefinition | undefined {
    return this.byName.get(name);
  }

  /** The pool of a run recorded with `pool` (none: recorded before pools, so `default`). */
  ofRun(pool: string | undefined): PoolDefinition | undefined {
    return this.byName.get(pool || DEFAULT_POOL);
  }

  /** The pool an engine's runs go to when the client names none, if any pool runs it. */
  defaultOf(engine: string): string | undefined {
    return isEngineName(engine) ? this.engineDefaults.get(engine) : undefined;
  }

  /**
   * The pool of a run of `engine`: the one the client named (it must exist and run the engine),
   * else the engine's default. Throws PoolChoiceError saying what is wrong.
   */
  choose(engine: string, requested?: string): string {
    if (requested !== undefined) {
      const pool = this.byName.get(requested);
      if (!pool) throw new PoolChoiceError(`no pool "${requested}" (pools: ${this.names.join(', ')})`);
      if (!(pool.engines as readonly string[]).includes(engine)) {
        throw new PoolChoiceError(`pool ${requested} does not run ${engine} (pools running it: ${this.runningEngine(engine).join(', ') || 'none'})`);
      }
      return requested;
    }
    const pool = this.defaultOf(engine);
    if (!pool) throw new PoolChoiceError(`no pool runs ${engine} here (pools: ${this.all.map((p) => `${p.name}: ${p.engines.join(', ')}`).join('; ')})`);
    return pool;
  }

  /** Pools that run `engine`. */
  runningEngine(engine: string): string[] {
    return this.all.filter((p) => (p.engines as readonly string[]).includes(engine)).map((p) => p.name);
  }

  /** The pools a worker serves (workerPools, WES_WORKER_POOLS; empty: every pool). Throws InvalidSettingError for an unknown one. */
  servedBy(workerPools: string): PoolDefinition[] {
    const names = listSetting(workerPools);
    if (names.length === 0) return this.all;
    return [...new Set(names)].map((name) => {
      const pool = this.byName.get(name);
      if (!pool) throw new InvalidSettingError(`invalid setting WES_WORKER_POOLS=${workerPools}: no pool "${name}" (pools: ${this.names.join(', ')})`);
      return pool;
    });
  }
}
