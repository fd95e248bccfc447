import type { Redis } from 'ioredis';

/**
 * How long a step of a shutdown that needs Redis (QUIT, closing a BullMQ queue or worker,
 * settling a run, withdrawing the worker's record) waits for it. Our connections wait for Redis
 * forever (maxRetriesPerRequest null, as BullMQ wants): without a bound, a process told to stop
 * while Redis is unreachable would never exit.
 */
export const SHUTDOWN_REDIS_WAIT_MS = 2000;

/** Waits for `work` (settled either way) at most `ms`: true if it settled in time. */
export function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void work
      .catch(() => undefined)
      .then(() => {
        clearTimeout(timer);
        resolve(true);
      });
  });
}

/**
 * Closes an ioredis connection without waiting on an unreachable server: QUIT (bounded) when it
 * is connected, then disconnect, which also stops its reconnection attempts.
 */
export async function closeRedis(redis: Redis, waitMs = SHUTDOWN_REDIS_WAIT_MS): Promise<void> {
  if (redis.status === 'ready') await within(redis.quit(), waitMs);
  redis.disconnect();
}
