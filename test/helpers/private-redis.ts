import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { PrivateRedis, startRedis } from './redis-server';

/**
 * A private redis-server and one client for a spec file: started before its tests, stopped
 * after them. Read `redis` and `server` inside tests (they are set by then).
 */
export function usePrivateRedis(): { readonly server: PrivateRedis; readonly redis: Redis } {
  const h = {} as { server: PrivateRedis; redis: Redis };
  beforeAll(async () => {
    h.server = await startRedis();
    h.redis = new Redis(h.server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await h.redis?.quit();
    await h.server?.stop();
  });
  return h;
}
