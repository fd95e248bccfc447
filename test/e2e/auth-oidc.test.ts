import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../libs/auth/src';
import { argvRun, expectAdminCancels, expectRunMatrix, listAll, RunUrls, runUrls } from '../helpers/auth-matrix';
import { WesClient } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { type IssuerKey, TestIssuer } from '../helpers/oidc-issuer';
import type { StackOptions } from '../helpers/stack';
import { runWes } from '../helpers/wes-cli';

/**
 * authMode oidc through the real API and worker, against a local OpenID Connect issuer (its
 * discovery document and JWKS on 127.0.0.1): JWTs verified by signature, kid, algorithm, iss,
 * aud, exp and nbf; each JWT user owns its runs as `oidc:<sub>`, apart from the static user of
 * the same name kept beside (HTTP Basic and a static token); the Keycloak-style roles claim
 * makes an admin; a rotated key works without a restart; an issuer whose JWKS is down is a 503.
 */
const INSTRUCTIONS = 'https://id.example.org/how-to-get-a-token';
const STATIC_PASSWORD = `alice-pw-${randomBytes(12).toString('hex')}`;
const STATIC_TOKEN = `alice-token-${randomBytes(12).toString('hex')}`;
/** One second, so the key rotation and the JWKS outage need no long waits (the default is 30). */
const COOLDOWN_SECONDS = 1;
const INVALID = 'Bearer realm="wes", error="invalid_token", Basic realm="wes"';
const MISSING = 'Bearer realm="wes", Basic realm="wes"';

