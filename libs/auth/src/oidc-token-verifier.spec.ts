import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../../../test/helpers/oidc-issuer';
import { oidcOwner } from './oidc-owner';
import { claimAt, IdentityProviderUnavailableError, InvalidTokenError, looksLikeJwt, OidcTokenVerifier, type OidcVerifierOptions } from './oidc-token-verifier';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await TestIssuer.start();
  await issuer.addKey('k1', 'RS256');
  await issuer.addKey('k2', 'ES256');
});
afterAll(() => issuer.stop());

const verifier = (options: Partial<OidcVerifierOptions> = {}) =>
  new OidcTokenVerifier({
    issuer: issuer.issuer,
    audiences: ['wes', 'other'],
    algorithms: ['RS256', 'ES256'],
    clockToleranceSeconds: 30,
    userClaim: 'sub',
    rolesClaim: 'roles',
    jwksCooldownSeconds: 0,
    fetchTimeoutMs: 2000,
    ...options,
  });

/** The InvalidTokenError message verify gives `token`, or a failure if it verifies. */
async function refusal(v: OidcTokenVerifier, token: string): Promise<string> {
  const err = await v.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the token was accepted').toBeInstanceOf(InvalidTokenError);
  expect((err as Error).message).not.toContain(token);
  return (err as Error).message;
}

const now = () => Math.floor(Date.now() / 1000);

