import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { keySlot } from '../../../test/helpers/key-slot';
import { loadSettings } from '../../config/src';
import { RunQueue, runQueueSettingsOf } from '../../queue/src/run-queue';
import { deploymentKeyPrefix, RunKeys } from './run-keys';

/** Every key name a RunKeys forms: each getter, and each method called with sample arguments. */
function everyKey(keys: RunKeys): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.getOwnPropertyNames(RunKeys.prototype)) {
    if (name === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(RunKeys.prototype, name)!;
    const value: unknown = d.get ? d.get.call(keys) : (d.value as (...a: string[]) => string).apply(keys, ['0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', 'x']);
    if (typeof value === 'string') out[name] = value;
  }
  out.anonymousActive = keys.activeRuns(undefined);
  out.oidcOwner = keys.ownerIndex('oidc:alice%40example.org');
  return out;
}

describe('deployment key prefix', () => {
  it('wraps a plain prefix in braces and keeps one that holds a hash tag', () => {
    expect(deploymentKeyPrefix('wes')).toBe('{wes}');
    expect(deploymentKeyPrefix('wes-prod.1')).toBe('{wes-prod.1}');
    expect(deploymentKeyPrefix('acme-{wes}')).toBe('acme-{wes}');
    expect(deploymentKeyPrefix('{wes}')).toBe('{wes}');
    // Idempotent: a formed prefix forms itself, so RunKeys of RunKeys.prefix names the same keys.
    expect(new RunKeys(new RunKeys('wes').prefix).run('a')).toBe(new RunKeys('wes').run('a'));
  });

  it.each(['', '{}', 'a{b', 'a}b', '{a}{b}', '{a}}', 'a b', 'a:b', '{a*}'])('refuses %j, here and as WES_KEY_PREFIX', (bad) => {
    expect(() => deploymentKeyPrefix(bad)).toThrow(/hash tag/);
    if (bad !== '') expect(() => loadSettings({ WES_KEY_PREFIX: bad })).toThrow(/WES_KEY_PREFIX/);
  });

  it('computes slots as Redis does (known CLUSTER KEYSLOT answers)', () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
  });

  it.each(['wes', 'acme-{wes}'])('every key RunKeys forms under %j lies in one slot, that of the tag', (prefix) => {
    const keys = new RunKeys(prefix);
    const all = everyKey(keys);
    expect(Object.keys(all)).toEqual(expect.arrayContaining(['run', 'doc', 'index', 'counts', 'inState', 'activeRuns', 'submitRate', 'bullPrefix', 'linkSigningKey', 'worker']));
    const slot = keySlot(prefix.includes('{') ? '{wes}' : `{${prefix}}`);
    for (const [name, key] of Object.entries(all)) expect([name, keySlot(key)]).toEqual([name, slot]);
    // The rate limiter appends `:<user>` to its prefix.
    expect(keySlot(`${keys.submitRate}:alice`)).toBe(slot);
  });
});

describe("BullMQ's keys", () => {
  const r = usePrivateRedis();

  it("lie in the deployment's slot: every key a queued job makes", async () => {
    const prefix = `slot-${randomBytes(4).toString('hex')}`;
    const settings = loadSettings({ WES_KEY_PREFIX: prefix, REDIS_URL: r.server.url });
    const queue = new RunQueue(r.redis, runQueueSettingsOf(settings));
    try {
      await queue.enqueue('run-1');
      await queue.enqueue('run-2');
      await queue.remove('run-2');
      const made = await r.redis.keys(`${new RunKeys(prefix).bullPrefix}:*`);
      expect(made.length).toBeGreaterThanOrEqual(3);
      const slot = keySlot(`{${prefix}}`);
      for (const key of made) expect([key, keySlot(key)]).toEqual([key, slot]);
      // Nothing of this deployment outside its hash tag.
      expect(await r.redis.keys(`${prefix}:*`)).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
