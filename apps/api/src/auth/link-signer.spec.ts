import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { configuredLinkKey, hashToken, signedLinkQuery } from '../../../../libs/auth/src';
import { loadSettings } from '../../../../libs/config/src';
import { RunKeys } from '../../../../libs/runs/src';
import { usePrivateRedis } from '../../../../test/helpers/private-redis';
import { linkGrantOf, LinkSigner, runPathOf } from './link-signer';

const USERS_FILE = path.join(mkdtempSync(path.join(os.tmpdir(), 'wes-link-signer-')), 'wes.yaml');
writeFileSync(USERS_FILE, JSON.stringify({ authUsers: [{ name: 'alice', roles: [], tokenSha256: hashToken('t') }] }));

const RUN = '01936f6e-0000-7000-8000-000000000001';

describe('runPathOf', () => {
  it('gives the decoded path under the run, without the query', () => {
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/logs/stdout?expires=1&signature=x`, RUN)).toBe('logs/stdout');
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/tasks/3/logs/stderr`, RUN)).toBe('tasks/3/logs/stderr');
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/outputs/dir/a%20b%3F.txt?signature=x`, RUN)).toBe('outputs/dir/a b?.txt');
  });

  it('gives nothing for another run, another root, or a path that does not decode', () => {
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/logs/stdout`, 'other')).toBeUndefined();
    expect(runPathOf(`/other/runs/${RUN}/logs/stdout`, RUN)).toBeUndefined();
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}`, RUN)).toBeUndefined();
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/outputs/%E0%A4%A`, RUN)).toBeUndefined();
  });
});

const r = usePrivateRedis();

/** A LinkSigner as an API process has it, on the spec's Redis under `prefix`. */
function signer(prefix: string, env: NodeJS.ProcessEnv = {}): LinkSigner {
  const settings = loadSettings({ WES_AUTH_MODE: 'static', WES_CONFIG_FILE: USERS_FILE, WES_SIGNED_LINK_TTL_SECONDS: '600', ...env });
  return new LinkSigner(settings, r.redis, new RunKeys(prefix));
}

/** The query of a URL as Fastify parses it. */
const queryOf = (url: string) => Object.fromEntries(new URL(url).searchParams);
/** A request for a URL, as far as LinkSigner reads one. */
const requestOf = (url: string) => ({ query: queryOf(url) }) as unknown as FastifyRequest;
const BASE = 'http://wes.example.org/ga4gh/wes/v1';

