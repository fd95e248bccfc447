import { DelayedError, Job, JobsOptions, Queue, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WesSettings } from '../../config/src';
import { RunKeys } from '../../runs/src/run-keys';
import { createRedis, RedisConnectionSettings } from './redis-connection';
import { closeRedis, SHUTDOWN_REDIS_WAIT_MS, within } from './connection-closing';
import { DEFAULT_POOL, defaultPoolOf, PoolDefinition, WorkerPools } from './worker-pools';

/** The only payload a run job carries: the run lives in Redis under its id. */
interface RunJobData {
  runId: string;
}

const RUN_JOB_NAME = 'run';

/**
 * Job options for a run. The job id is the run id (or a requeue's id), so a run is queued at
 * most once and the API can remove a queued run's job by its id. Finished jobs are dropped: the
 * run record, not the job, is the history. One attempt: our own attempt count (maxAttempts, in
 * the run record) decides when a run is tried again.
 */
const RUN_JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: true,
  removeOnFail: true,
};

/**
 * One queue of runs and how its workers take them: each worker pool has its own (its name,
 * concurrency, job lock, attempts; worker-pools.ts).
 */
export interface RunQueueSettings {
  /** BullMQ queue name. */
  name: string;
  /** The deployment's configured key prefix; BullMQ's keys go under RunKeys' `bullPrefix`, `{<keyPrefix>}:bull`. */
  keyPrefix: string;
  /** Runs one worker process takes at once from this queue. */
  concurrency: number;
  /** Job lock: renewed while a worker holds a run; when it lapses the job is stalled. */
  jobLockMs: number;
  /** Milliseconds between checks for stalled jobs. */
  stalledIntervalMs: number;
  /** Attempts a run gets (counted in the run record, not by BullMQ). */
  maxAttempts: number;
}

/** The queue of a pool (by default the `default` pool of settings without pools), with the worker options it gives. */
export function runQueueSettingsOf(settings: WesSettings, pool: PoolDefinition = defaultPoolOf(settings)): RunQueueSettings {
  return {
    name: pool.queueName,
    keyPrefix: settings.keyPrefix,
    concurrency: pool.concurrency,
    jobLockMs: pool.jobLockMs,
    stalledIntervalMs: settings.stalledIntervalMs,
    maxAttempts: pool.maxAttempts,
  };
}

/**
 * BullMQ key prefix: under the deployment's key prefix, so one Redis can hold several deployments,
 * and in its hash slot (RunKeys), so BullMQ's scripts work on Redis Cluster.
 */
const bullPrefix = (keyPrefix: string) => new RunKeys(keyPrefix).bullPrefix;

const isRedis = (c: Redis | RedisConnectionSettings): c is Redis => typeof (c as Redis).duplicate === 'function';

/**
 * What a worker does with a run: `hand-back` puts the run's job back in the queue at once for
 * another worker; `pass-on` puts it back after PASS_ON_DELAY_MS (a worker that cannot run it: the
 * job waits delayed, holding no worker slot, so the other jobs of the queue go on being taken and
 * a pool with no worker able to run it does not spin).
 */
export type RunProcessor = (runId: string, abort: AbortSignal) => Promise<'done' | 'hand-back' | 'pass-on'>;

/**
 * BullMQ's error when a worker moves a job on (completed, failed, back to the queue) that it no
 * longer holds: its lock lapsed and the job was delivered again (maybe to another slot of this
 * same worker, which answered it: RunExecutor) or is gone. The run's state machine, not its
 * job, decides what becomes of the run: a warning, not a failure.
 */
export function isJobLockLost(err: Error): boolean {
  return /^(Missing key|Missing lock|Lock mismatch) for job |^Job \S+ is not in the active state/.test(err.message);
}

/** How long a passed-on job waits before any worker may take it again. */
export const PASS_ON_DELAY_MS = 1000;

/** A queue worker taking runs: created stopped, started once the process is ready. */
export interface RunQueueWorker {
  /** Starts taking jobs. */
  start(): void;
  /** Resolves once the worker's connection is ready. */
  waitUntilReady(): Promise<void>;
  /** Stops taking jobs and resolves when the running ones have ended. */
  close(): Promise<void>;
  /**
   * Drops the worker's connection without waiting (a shutdown whose runs cannot be settled:
   * Redis unreachable); its jobs are left to their lock's lapse and to recovery.
   */
  abandon(): void;
}

/** Job state as BullMQ reports it; `unknown` when the queue has no such job. */
export type RunJobState = Awaited<ReturnType<Queue['getJobState']>>;

/**
 * The queue of runs: the one place that talks to BullMQ. The API enqueues and removes runs'
 * jobs, recovery restores lost ones, workers take them.
 */
export class RunQueue {
  private readonly queue: Queue<RunJobData>;
  private readonly connection: Redis;
  private readonly ownsConnection: boolean;

