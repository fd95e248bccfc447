import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { WesSettings } from '../../../libs/config/src';
import { engineLauncher, EngineToRun, enginesToRun, InvalidEngineSettingError, readEngineVersion, runFolders } from '../../../libs/engines/src';
import type { Logger } from '../../../libs/logging/src';
import { LOGGER, REDIS } from '../../../libs/platform/src';
import { watchRedisConnection, WesMetrics } from '../../../libs/metrics/src';
import { closeRedis, isJobLockLost, PoolDefinition, RunQueues, RunQueueWorker, SHUTDOWN_REDIS_WAIT_MS, WorkerInfo, WorkerRegistry, within } from '../../../libs/queue/src';
import { Reaper, RunRecovery } from '../../../libs/recovery/src';
import { RunKeys } from '../../../libs/runs/src';
import { prepareSandbox, sandboxed, sandboxSettingsOf } from './engine-sandbox';
import { RunExecutor } from './run-executor';
import { WORKER_ID } from './worker-identity';

/** A failure to reach Redis (refused, reset, timed out, closed), not one of the queue's own. */
function isConnectionError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code ?? '') || err.message === 'Connection is closed.';
}

/** A worker that cannot run any engine would fail every run: it refuses to start instead. */
export class NoEngineError extends Error {
  override name = 'NoEngineError';
}

/**
 * The pools this worker serves, each of whose engines it must run: otherwise runs of that
 * pool would fail here while another worker could have run them. Throws NoEngineError saying which.
 */
export function checkPoolsRunnable(pools: PoolDefinition[], engines: Record<string, string>): void {
  for (const pool of pools) {
    if (pool.implicit) continue;
    const missing = pool.engines.filter((e) => !(e in engines));
    if (missing.length) {
      throw new NoEngineError(
        `pool ${pool.name} runs ${missing.join(', ')}, which this worker cannot run (it runs ${Object.keys(engines).join(', ') || 'nothing'}): ` +
          'install it, or leave the pool out of WES_WORKER_POOLS',
      );
    }
  }
}

/**
 * Hosts the queue workers of this process, one per pool it serves (WES_WORKER_POOLS, each with
 * the pool's concurrency). On start it detects its engines' versions, checks it runs those of its
 * pools, settles runs a dead predecessor on this host left, announces itself and its pools
 * (service-info lists what live workers detected), subscribes to cancel broadcasts, starts its
 * share of the reaper, and only then takes jobs. On SIGTERM it stops taking jobs from every
 * pool, lets running ones go on for drainMs, then hands the rest back to their pool's queue (or
 * cancels them), closes its queue workers before the queues, and closes its engine launcher,
 * which kills any engine still left: no engine outlives its worker.
 */
