import { createHash, randomBytes, scrypt, ScryptOptions, timingSafeEqual } from 'node:crypto';
import { parseScryptHash } from './scrypt-hash';

/** scrypt cost of new password hashes: N=2^15, r=8, p=1 (32 MiB, ~0.1 s). */
export const SCRYPT_DEFAULTS = { N: 32768, r: 8, p: 1 } as const;

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Hex sha256 of a bearer token: what authUsers[].tokenSha256 holds. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when the token's sha256 is `tokenSha256`, compared in constant time. */
export function tokenMatches(token: string, tokenSha256: string): boolean {
  const expected = Buffer.from(tokenSha256, 'hex');
  const actual = createHash('sha256').update(token, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A new random bearer token (32 bytes, base64url). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** `scrypt$N$r$p$<salt base64>$<hash base64>` of a password, with a fresh 16-byte salt. */
export async function hashPassword(password: string, cost: { N: number; r: number; p: number } = SCRYPT_DEFAULTS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32, { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 });
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` hashes to `stored` (a hashPassword string), compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseScryptHash(stored);
  if (!parsed) return false;
  const { N, r, p, salt, hash: expected } = parsed;
  const actual = await scryptAsync(password, salt, expected.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return timingSafeEqual(expected, actual);
}
