import { Redis, RedisOptions } from 'ioredis';
import type { WesSettings } from '../../config/src';

/**
 * Where Redis is: a URL, or (when `redisSentinels` is set) the Sentinels that name the primary
 * of `redisSentinelMaster`. WesSettings is one; tools and benchmarks may give only the URL.
 */
export type RedisConnectionSettings = Pick<WesSettings, 'redisUrl'> &
  Partial<Pick<WesSettings, 'redisSentinels' | 'redisSentinelMaster' | 'redisSentinelPassword'>>;

/** `host:port,host:port` → ioredis's sentinel list (IPv6 hosts in brackets: `[::1]:26379`). */
export function parseSentinels(text: string): { host: string; port: number }[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
      if (!m) throw new Error(`sentinel "${s}" is not host:port`);
      return { host: m[1] ?? m[2]!, port: Number(m[3]) };
    });
}

/**
 * ioredis options for the settings: the URL's server, or the Sentinels' current primary. With
 * Sentinels the URL still gives the primary's password, user, database and TLS (rediss://); its
 * host and port are not used.
 */
export function redisConnectionOptions(settings: RedisConnectionSettings): RedisOptions {
  if (!settings.redisSentinels) return {};
  const url = new URL(settings.redisUrl);
  const tls = url.protocol === 'rediss:';
  return {
    sentinels: parseSentinels(settings.redisSentinels),
    name: settings.redisSentinelMaster,
    sentinelPassword: settings.redisSentinelPassword || undefined,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    ...(tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    // Not ioredis's failoverDetector (+switch-master): in ioredis 5.11 a +switch-master that
    // arrives while the connection is already asking the Sentinels again (the primary died: the
    // usual case) aborts that attempt and ends the connection for good ("Connection is closed.",
    // seen in test/e2e/redis-sentinel.test.ts). A primary that is cut off rather than dead is
    // left when it is demoted (Redis then drops its clients, and READONLY reconnects, below);
    // its `min-replicas-to-write` bounds what it accepts meanwhile (docs/REDIS.md).
    failoverDetector: false,
  };
}

/**
 * An ioredis connection fit for BullMQ (blocking commands never time out) and for our scripts:
 * the one place connections are opened (duplicates keep its options, Sentinels included).
 */
export function createRedis(settings: RedisConnectionSettings, options: RedisOptions = {}): Redis {
  const base: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // A primary demoted to a replica answers writes with READONLY: reconnect (to whichever server
    // is primary now) and send the command again.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    ...redisConnectionOptions(settings),
    ...options,
  };
  return settings.redisSentinels ? new Redis(base) : new Redis(settings.redisUrl, base);
}

/**
 * Makes writes durable across a failover (WES_REDIS_MIN_REPLICAS_ACK): WAIT, on the shared
 * connection that made them, until that many replicas hold them. WAIT counts the replication
 * offset of its own connection's last write; the primary's replication stream is one ordered
 * stream, so writes other connections made before (BullMQ's on its own) are covered too.
 *
 * A WAIT is only worth something on the server that took the writes: if the connection closed
 * in between (a failover, a restart), the writes may have gone to a primary now dead and the
 * WAIT to its successor, which answers at once for a connection that wrote nothing. So a caller
 * takes `mark()` before its writes and `confirm(mark)` is false if the connection closed since.
 *
 * WAIT holds the connection (up to the timeout when a replica is away), and commands behind it
 * wait too: callers arriving while a WAIT is out share the next one, so at most two are in line
 * however many runs are submitted or claimed at once. With 0 replicas it does nothing.
 */
export class ReplicaAck {
  private closes = 0;
  private inFlight?: Promise<boolean>;
  private next?: Promise<boolean>;

  constructor(
    private readonly redis: Redis,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {
    redis.on('close', () => this.closes++);
  }

  /** Taken before the writes a later confirm() is to cover. */
  mark(): number {
    return this.closes;
  }

  /**
   * True when `replicas` replicas hold every write made on the connection since `mark` (always,
   * for 0 replicas); false after the timeout, or if the connection closed since `mark`.
   */
  async confirm(mark: number): Promise<boolean> {
    if (this.replicas <= 0) return true;
    if (this.closes !== mark) return false;
    const acked = await this.nextWait();
    return acked && this.closes === mark;
  }

  private nextWait(): Promise<boolean> {
    if (!this.next) {
      const before = this.inFlight ?? Promise.resolve(true);
      const batch: Promise<boolean> = before
        .catch(() => false)
        .then(async () => {
          // From now on, new callers' writes may come after this WAIT: they need the next one.
          this.next = undefined;
          this.inFlight = batch;
          return Number(await this.redis.call('WAIT', String(this.replicas), String(this.timeoutMs))) >= this.replicas;
        })
        .finally(() => {
          if (this.inFlight === batch) this.inFlight = undefined;
        });
      this.next = batch;
    }
    return this.next;
  }

  /** Why confirm() said false, for a log line or a client. */
  get shortfall(): string {
    return `fewer than ${this.replicas} Redis replicas confirmed the write within ${this.timeoutMs} ms (or Redis was reconnected meanwhile)`;
  }
}