  /**
   * `connection`: a connection to share (not closed by close()), or where Redis is, to open one
   * of the queue's own.
   */
  constructor(
    connection: Redis | RedisConnectionSettings,
    readonly settings: RunQueueSettings,
  ) {
    this.ownsConnection = !isRedis(connection);
    this.connection = isRedis(connection) ? connection : createRedis(connection, { connectionName: 'wes-queue' });
    this.queue = new Queue<RunJobData>(settings.name, { connection: this.connection, prefix: bullPrefix(settings.keyPrefix) });
  }

  /** Queues a run under `jobId` (the run id, unless a requeue gave it another). */
  async enqueue(runId: string, jobId = runId): Promise<void> {
    await this.queue.add(RUN_JOB_NAME, { runId }, { ...RUN_JOB_OPTIONS, jobId });
  }

  /** Removes a waiting job (a job a worker holds is locked and stays). */
  async remove(jobId: string): Promise<void> {
    await this.queue.remove(jobId);
  }

  async jobState(jobId: string): Promise<RunJobState> {
    return this.queue.getJobState(jobId);
  }

  /** Queues the run's job again if the queue no longer has it; true if it did. */
  async restoreIfMissing(runId: string, jobId = runId): Promise<boolean> {
    if ((await this.jobState(jobId)) !== 'unknown') return false;
    await this.enqueue(runId, jobId);
    return true;
  }

  /** Jobs per state (waiting, active, delayed, …). */
  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children');
  }

  /**
   * A worker taking this queue's runs with the queue's settings, on a connection of its own
   * (BullMQ blocks on it). `onError` hears the worker's connection and processing errors;
   * `watchConnection` is given that connection (metrics count its errors and reconnects).
   */
  createWorker(processor: RunProcessor, onError: (err: Error) => void, watchConnection?: (connection: Redis) => void): RunQueueWorker {
    // Same server and options as the queue's connection (maxRetriesPerRequest: null among them).
    const connection = this.connection.duplicate({ connectionName: `${this.connection.options.connectionName ?? 'wes'}-bull` });
    watchConnection?.(connection);
    const worker = new Worker<RunJobData>(
      this.settings.name,
      async (job: Job<RunJobData>, token?: string, signal?: AbortSignal) => {
        const result = await processor(job.data.runId, signal ?? new AbortController().signal);
        if (result === 'hand-back') {
          await job.moveToWait(token);
          throw new WaitingError();
        }
        if (result === 'pass-on') {
          await job.moveToDelayed(Date.now() + PASS_ON_DELAY_MS, token);
          throw new DelayedError();
        }
      },
      {
        connection,
        prefix: bullPrefix(this.settings.keyPrefix),
        concurrency: this.settings.concurrency,
        lockDuration: this.settings.jobLockMs,
        stalledInterval: this.settings.stalledIntervalMs,
        // Our own attempt count (maxAttempts, in the run record) decides when a run has been lost
        // too often; BullMQ must not fail the job before that.
        maxStalledCount: this.settings.maxAttempts,
        autorun: false,
      },
    );
    worker.on('error', onError);
    return {
      start: () => void worker.run(),
      waitUntilReady: async () => {
        await worker.waitUntilReady();
      },
      close: async () => {
        await worker.close();
        // BullMQ leaves a connection it was given open.
        await closeRedis(connection);
      },
      abandon: () => connection.disconnect(),
    };
  }

  /** Closes the queue (and its connection if it opened it); a shared connection stays open. */
  async close(): Promise<void> {
    await within(this.queue.close(), SHUTDOWN_REDIS_WAIT_MS);
    if (this.ownsConnection) await closeRedis(this.connection);
  }
}

/** The run queue of every pool, on one shared connection: a run goes to, and is found in, its pool's. */
export class RunQueues {
  private readonly queues = new Map<string, RunQueue>();

  constructor(
    connection: Redis,
    readonly pools: WorkerPools,
    settings: WesSettings,
  ) {
    for (const pool of pools.all) this.queues.set(pool.name, new RunQueue(connection, runQueueSettingsOf(settings, pool)));
  }

  /** The queue of a run's pool (none recorded: `default`); throws for a pool no longer configured. */
  of(pool: string | undefined): RunQueue {
    const queue = this.queues.get(pool || DEFAULT_POOL);
    if (!queue) throw new Error(`no pool "${pool || DEFAULT_POOL}" is configured (pools: ${this.pools.names.join(', ')}): its runs cannot be queued`);
    return queue;
  }

  /**
   * Jobs of each pool's queue that wait (prioritized and paused ones included), run, or are
   * delayed: the queue depth /metrics reports. One read per pool, no scan of the jobs.
   */
  async depths(): Promise<{ pool: string; waiting: number; active: number; delayed: number }[]> {
    return Promise.all(
      [...this.queues.entries()].map(async ([pool, queue]) => {
        const c = await queue.counts();
        return { pool, waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.paused ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0 };
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
