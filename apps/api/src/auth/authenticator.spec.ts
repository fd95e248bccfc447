import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WesSettings } from '../../../../libs/config/src';
import { hashPassword, hashToken, InvalidTokenError } from '../../../../libs/auth/src';
import { TestIssuer } from '../../../../test/helpers/oidc-issuer';
import { Authenticator } from './authenticator';

const CHEAP = { N: 1024, r: 8, p: 1 };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

async function staticAuthenticator(): Promise<Authenticator> {
  const settings = Object.assign(new WesSettings(), {
    authMode: 'static',
    authUsers: [
      { name: 'alice', roles: [], tokenSha256: hashToken('alice-token'), passwordScrypt: await hashPassword('alice: pw', CHEAP) },
      { name: 'bob', roles: [], passwordScrypt: await hashPassword('bob-pw', CHEAP) },
      { name: 'ops', roles: ['admin', 'x'], tokenSha256: hashToken('ops-token') },
    ],
  });
  return new Authenticator(settings);
}

describe('Authenticator', () => {
  it('takes everyone as the anonymous admin with authMode none, whatever the header', async () => {
    const a = new Authenticator(new WesSettings());
    for (const header of [undefined, 'Bearer x', 'garbage']) expect(await a.authenticate(header)).toEqual({ name: 'anonymous', admin: true, roles: ['admin'] });
  });

  it('knows a user by bearer token, the scheme in any case; admin by role', async () => {
    const a = await staticAuthenticator();
    expect(await a.authenticate('Bearer alice-token')).toEqual({ name: 'alice', owner: 'alice', admin: false, roles: [] });
    expect(await a.authenticate('bearer alice-token')).toEqual({ name: 'alice', owner: 'alice', admin: false, roles: [] });
    expect(await a.authenticate('Bearer ops-token')).toEqual({ name: 'ops', owner: 'ops', admin: true, roles: ['admin', 'x'] });
  });

  it('refuses a missing, unknown or malformed credential', async () => {
    const a = await staticAuthenticator();
    for (const header of [undefined, '', 'Bearer', 'Bearer alice-token2', 'Bearer alice-token extra', 'Bearer ' + hashToken('alice-token'), 'Token alice-token', 'alice-token']) {
      expect(await a.authenticate(header), String(header)).toBeNull();
    }
  });

  it('knows a user by HTTP Basic (the password may hold a colon), and refuses a wrong password, an unknown user, a user without one', async () => {
    const a = await staticAuthenticator();
    expect(await a.authenticate(basic('alice', 'alice: pw'))).toEqual({ name: 'alice', owner: 'alice', admin: false, roles: [] });
    expect(await a.authenticate(basic('bob', 'bob-pw'))).toMatchObject({ name: 'bob' });
    // A second time comes from the cache of verified headers; a wrong one is still refused.
    expect(await a.authenticate(basic('bob', 'bob-pw'))).toMatchObject({ name: 'bob' });
    for (const header of [basic('bob', 'bob-pw '), basic('bob', ''), basic('alice', 'bob-pw'), basic('carol', 'bob-pw'), basic('ops', 'ops-token'), 'Basic bm9jb2xvbg==', 'Basic !!!']) {
      expect(await a.authenticate(header), header).toBeNull();
    }
  });
});

describe('Authenticator with authMode oidc', () => {
  let issuer: TestIssuer;
  let a: Authenticator;
  beforeAll(async () => {
    issuer = await TestIssuer.start();
    await issuer.addKey('k1');
    const settings = Object.assign(new WesSettings(), {
      authMode: 'oidc',
      oidcIssuer: issuer.issuer,
      oidcAudience: 'wes',
      authUsers: [
        { name: 'alice', roles: [], tokenSha256: hashToken('alice-token') },
        { name: 'dotted', roles: [], tokenSha256: hashToken('abc.def.ghi') },
        { name: 'toil', roles: [], passwordScrypt: await hashPassword('toil-pw', CHEAP) },
      ],
    });
    a = new Authenticator(settings);
  });
  afterAll(() => issuer.stop());

  it('knows a JWT user as oidc:<sub>, apart from the static user of the same name, admin by the roles claim', async () => {
    expect(await a.authenticate(`Bearer ${await issuer.mint(issuer.claimsFor('alice'))}`)).toEqual({ name: 'oidc:alice', owner: 'oidc:alice', admin: false, roles: [] });
    expect(await a.authenticate(`Bearer ${await issuer.mint(issuer.claimsFor('ops', { roles: ['admin'] }))}`)).toEqual({ name: 'oidc:ops', owner: 'oidc:ops', admin: true, roles: ['admin'] });
    expect(await a.authenticate('Bearer alice-token')).toEqual({ name: 'alice', owner: 'alice', admin: false, roles: [] });
    expect(await a.authenticate(basic('toil', 'toil-pw'))).toMatchObject({ owner: 'toil' });
    // A static token shaped as a JWT is still the static user's.
    expect(await a.authenticate('Bearer abc.def.ghi')).toMatchObject({ owner: 'dotted' });
  });

  it('throws InvalidTokenError for a JWT that does not verify, and refuses an unknown static token', async () => {
    await expect(a.authenticate(`Bearer ${await issuer.mint(issuer.claimsFor('alice', { aud: 'x' }))}`)).rejects.toThrow(InvalidTokenError);
    expect(await a.authenticate('Bearer alice-token2')).toBeNull();
  });

  it('offers Bearer, and Basic only when a static user has a password; invalid_token after a refused bearer token', () => {
    expect(a.challenge(undefined)).toBe('Bearer realm="wes", Basic realm="wes"');
    expect(a.challenge('Bearer x.y.z')).toBe('Bearer realm="wes", error="invalid_token", Basic realm="wes"');
    expect(a.challenge('Basic eDp5')).toBe('Bearer realm="wes", Basic realm="wes"');
    const jwtOnly = new Authenticator(Object.assign(new WesSettings(), { authMode: 'oidc', oidcIssuer: issuer.issuer, oidcAudience: 'wes' }));
    expect(jwtOnly.challenge(undefined)).toBe('Bearer realm="wes"');
    expect(jwtOnly.credentialsHint).toContain(`Bearer <a JWT of ${issuer.issuer}>`);
    expect(jwtOnly.credentialsHint).not.toContain('Basic');
  });
});