describe('OidcTokenVerifier', () => {
  it('accepts a token of the issuer, by either key, discovering the JWKS from the issuer once', async () => {
    const v = verifier();
    const before = issuer.requests.filter((p) => p.includes('openid-configuration')).length;
    expect(await v.verify(await issuer.mint(issuer.claimsFor('alice', { roles: ['admin', 'x'] })))).toEqual({ user: 'alice', roles: ['admin', 'x'] });
    expect(await v.verify(await issuer.mint(issuer.claimsFor('bob', { aud: ['x', 'other'] }), { key: issuer.keys[1] }))).toEqual({ user: 'bob', roles: [] });
    expect(issuer.requests.filter((p) => p.includes('openid-configuration')).length - before).toBe(1);
  });

  it('refuses expired, not yet valid, other audience, other issuer, no exp, each saying so', async () => {
    const v = verifier();
    expect(await refusal(v, await issuer.mint(issuer.claimsFor('a', { exp: now() - 60 })))).toContain('expired');
    expect(await refusal(v, await issuer.mint(issuer.claimsFor('a', { nbf: now() + 60 })))).toContain('not valid yet');
    expect(await refusal(v, await issuer.mint(issuer.claimsFor('a', { aud: 'someone-else' })))).toContain('audience');
    expect(await refusal(v, await issuer.mint(issuer.claimsFor('a', { iss: 'https://evil.example.org' })))).toContain('issuer');
    expect(await refusal(v, await issuer.mint(issuer.claimsFor('a', { exp: undefined })))).toContain('no exp claim');
  });

  it('takes exp and nbf within the clock tolerance, and not beyond it', async () => {
    const v = verifier({ clockToleranceSeconds: 30 });
    expect((await v.verify(await issuer.mint(issuer.claimsFor('a', { exp: now() - 10, nbf: now() + 10 })))).user).toBe('a');
    expect(await refusal(verifier({ clockToleranceSeconds: 0 }), await issuer.mint(issuer.claimsFor('a', { exp: now() - 10 })))).toContain('expired');
  });

  it('refuses alg none, HS256 with the public key as secret, an algorithm not allowed, an unknown kid, a forged signature, garbage', async () => {
    const v = verifier();
    const claims = issuer.claimsFor('mallory', { roles: ['admin'] });
    expect(await refusal(v, TestIssuer.unsigned(claims, 'k1'))).toContain('algorithm');
    expect(await refusal(v, await TestIssuer.hmacWithPublicKey(claims, issuer.keys[0]!))).toContain('algorithm');
    expect(await refusal(verifier({ algorithms: ['ES256'] }), await issuer.mint(claims))).toContain('algorithm');
    const stranger = await issuer.addKey('stranger', 'RS256', false);
    expect(await refusal(v, await issuer.mint(claims, { key: stranger }))).toContain('kid');
    expect(await refusal(v, await issuer.mint(claims, { key: stranger, kid: 'k1' }))).toContain('signature');
    for (const junk of ['a.b.c', 'not-a-jwt', 'eyJhbGciOiJSUzI1NiJ9.e30.AAAA']) expect(await refusal(v, junk)).toMatch(/well-formed|signature|could not/);
  });

  it('fetches the JWKS again for an unknown kid after the cooldown: a key added later works without a new verifier', async () => {
    const v = verifier({ jwksUrl: issuer.jwksUrl });
    await v.verify(await issuer.mint(issuer.claimsFor('a')));
    const later = await issuer.addKey('later', 'RS256');
    expect(await v.verify(await issuer.mint(issuer.claimsFor('rotated'), { key: later }))).toEqual({ user: 'rotated', roles: [] });
  });

  it('does not fetch the JWKS for an unknown kid within the cooldown', async () => {
    const v = verifier({ jwksUrl: issuer.jwksUrl, jwksCooldownSeconds: 3600 });
    await v.verify(await issuer.mint(issuer.claimsFor('a')));
    const fetches = issuer.requests.filter((p) => p === '/jwks').length;
    const unpublished = await issuer.addKey('unpublished', 'RS256', false);
    for (let i = 0; i < 3; i++) expect(await refusal(v, await issuer.mint(issuer.claimsFor('a'), { key: unpublished }))).toContain('kid');
    expect(issuer.requests.filter((p) => p === '/jwks').length).toBe(fetches);
  });

  it('reads the user and roles claims by name or dotted path; roles as a list or a space-separated string', async () => {
    const keycloak = verifier({ userClaim: 'preferred_username', rolesClaim: 'realm_access.roles' });
    const token = await issuer.mint(issuer.claimsFor('uuid-1', { preferred_username: 'carol', realm_access: { roles: ['admin'] } }));
    expect(await keycloak.verify(token)).toEqual({ user: 'carol', roles: ['admin'] });
    const spaced = verifier({ rolesClaim: 'scope' });
    expect((await spaced.verify(await issuer.mint(issuer.claimsFor('d', { scope: ' wes:run  admin ' })))).roles).toEqual(['wes:run', 'admin']);
    const namespaced = verifier({ rolesClaim: 'https://wes.example.org/roles' });
    expect((await namespaced.verify(await issuer.mint(issuer.claimsFor('e', { 'https://wes.example.org/roles': ['x'] })))).roles).toEqual(['x']);
    expect(await refusal(verifier(), await issuer.mint(issuer.claimsFor('f', { roles: [1, 2] })))).toContain('roles');
    expect(await refusal(verifier(), await issuer.mint(issuer.claimsFor('', {})))).toContain('sub claim');
    expect(await refusal(keycloak, await issuer.mint(issuer.claimsFor('g')))).toContain('preferred_username');
    expect(await refusal(verifier(), await issuer.mint(issuer.claimsFor('x'.repeat(256))))).toContain('longer than 255');
  });

  it('tries a failed discovery again only after the cooldown', async () => {
    const discoveries = () => issuer.requests.filter((p) => p.includes('openid-configuration')).length;
    const v = verifier({ jwksCooldownSeconds: 1 });
    const token = await issuer.mint(issuer.claimsFor('a'));
    issuer.discoveryDown = true;
    try {
      const before = discoveries();
      await expect(v.verify(token)).rejects.toThrow(/discovery document .* could not be used \(it answered HTTP 500\)/);
      issuer.discoveryDown = false;
      await expect(v.verify(token)).rejects.toThrow(IdentityProviderUnavailableError);
      expect(discoveries() - before).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect((await v.verify(token)).user).toBe('a');
      expect(discoveries() - before).toBe(2);
    } finally {
      issuer.discoveryDown = false;
    }
  });

  it('probes the key set at start: its URL and key count, or IdentityProviderUnavailableError', async () => {
    expect(await verifier().probe()).toEqual({ url: issuer.jwksUrl, keys: issuer.keys.length });
    issuer.jwksDown = true;
    try {
      await expect(verifier().probe()).rejects.toThrow(IdentityProviderUnavailableError);
    } finally {
      issuer.jwksDown = false;
    }
    await expect(verifier({ issuer: 'http://127.0.0.1:9' }).probe()).rejects.toThrow(/discovery document/);
  });

  it('answers IdentityProviderUnavailableError when the JWKS or the discovery document cannot be fetched, and recovers', async () => {
    issuer.jwksDown = true;
    try {
      const v = verifier({ jwksUrl: issuer.jwksUrl });
      await expect(v.verify(await issuer.mint(issuer.claimsFor('a')))).rejects.toThrow(IdentityProviderUnavailableError);
      await expect(v.verify(await issuer.mint(issuer.claimsFor('a')))).rejects.toThrow(/key set at .*jwks could not be fetched/);
      issuer.jwksDown = false;
      expect((await v.verify(await issuer.mint(issuer.claimsFor('a')))).user).toBe('a');
    } finally {
      issuer.jwksDown = false;
    }
    const nowhere = verifier({ issuer: 'http://127.0.0.1:9' });
    await expect(nowhere.verify(await issuer.mint(issuer.claimsFor('a')))).rejects.toThrow(/discovery document at http:\/\/127.0.0.1:9\/.well-known\/openid-configuration could not be used/);
    const otherIssuer = verifier({ issuer: `${issuer.issuer}/` });
    await expect(otherIssuer.verify(await issuer.mint(issuer.claimsFor('a', { iss: `${issuer.issuer}/` })))).rejects.toThrow(/names issuer/);
  });
});

