import { RunQueue } from '../../libs/queue/src';

/**
 * The queue of the bare-BullMQ baseline (scenarios 4 and 6): the product's job options through
 * RunQueue, BullMQ's default 30 s lock, keys under `{<name>}:bull` (RunKeys bullPrefix). It opens a connection of its
 * own to `redisUrl` and closes it with the queue.
 */
export function baselineQueue(redisUrl: string, name: string, concurrency: number): RunQueue {
  return new RunQueue({ redisUrl }, { name, keyPrefix: name, concurrency, jobLockMs: 30_000, stalledIntervalMs: 30_000, maxAttempts: 1 });
}
