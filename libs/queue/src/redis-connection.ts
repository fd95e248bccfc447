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
    // Leave the old primary as soon as a Sentinel announces the new one (+switch-master), rather
    // than when its socket fails: an old primary cut off, not dead, would take writes it then loses.
    failoverDetector: true,
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
 * WAIT for `replicas` replicas to hold every write this connection made so far, at most
 * `timeoutMs`: true when they do (or `replicas` is 0). WAIT counts only this connection's writes,
 * so it must be the connection that wrote.
 */
export async function waitForReplicas(redis: Redis, replicas: number, timeoutMs: number): Promise<boolean> {
  if (replicas <= 0) return true;
  const acked = Number(await redis.call('WAIT', String(replicas), String(timeoutMs)));
  return acked >= replicas;
}