describe('looksLikeJwt and claimAt', () => {
  it('tell JWTs from static tokens', () => {
    expect(looksLikeJwt('eyJh.eyJz.sig')).toBe(true);
    expect(looksLikeJwt('eyJh.eyJz.')).toBe(true);
    for (const t of ['alice-token-0123', 'a.b', 'a.b.c.d.e', 'a.b.c=']) expect(looksLikeJwt(t), t).toBe(false);
  });

  it('reads own properties only', () => {
    expect(claimAt({ a: { b: ['x'] } }, 'a.b')).toEqual(['x']);
    expect(claimAt({ 'a.b': 1, a: { b: 2 } }, 'a.b')).toBe(1);
    expect(claimAt({ a: {} }, 'a.constructor')).toBeUndefined();
    expect(claimAt({ a: [1] }, 'a.0')).toBeUndefined();
  });
});

describe('oidcOwner', () => {
  it('puts JWT users in their own namespace, one-to-one, with only key-safe characters', () => {
    expect(oidcOwner('alice')).toBe('oidc:alice');
    expect(oidcOwner('auth0|5f7c')).toBe('oidc:auth0%7C5f7c');
    expect(oidcOwner('%7C')).toBe('oidc:%257C');
    expect(oidcOwner('a:b{c} *é')).toBe('oidc:a%3Ab%7Bc%7D%20%2A%C3%A9');
    for (const user of ['x'.repeat(59), 'x'.repeat(60), ':'.repeat(30), 'bob\nroot']) {
      const owner = oidcOwner(user);
      expect(owner, user).toMatch(/^oidc[:+][A-Za-z0-9_.@%-]+$/);
      expect(owner.length, user).toBeLessThanOrEqual(64);
    }
    expect(oidcOwner('x'.repeat(59))).toBe(`oidc:${'x'.repeat(59)}`);
    expect(oidcOwner('x'.repeat(60))).toMatch(/^oidc\+/);
    expect(oidcOwner('x'.repeat(60))).not.toBe(oidcOwner('x'.repeat(61)));
  });
});