@Injectable()
export class WorkerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private workers: RunQueueWorker[] = [];
  private subscriber?: Redis;
  private heartbeat?: NodeJS.Timeout;
  private orphanCheck?: NodeJS.Timeout;
  private reaper?: Reaper;
  /** Engines detected and queue workers started: the worker takes runs. */
  private taking = false;
  /** SIGTERM heard: no new runs, the running ones drain. */
  private draining = false;
  private markStopped!: () => void;
  /** Resolves when the shutdown (drain included) is over. */
  readonly stopped = new Promise<void>((resolve) => (this.markStopped = resolve));

  constructor(
    private readonly settings: WesSettings,
    private readonly executor: RunExecutor,
    private readonly registry: WorkerRegistry,
    private readonly recovery: RunRecovery,
    private readonly queues: RunQueues,
    private readonly keys: RunKeys,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(WORKER_ID) private readonly workerId: string,
    private readonly metrics: WesMetrics,
  ) {}

  /** The worker's own readiness checks (/readyz): engines detected, not draining. */
  readinessChecks(): Record<string, string> {
    return {
      engines: this.taking || this.draining ? 'ok' : 'engines not detected yet',
      draining: this.draining ? 'draining: shutting down, taking no new runs' : 'ok',
    };
  }

  async onApplicationBootstrap() {
    const pools = this.queues.pools.servedBy(this.settings.workerPools);
    const engines = await this.detectEngines();
    checkPoolsRunnable(pools, engines);
    this.executor.setRunnableEngines(Object.keys(engines));
    // Started before the first job: no run waits for its start.
    engineLauncher.start();
    const info: WorkerInfo = {
      workerId: this.workerId,
      host: hostname(),
      pid: process.pid,
      startedAt: new Date().toISOString(),
      concurrency: pools.reduce((n, p) => n + p.concurrency, 0),
      pools: pools.map((p) => p.name),
      engines,
    };
    await this.registry.announce(info);
    this.heartbeat = setInterval(() => {
      this.registry.announce(info).catch((err) => this.logger.warn({ err }, 'heartbeat failed'));
    }, this.settings.heartbeatMs);

    const settled = (await this.recovery.reconcileHost(this.workerId)).filter((o) => o !== 'untouched');
    if (settled.length) this.logger.warn({ settled }, 'start-up: settled runs a dead worker on this host left');

    // BullMQ reports each failed reconnection of its connections: say so once per outage.
    let redisLost = false;
    this.redis.on('ready', () => (redisLost = false));
    this.workers = pools.map((pool) =>
      this.queues.of(pool.name).createWorker(
        (runId, abort) => this.executor.execute(runId, abort),
        (err) => {
          if (isJobLockLost(err)) {
            return this.logger.warn({ err: err.message, pool: pool.name }, 'queue worker: a job this worker no longer held was not moved on (its lock had lapsed and it was delivered again): its run is left to the state machine');
          }
          if (!isConnectionError(err)) return this.logger.error({ err, pool: pool.name }, 'queue worker error');
          if (!redisLost) this.logger.warn({ err: err.message, pool: pool.name }, 'queue worker: Redis unreachable, reconnecting');
          redisLost = true;
        },
        (connection) => watchRedisConnection(this.metrics, connection, 'bull'),
      ),
    );
    this.metrics.collect('workerSlots', (set) => {
      const busy = this.executor.activeRunIds.length;
      set({ status: 'busy' }, busy);
      set({ status: 'free' }, Math.max(0, info.concurrency - busy));
    });

    this.subscriber = this.redis.duplicate({ connectionName: 'wes-worker-cancel' });
    // ioredis reconnects by itself; without a listener its connection errors would be "unhandled".
    this.subscriber.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'cancel subscriber: Redis connection error'));
    watchRedisConnection(this.metrics, this.subscriber, 'cancel');
    await this.subscriber.subscribe(this.keys.cancelChannel);
    this.subscriber.on('message', (_channel: string, runId: string) => {
      // Only the worker holding the run has something to interrupt; the others ignore it.
      if (this.executor.interrupt(runId, 'cancel')) this.logger.info({ runId }, 'cancel received');
    });

    this.reaper = new Reaper(this.recovery, this.settings.reaperIntervalMs, this.logger);
    this.reaper.start();
    this.orphanCheck = setInterval(() => {
      this.recovery
        .settleOrphansOf(this.workerId, (runId) => this.executor.holds(runId))
        .then((o) => o.some((x) => x !== 'untouched') && this.logger.warn({ settled: o }, 'settled runs this worker had dropped'))
        .catch((err) => this.logger.warn({ err }, 'orphan check failed'));
    }, this.settings.reaperIntervalMs);
    this.workers.forEach((w) => w.start());
    this.taking = !this.draining;
    this.logger.info(
      {
        workerId: this.workerId,
        engines: info.engines,
        pools: Object.fromEntries(pools.map((p) => [p.name, { concurrency: p.concurrency, engines: p.engines }])),
        sandbox: this.settings.sandbox,
      },
      'worker taking runs',
    );
  }

  /**
   * Asks each engine it is to run (the engine table, filtered by WES_ENGINES) its version the
   * way runs will start it: in its sandbox. A worker whose sandbox cannot start, or one of whose
   * required engines is not visible inside it, or which can run no engine, refuses to start.
   */
  private async detectEngines(): Promise<Record<string, string>> {
    const engines: Record<string, string> = {};
    const sandbox = sandboxSettingsOf(this.settings);
    if (sandbox.kind === 'none') {
      this.logger.warn('WES_SANDBOX=none: engines run as plain children of the worker, so any workflow can read its secrets and reach Redis; only for a trusted single-user machine');
    }
    let toRun: EngineToRun[];
    try {
      toRun = enginesToRun(this.settings);
    } catch (err) {
      if (err instanceof InvalidEngineSettingError) throw new NoEngineError(err.message);
      throw err;
    }
    await mkdir(this.settings.workDir, { recursive: true });
    const root = await mkdtemp(path.join(path.resolve(this.settings.workDir), 'engine-check-'));
    const failures: string[] = [];
    try {
      const folders = runFolders(root);
      await Promise.all([folders.attachments, folders.inputs, folders.outputs, folders.tmp].map((d) => mkdir(d)));
      await prepareSandbox(folders, sandbox).catch((err) => {
        throw new NoEngineError(`the engines' sandbox cannot be prepared: ${(err as Error).message}`);
      });
      for (const { name, engine, executable, setting, variable, required, leftOut } of toRun) {
        if (leftOut) {
          failures.push(leftOut);
          this.logger.warn({ engine: name }, `engine left out: ${leftOut}`);
          continue;
        }
        try {
          const { command, env } = sandboxed({ file: executable, args: [...engine.versionArgs] }, folders, sandbox, engine.environment);
          engines[name] = engine.parseVersion(await readEngineVersion(command, env));
        } catch (err) {
          const why =
            `${name} cannot be run${sandbox.kind === 'bwrap' ? ' in its sandbox' : ''} (${setting}): ${(err as Error).message}. ` +
            `Install it (${engine.executable.install}) or point ${variable} at it` +
            (sandbox.kind === 'bwrap'
              ? '; the sandbox needs bubblewrap (apt-get install bubblewrap) and, for a worker that is not root, user namespaces; an engine outside /usr needs WES_SANDBOX_RO_PATHS.'
              : '.');
          if (required) throw new NoEngineError(why);
          failures.push(why);
          this.logger.warn({ engine: name }, `engine left out: ${why}`);
        }
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
    if (Object.keys(engines).length === 0) throw new NoEngineError(`no engine can run on this worker: ${failures.join(' ')}`);
    return engines;
  }

  /**
   * Bounded whatever Redis does: with Redis unreachable every command waits for a reconnection
   * (maxRetriesPerRequest null), so each wait below has a limit. Engines are stopped either way
   * (their group, without Redis); runs that could not be settled stay RUNNING under this
   * worker's id, and recovery settles them once Redis is back and this worker's heartbeat
   * record has lapsed (3 × heartbeatMs): queued again, or SYSTEM_ERROR, by the worker-loss policy.
   */
  async onApplicationShutdown(signal?: string) {
    try {
      await this.shutDown(signal);
    } finally {
      this.markStopped();
    }
  }

  private async shutDown(signal?: string) {
    this.draining = true;
    this.taking = false;
    if (this.workers.length) {
      // No new jobs from here on, in any pool; running ones may finish within the drain time.
      const closed = Promise.all(this.workers.map((w) => w.close()));
      if (!(await within(closed, this.settings.drainMs))) {
        const runs = this.executor.activeRunIds;
        this.logger.warn({ signal, runs, policy: this.settings.shutdownPolicy }, 'drain time over: interrupting running runs');
        runs.forEach((runId) => this.executor.interrupt(runId, 'shutdown'));
        // Their engines' groups are stopped within the grace time; each run is then settled in Redis.
        // With no run left to settle, only Redis could hold the close up: nothing to wait for.
        const settleMs = runs.length ? this.settings.cancelGraceMs + SHUTDOWN_REDIS_WAIT_MS : 0;
        if (!(await within(closed, settleMs))) {
          this.logger.error(
            { runs: this.executor.activeRunIds, redis: this.redis.status },
            'runs not settled in time (Redis unreachable?): left to recovery once Redis is back and this worker is taken as lost',
          );
          this.workers.forEach((w) => w.abandon());
        }
      }
    }
    // Whatever engine is left (a run abandoned above, or still waiting out its stop grace) is
    // SIGKILLed with its whole group before this worker withdraws: once it has, recovery may
    // queue its runs again at once, and a next attempt must not find the old engine still
    // writing into the run's folder.
    await engineLauncher.close();
    if (this.orphanCheck) clearInterval(this.orphanCheck);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const withdraw = this.redis.status === 'ready' ? this.registry.withdraw(this.workerId) : Promise.resolve();
    await Promise.all([
      this.reaper?.stop(),
      this.subscriber && closeRedis(this.subscriber),
      within(withdraw, SHUTDOWN_REDIS_WAIT_MS),
    ]);
  }
}
