import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../storage/src';
import { metricsAllowed } from './metrics-access';
import { ReadinessProbe } from './readiness';

const storeWith = (stat: ObjectStore['stat']) => ({ stat }) as unknown as ObjectStore;

describe('ReadinessProbe', () => {
  it('fails Redis and its scripts at once, without sending a command, while the connection is not ready', async () => {
    // Never connected: a command would wait in ioredis's queue.
    const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: null });
    const report = await new ReadinessProbe(redis, storeWith(async () => null)).check({ engines: 'ok' });
    expect(report.ready).toBe(false);
    expect(report.checks).toEqual({ redis: 'Redis connection is wait', scripts: 'Redis not reachable', objectStore: 'ok', engines: 'ok' });
    redis.disconnect();
  });

  it("names an object store that fails or does not answer, and a process's own failed check", async () => {
    const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true });
    const failing = await new ReadinessProbe(redis, storeWith(async () => { throw new Error('AccessDenied'); })).check();
    expect(failing.checks.objectStore).toBe('AccessDenied');
    const silent = await new ReadinessProbe(redis, storeWith(() => new Promise(() => undefined))).check({ draining: 'draining' });
    expect(silent.checks.objectStore).toMatch(/did not answer within/);
    expect(silent.checks.draining).toBe('draining');
    expect(silent.ready).toBe(false);
    redis.disconnect();
  });
});

describe('metricsAllowed', () => {
  it('lets anyone in without a token, and only its bearer with one', () => {
    expect(metricsAllowed(undefined, undefined)).toBe(true);
    expect(metricsAllowed('Bearer anything', '')).toBe(true);
    const token = 'metrics-token-0123456789';
    expect(metricsAllowed(`Bearer ${token}`, token)).toBe(true);
    expect(metricsAllowed(`bearer ${token}`, token)).toBe(true);
    expect(metricsAllowed(`Bearer ${token}x`, token)).toBe(false);
    expect(metricsAllowed(`Basic ${Buffer.from(`u:${token}`).toString('base64')}`, token)).toBe(false);
    expect(metricsAllowed(undefined, token)).toBe(false);
  });
});
