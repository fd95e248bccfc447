import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis, startRedis } from '../../../test/helpers/redis-server';
import { loadSettings } from '../../config/src';
import { RunKeys } from '../../runs/src/run-keys';
import { createRedis, parseSentinels, redisConnectionOptions, ReplicaAck } from './redis-connection';

describe('Redis connection settings', () => {
  it('without Sentinels: the URL alone', () => {
    expect(redisConnectionOptions(loadSettings({ REDIS_URL: 'redis://:pw@h:1/2' }))).toEqual({});
  });

  it('with Sentinels: their list and master name; the URL gives password, user, database and TLS', () => {
    const o = redisConnectionOptions(
      loadSettings({
        REDIS_URL: 'rediss://wes:p%40ss@ignored:6379/3',
        WES_REDIS_SENTINELS: 's1:26379, [::1]:26380,10.0.0.3:26381',
        WES_REDIS_SENTINEL_MASTER: 'prod',
        WES_REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      }),
    );
    expect(o).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '::1', port: 26380 },
        { host: '10.0.0.3', port: 26381 },
      ],
      name: 'prod',
      sentinelPassword: 'sentinel-secret',
      username: 'wes',
      password: 'p@ss',
      db: 3,
      tls: {},
      enableTLSForSentinelMode: true,
      failoverDetector: false,
    });
    expect(o).not.toHaveProperty('host');
  });

  it.each(['s1', 's1:', 'a:1,,b', 's1:26379;s2:26379', 'http://s1:26379'])('refuses WES_REDIS_SENTINELS=%j', (bad) => {
    expect(() => loadSettings({ WES_REDIS_SENTINELS: bad })).toThrow(/WES_REDIS_SENTINELS/);
  });

  it('refuses a replica timeout that two WAITs in line would make outlast a heartbeat record', () => {
    expect(() => loadSettings({ WES_REDIS_MIN_REPLICAS_ACK: '1', WES_REDIS_REPLICA_ACK_TIMEOUT_MS: '7500', WES_HEARTBEAT_MS: '5000' })).toThrow(
      /WES_REDIS_REPLICA_ACK_TIMEOUT_MS=7500: must be under 1.5 × WES_HEARTBEAT_MS/,
    );
    expect(loadSettings({ WES_REDIS_MIN_REPLICAS_ACK: '1', WES_REDIS_REPLICA_ACK_TIMEOUT_MS: '7499', WES_HEARTBEAT_MS: '5000' }).redisReplicaAckTimeoutMs).toBe(7499);
    expect(loadSettings({ WES_REDIS_REPLICA_ACK_TIMEOUT_MS: '60000' }).redisReplicaAckTimeoutMs).toBe(60000);
  });

  it('reads an empty list as none, and refuses a negative replica count', () => {
    expect(parseSentinels('')).toEqual([]);
    expect(() => loadSettings({ WES_REDIS_MIN_REPLICAS_ACK: '-1' })).toThrow(/WES_REDIS_MIN_REPLICAS_ACK/);
  });
});

describe('ReplicaAck (WAIT) against a primary and a replica', () => {
  let primary: PrivateRedis;
  let replica: PrivateRedis;
  let redis: Redis;
  const keys = new RunKeys(`ack-${process.pid}`);

  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedis();
    redis = createRedis({ redisUrl: primary.url });
    // A replica's full sync starts at once (Redis waits 5 s by default for more replicas).
    await redis.config('SET', 'repl-diskless-sync-delay', '0');
    const r = new Redis(replica.url);
    await r.replicaof('127.0.0.1', primary.port);
    r.disconnect();
    for (let i = 0; i < 100 && !/state=online/.test(await redis.info('replication')); i++) await sleep(100);
  });
  afterAll(async () => {
    redis?.disconnect();
    await replica?.stop();
    await primary?.stop();
  });

  const waitCalls = async () => Number(/cmdstat_wait:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);

  it('confirms the writes once the replica holds them; says no when it is gone; callers at once share WAITs', async () => {
    const ack = new ReplicaAck(redis, 1, 300);
    let mark = ack.mark();
    await redis.set(keys.run('r1'), 'x');
    expect(await ack.confirm(mark)).toBe(true);
    const onReplica = new Redis(replica.url);
    expect(await onReplica.get(keys.run('r1'))).toBe('x');
    onReplica.disconnect();

    await replica.stop();
    mark = ack.mark();
    await redis.set(keys.run('r2'), 'y');
    expect(await ack.confirm(mark)).toBe(false);
    expect(ack.shortfall).toMatch(/fewer than 1 Redis replicas .* 300 ms/);

    // Twenty callers at once: the WAIT out, and one more for those who came while it was out.
    const before = await waitCalls();
    const all = await Promise.all(Array.from({ length: 20 }, () => ack.confirm(ack.mark())));
    expect(all).toEqual(Array(20).fill(false));
    expect((await waitCalls()) - before).toBeLessThanOrEqual(2);
  });

  it('says no when the connection closed between the writes and the WAIT (the writes may be on a primary now gone)', async () => {
    const replica2 = await startRedis();
    const r = new Redis(replica2.url);
    await r.replicaof('127.0.0.1', primary.port);
    r.disconnect();
    try {
      // In sync once a WAIT is answered by it (the stopped replica of the test before may linger in INFO).
      for (let i = 0; i < 50 && Number(await redis.call('WAIT', '1', '200')) < 1; i++) await sleep(100);
      const ack = new ReplicaAck(redis, 1, 5000);
      const mark = ack.mark();
      await redis.set(keys.run('r3'), 'z');
      expect(await ack.confirm(ack.mark())).toBe(true);
      redis.disconnect(true);
      await redis.set(keys.run('r4'), 'z');
      expect(await ack.confirm(mark)).toBe(false);
      expect(await ack.confirm(ack.mark())).toBe(true);
    } finally {
      await replica2.stop();
    }
  });

  it('with 0 replicas does nothing', async () => {
    const before = await waitCalls();
    const ack = new ReplicaAck(redis, 0, 300);
    expect(await ack.confirm(ack.mark())).toBe(true);
    expect(await waitCalls()).toBe(before);
  });
});
