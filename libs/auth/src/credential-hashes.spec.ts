import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../config/src';
import { hashPassword, hashToken, newToken, tokenMatches, verifyPassword } from './credential-hashes';

// A low cost keeps the spec fast; the format and the check are the same.
const CHEAP = { N: 1024, r: 8, p: 1 };

describe('credential hashes', () => {
  it('hash a token to the hex sha256 and match it only for that token', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(tokenMatches('abc', hashToken('abc'))).toBe(true);
    expect(tokenMatches('abc', hashToken('abc').toUpperCase())).toBe(true);
    expect(tokenMatches('abd', hashToken('abc'))).toBe(false);
    expect(tokenMatches('', hashToken('abc'))).toBe(false);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
  });

  it('make new tokens that differ', () => {
    const [a, b] = [newToken(), newToken()];
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
  });

  it('hash a password in the documented scrypt format, salted, and verify it', async () => {
    const h = await hashPassword('s3cret: with colon', CHEAP);
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(await hashPassword('s3cret: with colon', CHEAP)).not.toBe(h);
    expect(await verifyPassword('s3cret: with colon', h)).toBe(true);
    expect(await verifyPassword('s3cret: with colon ', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
    expect(await verifyPassword('s3cret: with colon', 'not-a-hash')).toBe(false);
  });

  it('make hashes the settings accept (default cost)', async () => {
    const h = await hashPassword('pw');
    expect(h.startsWith('scrypt$32768$8$1$')).toBe(true);
    expect(await verifyPassword('pw', h)).toBe(true);
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const file = `${mkdtempSync('/tmp/wes-hash-spec-')}/c.yaml`;
    writeFileSync(file, `authMode: static\nauthUsers:\n  - name: u\n    passwordScrypt: "${h}"\n    tokenSha256: ${hashToken('t')}\n`);
    expect(loadSettings({ WES_CONFIG_FILE: file }).authUsers[0]).toMatchObject({ passwordScrypt: h });
  });
});