describe('LinkSigner', () => {
  afterEach(() => {
    LinkSigner.keyRereadMs = 60_000;
  });

  it('signs every file URL of a run with one expiry, checked by another API process sharing the Redis key', async () => {
    const prefix = `links-${randomBytes(4).toString('hex')}`;
    const [a, b] = [signer(prefix), signer(prefix)];
    const url = (await a.urls(BASE, RUN))('outputs/dir/a b.txt');
    expect(url).toMatch(new RegExp(`^${BASE}/runs/${RUN}/outputs/dir/a%20b\\.txt\\?expires=\\d+&signature=[A-Za-z0-9_-]{43}$`));
    expect(a.carriesLink(queryOf(url))).toBe(true);
    expect(a.carriesLink({})).toBe(false);
    expect(await b.check(requestOf(url), RUN, runPathOf(new URL(url).pathname, RUN)!)).toBe('valid');
    expect(await b.check(requestOf(url), RUN, 'outputs/dir/other.txt')).toBe('invalid');
    // A request let in on the link carries its expiry, and the links it hands out (a Directory's listing) expire with it.
    const req = requestOf(url);
    expect(linkGrantOf(req)).toBeUndefined();
    expect(await b.check(req, RUN, 'outputs/dir/a b.txt')).toBe('valid');
    expect(linkGrantOf(req)).toBe(Number(queryOf(url).expires));
    const inner = (await b.urls(BASE, RUN, req))('outputs/dir/a b.txt/c.txt');
    expect(queryOf(inner).expires).toBe(queryOf(url).expires);
    const bad = requestOf(url.replace(/signature=(.)/, (_m, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`));
    expect(await b.check(bad, RUN, 'outputs/dir/a b.txt')).toBe('invalid');
    expect(linkGrantOf(bad)).toBeUndefined();
    // Another deployment (another key prefix) has another key.
    expect(await signer(`${prefix}-other`).check(requestOf(url), RUN, 'outputs/dir/a b.txt')).toBe('invalid');
  });

  it('uses WES_LINK_SIGNING_KEY when set (any process with it verifies), and signs nothing with authMode none or a lifetime of 0', async () => {
    const key = randomBytes(32).toString('base64');
    const url = (await signer('unused-a', { WES_LINK_SIGNING_KEY: key }).urls(BASE, RUN))('logs/stdout');
    expect(await signer('unused-b', { WES_LINK_SIGNING_KEY: key }).check(requestOf(url), RUN, 'logs/stdout')).toBe('valid');
    expect(await r.redis.exists(new RunKeys('unused-a').linkSigningKey)).toBe(0);
    const none = new LinkSigner(loadSettings({ WES_SIGNED_LINK_TTL_SECONDS: '600' }), r.redis, new RunKeys('unused-c'));
    expect(none.enabled).toBe(false);
    expect((await none.urls(BASE, RUN))('logs/stdout')).toBe(`${BASE}/runs/${RUN}/logs/stdout`);
    expect(signer('unused-d', { WES_SIGNED_LINK_TTL_SECONDS: '0' }).enabled).toBe(false);

    // A link with an expiry no fresh one would have (not on a bucket): the listing it lets in on expires with it.
    const expires = Math.floor(Date.now() / 1000) + 17;
    const dirUrl = `${BASE}/runs/${RUN}/outputs/dir?${signedLinkQuery(configuredLinkKey(key), RUN, 'outputs/dir', expires)}`;
    const dirReq = requestOf(dirUrl);
    const keyed = signer('unused-e', { WES_LINK_SIGNING_KEY: key });
    expect(await keyed.check(dirReq, RUN, 'outputs/dir')).toBe('valid');
    expect(queryOf((await keyed.urls(BASE, RUN, dirReq))('outputs/dir/a.txt')).expires).toBe(String(expires));
    expect(queryOf((await keyed.urls(BASE, RUN))('outputs/dir/a.txt')).expires).not.toBe(String(expires));
  });

  it("takes the key Redis holds now, after Redis lost the one it had, and keeps its last key while Redis is down", async () => {
    const prefix = `links-${randomBytes(4).toString('hex')}`;
    LinkSigner.keyRereadMs = 0;
    const old = signer(prefix);
    const before = (await old.urls(BASE, RUN))('logs/stdout');
    await r.redis.del(new RunKeys(prefix).linkSigningKey);
    const fresh = signer(prefix);
    const after = (await fresh.urls(BASE, RUN))('logs/stdout');
    expect(await old.check(requestOf(after), RUN, 'logs/stdout')).toBe('valid');
    expect(await fresh.check(requestOf(before), RUN, 'logs/stdout')).toBe('invalid');

    // Read once, then Redis goes away: the key read last still signs and checks.
    const settings = loadSettings({ WES_AUTH_MODE: 'static', WES_CONFIG_FILE: USERS_FILE, WES_SIGNED_LINK_TTL_SECONDS: '600' });
    const conn = new Redis(r.server.url, { maxRetriesPerRequest: 0 });
    conn.on('error', () => undefined);
    const held = new LinkSigner(settings, conn, new RunKeys(prefix));
    const signed = (await held.urls(BASE, RUN))('logs/stderr');
    conn.disconnect();
    expect(await held.check(requestOf(signed), RUN, 'logs/stderr')).toBe('valid');
    expect(await fresh.check(requestOf(signed), RUN, 'logs/stderr')).toBe('valid');
    // A process that never read it cannot sign without Redis.
    const cold = new LinkSigner(settings, conn, new RunKeys(prefix));
    await expect(cold.urls(BASE, RUN)).rejects.toThrow();
  });
});
