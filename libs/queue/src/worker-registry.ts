import type { Redis } from 'ioredis';
import { RunKeys } from '../../runs/src/run-keys';
import { DEFAULT_POOL } from './worker-pools';

/** What a live worker announces about itself. */
export interface WorkerInfo {
  workerId: string;
  host: string;
  pid: number;
  startedAt: string;
  /** Runs it takes at once, over all its pools. */
  concurrency: number;
  /** The pools it serves (absent in the record of a worker of before pools: `default`). */
  pools?: string[];
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

  /** The heartbeat records of these workers (null: lapsed, or never announced), one MGET. */
  async records(workerIds: string[]): Promise<Map<string, WorkerInfo | null>> {
    if (workerIds.length === 0) return new Map();
    const records = await this.redis.mget(workerIds.map((id) => this.keys.worker(id)));
    return new Map(workerIds.map((id, i) => [id, records[i] == null ? null : (JSON.parse(records[i]!) as WorkerInfo)]));
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

  /** Pool name → live workers serving it (every pool named, with 0 for those none serves). */
  static workersPerPool(workers: WorkerInfo[], pools: string[]): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(pools.map((p) => [p, 0]));
    for (const w of workers) for (const p of w.pools ?? [DEFAULT_POOL]) if (Object.hasOwn(out, p)) out[p]++;
    return out;
  }

  static engineVersionsOf(workers: WorkerInfo[]): Record<string, string[]> {
    const out: Record<string, Set<string>> = {};
    for (const w of workers) {
      for (const [engine, version] of Object.entries(w.engines)) (out[engine] ??= new Set()).add(version);
    }
    return Object.fromEntries(Object.entries(out).map(([e, v]) => [e, [...v].sort()]));
  }
}
