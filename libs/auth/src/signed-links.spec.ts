import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { checkLink, configuredLinkKey, linkBucketSeconds, linkExpiry, linkSignature, sharedLinkKey, signedLinkQuery } from './signed-links';

const KEY = randomBytes(32);
const RUN = '01936f6e-0000-7000-8000-000000000001';
const OTHER_RUN = '01936f6e-0000-7000-8000-000000000002';
const NOW = 1_800_000_000;

const r = usePrivateRedis();

describe('signed links', () => {
  it('sign a run, a path and an expiry into a base64url HMAC-SHA256 that checks for exactly them', () => {
    const sig = linkSignature(KEY, RUN, 'outputs/a b/ü.txt', NOW + 60);
    expect(sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(signedLinkQuery(KEY, RUN, 'logs/stdout', NOW + 60)).toBe(`expires=${NOW + 60}&signature=${linkSignature(KEY, RUN, 'logs/stdout', NOW + 60)}`);
    expect(checkLink(KEY, RUN, 'outputs/a b/ü.txt', String(NOW + 60), sig, NOW)).toBe('valid');
    // Another path, run, expiry or key: not this link.
    expect(checkLink(KEY, RUN, 'outputs/a b/other.txt', String(NOW + 60), sig, NOW)).toBe('invalid');
    expect(checkLink(KEY, RUN, 'logs/stdout', String(NOW + 60), sig, NOW)).toBe('invalid');
    expect(checkLink(KEY, OTHER_RUN, 'outputs/a b/ü.txt', String(NOW + 60), sig, NOW)).toBe('invalid');
    expect(checkLink(KEY, RUN, 'outputs/a b/ü.txt', String(NOW + 6000), sig, NOW)).toBe('invalid');
    expect(checkLink(randomBytes(32), RUN, 'outputs/a b/ü.txt', String(NOW + 60), sig, NOW)).toBe('invalid');
  });

  it('answer expired from the expiry second on, and only for a signature this key made', () => {
    const expires = NOW + 60;
    const sig = linkSignature(KEY, RUN, 'logs/stderr', expires);
    expect(checkLink(KEY, RUN, 'logs/stderr', String(expires), sig, expires - 1)).toBe('valid');
    expect(checkLink(KEY, RUN, 'logs/stderr', String(expires), sig, expires)).toBe('expired');
    expect(checkLink(KEY, RUN, 'logs/stderr', String(expires), sig, expires + 3600)).toBe('expired');
    // The first character, not the last: the last one of a 32-byte base64url value carries 2 unused bits, so
    // changing it (A → B) can leave the decoded bytes, and the signature, the same.
    const forged = (sig.startsWith('A') ? 'B' : 'A') + sig.slice(1);
    expect(checkLink(KEY, RUN, 'logs/stderr', String(expires), forged, expires + 3600)).toBe('invalid');
  });

  it('refuse a tampered or malformed query', () => {
    const expires = NOW + 60;
    const sig = linkSignature(KEY, RUN, 'logs/stdout', expires);
    const flipped = Buffer.from(sig, 'base64url');
    flipped[0] ^= 1;
    for (const [e, s] of [
      [String(expires), flipped.toString('base64url')],
      [String(expires), `${sig}=`],
      [String(expires), sig.slice(1)],
      [`0${expires}`, sig],
      [`${expires}.0`, sig],
      ['1e12', sig],
      [undefined, sig],
      [String(expires), undefined],
      [[String(expires)], sig],
      [String(expires), [sig, sig]],
      ['', ''],
    ] as [unknown, unknown][]) {
      expect(checkLink(KEY, RUN, 'logs/stdout', e, s, NOW), JSON.stringify([e, s])).toBe('invalid');
    }
  });

  it('keep run and path apart: no pair signs as another', () => {
    const expires = NOW + 60;
    expect(linkSignature(KEY, 'a', 'b/c', expires)).not.toBe(linkSignature(KEY, 'a/b', 'c', expires));
    expect(linkSignature(KEY, 'a', 'b", "c', expires)).not.toBe(linkSignature(KEY, 'a', 'b', expires));
  });

  it('round the expiry up to a bucket: at least the lifetime, at most a bucket more, the same all through a bucket', () => {
    expect(linkBucketSeconds(3600)).toBe(300);
    expect(linkBucketSeconds(600)).toBe(60);
    expect(linkBucketSeconds(5)).toBe(1);
    for (const ttl of [1, 5, 59, 600, 3600, 86_400]) {
      const bucket = linkBucketSeconds(ttl);
      for (let now = NOW; now < NOW + 2 * bucket + 3; now += Math.max(1, Math.floor(bucket / 7))) {
        const e = linkExpiry(now, ttl);
        expect(e - now, `ttl ${ttl} at ${now}`).toBeGreaterThanOrEqual(ttl);
        expect(e - now, `ttl ${ttl} at ${now}`).toBeLessThanOrEqual(ttl + bucket);
        expect(e % bucket).toBe(0);
      }
    }
    const start = Math.ceil(NOW / 300) * 300;
    expect(linkExpiry(start + 1, 3600)).toBe(linkExpiry(start + 299, 3600));
    expect(linkExpiry(start + 1, 3600)).toBe(linkExpiry(start + 300, 3600));
    expect(linkExpiry(start + 301, 3600)).toBe(linkExpiry(start + 300, 3600) + 300);
  });

  it('use a configured key as its UTF-8 bytes', () => {
    const secret = 'x'.repeat(40);
    const sig = linkSignature(configuredLinkKey(secret), RUN, 'logs/stdout', NOW);
    expect(checkLink(Buffer.from(secret), RUN, 'logs/stdout', String(NOW), sig, NOW - 1)).toBe('valid');
  });

  it('share one random key through Redis: two processes get the same, a restarted one too, another prefix another', async () => {
    const redisKey = `links-spec-${randomBytes(4).toString('hex')}:link-signing-key`;
    const other = new Redis(r.server.url, { maxRetriesPerRequest: null });
    try {
      const [a, b] = await Promise.all([sharedLinkKey(r.redis, redisKey), sharedLinkKey(other, redisKey)]);
      expect(a.length).toBe(32);
      expect(b.equals(a)).toBe(true);
      // A link one signs, the other accepts.
      const sig = linkSignature(a, RUN, 'logs/stdout', NOW + 60);
      expect(checkLink(b, RUN, 'logs/stdout', String(NOW + 60), sig, NOW)).toBe('valid');
      expect((await sharedLinkKey(other, redisKey)).equals(a)).toBe(true);
      expect(await r.redis.ttl(redisKey)).toBe(-1);
      expect((await sharedLinkKey(r.redis, `${redisKey}-2`)).equals(a)).toBe(false);
    } finally {
      other.disconnect();
    }
  });

  it('refuse a key in Redis that is too short to be one of ours', async () => {
    const redisKey = `links-spec-${randomBytes(4).toString('hex')}:link-signing-key`;
    await r.redis.set(redisKey, 'c2hvcnQ');
    await expect(sharedLinkKey(r.redis, redisKey)).rejects.toThrow(/shorter than 32 bytes/);
  });
});