let issuer: TestIssuer;
let dir: string;
const options: StackOptions = {};
// Registered before useStack: the issuer is up before the stack starts, and stopped after it stops.
beforeAll(async () => {
  issuer = await TestIssuer.start();
  await issuer.addKey('rsa-1', 'RS256');
  await issuer.addKey('ec-1', 'ES256');
  dir = mkdtempSync(path.join(os.tmpdir(), 'wes-oidc-e2e-'));
  const salt = randomBytes(16);
  const scrypt = `scrypt$1024$8$1$${salt.toString('base64')}$${scryptSync(STATIC_PASSWORD, salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64')}`;
  const configFile = path.join(dir, 'wes.yaml');
  writeFileSync(configFile, JSON.stringify({ authUsers: [{ name: 'alice', roles: [], passwordScrypt: scrypt, tokenSha256: hashToken(STATIC_TOKEN) }], authInstructionsUrl: INSTRUCTIONS }));
  // No WES_OIDC_JWKS_URL: the server discovers it from the issuer.
  options.env = {
    WES_AUTH_MODE: 'oidc',
    WES_CONFIG_FILE: configFile,
    WES_OIDC_ISSUER: issuer.issuer,
    WES_OIDC_AUDIENCE: 'account, wes',
    WES_OIDC_ROLES_CLAIM: 'realm_access.roles',
    WES_OIDC_JWKS_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
  };
});
afterAll(async () => {
  await issuer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const h = useStack(options);

/** Every token and credential sent in this file, to look for in the logs at the end. */
const sent: string[] = [STATIC_PASSWORD, STATIC_TOKEN, Buffer.from(`alice:${STATIC_PASSWORD}`).toString('base64')];
const bearer = (token: string) => {
  sent.push(token);
  return new WesClient(h.stack.origin, { authorization: `Bearer ${token}` });
};
const now = () => Math.floor(Date.now() / 1000);
/** A client with a fresh valid JWT of `sub` (admin with `admin`), signed by `key` (default: the RSA key). */
const jwt = async (sub: string, { admin = false, key }: { admin?: boolean; key?: IssuerKey } = {}) =>
  bearer(await issuer.mint(issuer.claimsFor(sub, admin ? { realm_access: { roles: ['admin'] } } : {}), { key }));
const staticBasic = () => new WesClient(h.stack.origin, { authorization: `Basic ${Buffer.from(`alice:${STATIC_PASSWORD}`).toString('base64')}` });
const staticToken = () => new WesClient(h.stack.origin, { authorization: `Bearer ${STATIC_TOKEN}` });

let aliceRun = '';
let aliceRun2 = '';
let bobRun = '';
let staticRun = '';
/** alice's run that the admin cancelled. */
let canceledRun = '';
let urls: RunUrls;

describe('authMode oidc', () => {
  it('serves service-info without credentials, with auth_instructions_url', async () => {
    expect((await new WesClient(h.stack.origin).getJson('/service-info')).auth_instructions_url).toBe(INSTRUCTIONS);
  });

  it('runs the runs of JWT users (RSA and EC keys) and of the static user alice (HTTP Basic)', async () => {
    aliceRun = await (await jwt('alice')).submitOk(argvRun('one'));
    bobRun = await (await jwt('bob', { key: issuer.keys[1] })).submitOk(argvRun('bob'));
    staticRun = await staticBasic().submitOk(argvRun('static'));
    aliceRun2 = await (await jwt('alice', { key: issuer.keys[1] })).submitOk(argvRun('two'));
    urls = await runUrls(await jwt('alice'), aliceRun);
    await (await jwt('bob')).waitForState(bobRun, ['COMPLETE']);
    await staticBasic().waitForState(staticRun, ['COMPLETE']);
  });

  it('answers every run endpoint: owner and admin (roles claim) 200; another JWT user and the static user of the same name 403; no or a bad token 401', async () => {
    const expired = await issuer.mint(issuer.claimsFor('alice', { exp: now() - 3600 }));
    await expectRunMatrix(aliceRun, urls, {
      owner: await jwt('alice'),
      admins: [await jwt('ops', { admin: true })],
      others: [await jwt('bob'), staticBasic(), staticToken(), await jwt('oidc:alice')],
      refused: [
        { label: 'no credentials', client: new WesClient(h.stack.origin), challenge: MISSING },
        { label: 'expired JWT', client: bearer(expired), challenge: INVALID },
        { label: 'garbage', client: bearer('garbage.token.here'), challenge: INVALID },
      ],
    });
    // And the static user's run is not the JWT alice's.
    expect((await (await jwt('alice')).request('GET', `/runs/${staticRun}`)).status).toBe(403);
    expect((await staticBasic().request('GET', `/runs/${staticRun}`)).status).toBe(200);
  });

  it("lists only the caller's runs; the admin lists them all", async () => {
    expect(await listAll(await jwt('alice'))).toEqual([aliceRun2, aliceRun]);
    expect(await listAll(await jwt('bob'))).toEqual([bobRun]);
    expect(await listAll(staticBasic())).toEqual([staticRun]);
    expect(await listAll(await jwt('nobody-yet'))).toEqual([]);
    expect(await listAll(await jwt('ops', { admin: true }))).toEqual([aliceRun2, staticRun, bobRun, aliceRun]);
  });

  it('lets another user not cancel a run, and the admin (roles claim) cancel it', async () => {
    canceledRun = await expectAdminCancels(await jwt('alice'), await jwt('bob'), await jwt('ops', { admin: true }));
  });

  it('answers 401 invalid_token to each bad JWT, saying what is wrong and never echoing it', async () => {
    const stranger = await issuer.addKey('stranger', 'RS256', false);
    const alice = issuer.claimsFor('alice');
    const admin = issuer.claimsFor('alice', { realm_access: { roles: ['admin'] } });
    const cases: [string, string, RegExp][] = [
      ['expired beyond the leeway', await issuer.mint(issuer.claimsFor('alice', { exp: now() - 120 })), /expired/],
      ['nbf in the future', await issuer.mint(issuer.claimsFor('alice', { nbf: now() + 120 })), /not valid yet/],
      ['wrong audience', await issuer.mint(issuer.claimsFor('alice', { aud: 'another-service' })), /audience/],
      ['wrong issuer', await issuer.mint(issuer.claimsFor('alice', { iss: 'https://evil.example.org' })), /issuer/],
      ['no exp', await issuer.mint(issuer.claimsFor('alice', { exp: undefined })), /no exp claim/],
      ['unknown kid', await issuer.mint(admin, { key: stranger }), /kid/],
      ['another key claiming a known kid', await issuer.mint(admin, { key: stranger, kid: 'rsa-1' }), /signature/],
      ['alg none', TestIssuer.unsigned(admin, 'rsa-1'), /algorithm/],
      ['alg none without kid', TestIssuer.unsigned(admin), /algorithm/],
      ['HS256 with the RSA public key as secret', await TestIssuer.hmacWithPublicKey(admin, issuer.keys[0]!), /algorithm/],
      ['a JWT altered after signing', (await issuer.mint(alice)).replace(/\.[^.]+\./, `.${Buffer.from(JSON.stringify(admin)).toString('base64url')}.`), /signature/],
      ['garbage shaped as a JWT', 'bm90IGpzb24.bm90IGpzb24.c2ln', /well-formed/],
      ['a payload that is not JSON', 'eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.bm90IGpzb24.c2ln', /signature/],
    ];
    for (const [label, token, why] of cases) {
      for (const p of ['/runs', `/runs/${aliceRun}`]) {
        const r = await bearer(token).request('GET', p);
        expect(r.status, `${label}: ${p}`).toBe(401);
        expect(r.headers.get('www-authenticate'), label).toBe(INVALID);
        expect(r.body.msg, label).toMatch(/^the token is not valid: /);
        expect(r.body.msg, label).toMatch(why);
        expect(r.text, label).not.toContain(token);
        expect(r.text, label).not.toContain(token.split('.')[1]);
      }
    }
    for (const header of ['Bearer garbage', 'Bearer', 'Token x', `Bearer ${STATIC_TOKEN}x`]) {
      const r = await new WesClient(h.stack.origin, { authorization: header }).request('GET', '/runs');
      expect(r.status, header).toBe(401);
      expect(r.body.msg).toBe('the credentials are not valid');
    }
  });

  it('accepts exp and nbf within the 30 s leeway', async () => {
    expect((await bearer(await issuer.mint(issuer.claimsFor('alice', { exp: now() - 10 }))).request('GET', '/runs')).status).toBe(200);
    expect((await bearer(await issuer.mint(issuer.claimsFor('alice', { nbf: now() + 10 }))).request('GET', '/runs')).status).toBe(200);
  });

  it('owns the runs of a subject with odd characters under an encoded owner', async () => {
    const odd = await jwt('auth0|x:y {z}');
    const r = await odd.submitOk(argvRun('odd'));
    expect(await listAll(odd)).toEqual([r]);
    expect((await (await jwt('auth0|x:y')).request('GET', `/runs/${r}/status`)).status).toBe(403);
    await odd.waitForState(r, ['COMPLETE']);
    const lines = readFileSync(h.stack.api.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.find((l) => l.action === 'submit' && l.runId === r)).toMatchObject({ user: 'oidc:auth0%7Cx%3Ay%20%7Bz%7D' });
  });

  it('refuses a key before the issuer publishes it, and takes it after (rotation, no restart)', async () => {
    const next = await issuer.addKey('rsa-2', 'RS256', false);
    await sleep(COOLDOWN_SECONDS * 1000 + 200);
    const early = await bearer(await issuer.mint(issuer.claimsFor('alice'), { key: next })).request('GET', '/runs');
    expect(early.status).toBe(401);
    expect(early.body.msg).toContain('kid');
    issuer.keys.push(next);
    await sleep(COOLDOWN_SECONDS * 1000 + 200);
    const rotated = await bearer(await issuer.mint(issuer.claimsFor('alice'), { key: next }));
    expect(await listAll(rotated)).toEqual([canceledRun, aliceRun2, aliceRun]);
  });

  it('answers 503 when a token needs the JWKS and the issuer cannot serve it; known keys keep working; then recovers', async () => {
    const later = await issuer.addKey('rsa-3', 'RS256');
    issuer.jwksDown = true;
    try {
      await sleep(COOLDOWN_SECONDS * 1000 + 200);
      // Raw fetch: the WES document gives ListRuns no 503 (this server's openapi/ does), so WesClient would refuse it.
      const token = await issuer.mint(issuer.claimsFor('alice'), { key: later });
      sent.push(token);
      const r = await fetch(h.client.url('/runs'), { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(503);
      const body = (await r.json()) as { msg: string; status_code: number };
      expect(body.status_code).toBe(503);
      expect(body.msg).toMatch(/^the issuer's key set at http:\/\/127\.0\.0\.1:\d+\/jwks could not be fetched \(.+\); try again later$/);
      expect((await (await jwt('alice')).request('GET', '/runs')).status).toBe(200);
    } finally {
      issuer.jwksDown = false;
    }
    await sleep(COOLDOWN_SECONDS * 1000 + 200);
    expect((await (await jwt('alice', { key: later })).request('GET', '/runs')).status).toBe(200);
    // The discovery document was read once; the key set as often as new kids needed.
    expect(issuer.requests.filter((p) => p === '/.well-known/openid-configuration')).toHaveLength(1);
    expect(issuer.requests.filter((p) => p === '/jwks').length).toBeGreaterThan(1);
  });

  it('takes a JWT from the wes CLI (--token / WES_TOKEN) unchanged', async () => {
    const token = await issuer.mint(issuer.claimsFor('alice'));
    sent.push(token);
    const listed = await runWes(['list', '--json'], { url: h.stack.origin, env: { WES_TOKEN: token } });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).runs.map((r: { run_id: string }) => r.run_id)).toEqual([canceledRun, aliceRun2, aliceRun]);
    const refused = await runWes(['status', bobRun], { url: h.stack.origin, env: { WES_TOKEN: token } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('belongs to another user');
  });

  it('logs JWT users by owner, and no token or credential in any line of the API or the worker', async () => {
    const api = readFileSync(h.stack.api.logFile, 'utf8');
    const lines = api.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.find((l) => l.action === 'submit' && l.runId === aliceRun)).toMatchObject({ user: 'oidc:alice' });
    expect(lines.find((l) => l.action === 'submit' && l.runId === staticRun)).toMatchObject({ user: 'alice' });
    expect(lines.find((l) => l.action === 'cancel' && l.user === 'oidc:ops')).toBeDefined();
    // At start, before any token (the count may include a key a test published since).
    expect(lines.find((l) => l.msg === 'issuer key set fetched')).toMatchObject({ jwks: issuer.jwksUrl, keys: expect.any(Number) });
    expect(lines.some((l) => /JWKS|key set/.test(l.msg ?? '') || /key set/.test(l.err?.message ?? ''))).toBe(true);
    const logs = [api, ...h.stack.workers.map((w) => readFileSync(w.logFile, 'utf8'))].join('\n');
    expect(sent.length).toBeGreaterThan(20);
    for (const token of sent) {
      expect(logs).not.toContain(token);
      // Nor the signature alone (a token cut at a dot).
      const signature = token.split('.')[2];
      if (signature && signature.length > 20) expect(logs).not.toContain(signature);
    }
    expect(logs.toLowerCase()).not.toContain('authorization');
  });
});
