import { Redis, RedisOptions } from 'ioredis';

/** An ioredis connection fit for BullMQ (blocking commands never time out) and for our scripts. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}
