import type { Redis } from 'ioredis';
import { RunKeys } from '../../runs/src/run-keys';

/** What a live worker announces about itself. */
export interface WorkerInfo {
  workerId: string;
  host: string;
  pid: number;
  startedAt: string;
  concurrency: number;
  /** Engine name → detected version. */
  engines: Record<string, string>;
}

/**
 * Live workers and the engines they detected. Each worker refreshes a record with a TTL (three
 * heartbeats): a worker whose record expired is lost. The API reads them for service-info
 * (there are few workers, so reading them all is cheap).
 */
export class WorkerRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RunKeys,
    private readonly ttlMs = 15_000,
  ) {}

  async announce(info: WorkerInfo): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.worker(info.workerId), JSON.stringify(info), 'PX', this.ttlMs)
      .sadd(this.keys.workers, info.workerId)
      .exec();
  }

  async withdraw(workerId: string): Promise<void> {
    await this.redis.multi().del(this.keys.worker(workerId)).srem(this.keys.workers, workerId).exec();
  }

  /** Which of these workers have announced themselves within the TTL. */
  async alive(workerIds: string[]): Promise<Set<string>> {
    const unique = [...new Set(workerIds)];
    if (unique.length === 0) return new Set();
    const pipe = this.redis.pipeline();
    unique.forEach((id) => pipe.exists(this.keys.worker(id)));
    const res = (await pipe.exec()) ?? [];
    return new Set(unique.filter((_, i) => res[i]?.[1] === 1));
  }

  async live(): Promise<WorkerInfo[]> {
    const ids = await this.redis.smembers(this.keys.workers);
    if (ids.length === 0) return [];
    const records = await this.redis.mget(ids.map((id) => this.keys.worker(id)));
    const gone = ids.filter((_, i) => records[i] == null);
    if (gone.length) await this.redis.srem(this.keys.workers, ...gone);
    return records.filter((r): r is string => r != null).map((r) => JSON.parse(r) as WorkerInfo);
  }

  /** Engine name → versions detected by live workers. */
  async engineVersions(): Promise<Record<string, string[]>> {
    return WorkerRegistry.engineVersionsOf(await this.live());
  }

  static engineVersionsOf(workers: WorkerInfo[]): Record<string, string[]> {
    const out: Record<string, Set<string>> = {};
    for (const w of workers) {
      for (const [engine, version] of Object.entries(w.engines)) (out[engine] ??= new Set()).add(version);
    }
    return Object.fromEntries(Object.entries(out).map(([e, v]) => [e, [...v].sort()]));
  }
}
