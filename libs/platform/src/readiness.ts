import type { Redis } from 'ioredis';
import { loadRunScripts } from '../../runs/src';
import type { ObjectStore } from '../../storage/src';

/** Each check's outcome: `ok`, or why it failed. */
export type ReadinessChecks = Record<string, string>;

export interface ReadinessReport {
  ready: boolean;
  checks: ReadinessChecks;
}

/** A check that does not answer within this is failed (a readiness probe must answer fast). */
const CHECK_TIMEOUT_MS = 2000;

/** A key no object has: reading its metadata proves the store answers (and lets us in). */
const PROBE_KEY = 'readyz/probe';

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const outcome = (work: Promise<unknown>, what: string): Promise<string> =>
  withTimeout(work, what).then(
    () => 'ok',
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );

/**
 * What /readyz of the API and the workers checks of the shared systems: Redis reachable (the
 * connection ready and answering), the run model's Lua scripts loaded there, the object store
 * answering. A process adds its own checks (a worker: engines detected, not draining).
 */
export class ReadinessProbe {
  constructor(
    private readonly redis: Redis,
    private readonly store: ObjectStore,
  ) {}

  /** Whether the Redis connection is up: figures read from Redis at scrape are skipped while it is not (a command would wait for it). */
  get redisReady(): boolean {
    return this.redis.status === 'ready';
  }

  async check(own: ReadinessChecks = {}): Promise<ReadinessReport> {
    // Commands wait while ioredis reconnects (maxRetriesPerRequest: null): ask only a ready connection.
    const redisReady = this.redisReady;
    const [redis, scripts, objectStore] = await Promise.all([
      redisReady ? outcome(this.redis.ping(), 'Redis') : Promise.resolve(`Redis connection is ${this.redis.status}`),
      redisReady ? outcome(loadRunScripts(this.redis), 'Redis (scripts)') : Promise.resolve('Redis not reachable'),
      outcome(this.store.stat(PROBE_KEY), 'the object store'),
    ]);
    const checks = { redis, scripts, objectStore, ...own };
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  }
}
