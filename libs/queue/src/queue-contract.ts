import { JobsOptions, Queue } from 'bullmq';
import { Redis, RedisOptions } from 'ioredis';

/** The only payload a run job carries: the run lives in Redis under its id. */
export interface RunJobData {
  runId: string;
}

export const RUN_JOB_NAME = 'run';

/**
 * Job options for a run. The job id is the run id, so a run is queued at most once and the
 * API can remove a queued run's job by its id. Finished jobs are dropped: the run record,
 * not the job, is the history.
 */
export const RUN_JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: true,
  removeOnFail: true,
};

/** An ioredis connection fit for BullMQ (blocking commands never time out) and for our scripts. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}

export function createRunQueue(name: string, connection: Redis, prefix: string): Queue<RunJobData> {
  return new Queue<RunJobData>(name, { connection, prefix: bullPrefix(prefix) });
}

/** BullMQ key prefix: under the deployment's key prefix, so one Redis can hold several deployments. */
export const bullPrefix = (keyPrefix: string) => `${keyPrefix}:bull`;
