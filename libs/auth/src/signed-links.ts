import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Query parameters of a signed link: its expiry (unix seconds) and its HMAC. */
export const LINK_EXPIRES_PARAM = 'expires';
export const LINK_SIGNATURE_PARAM = 'signature';

/** What a link's query says of it: good for this run and path, good but past its expiry, or not made by this server for them. */
export type LinkCheck = 'valid' | 'expired' | 'invalid';

/** Bytes of a random signing key. */
const KEY_BYTES = 32;
/** A base64url HMAC-SHA256: 32 bytes, 43 characters. */
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
/** Unix seconds, as written by linkExpiry (no sign, no leading zero, no exponent). */
const EXPIRES = /^[1-9]\d{0,11}$/;

/**
 * HMAC-SHA256 over the run, the path (relative to the run, decoded: `logs/stdout`,
 * `outputs/dir/a.txt`) and the expiry. The three are written as a JSON array, so no run id or
 * path can be made to read as another pair (a separator inside a path, say).
 */
export function linkSignature(key: Buffer, runId: string, path: string, expires: number): string {
  return createHmac('sha256', key).update(`wes-link-v1\n${JSON.stringify([runId, path, String(expires)])}`).digest('base64url');
}

/** `expires=<unix seconds>&signature=<base64url HMAC>` of a link to `path` of run `runId`. */
export function signedLinkQuery(key: Buffer, runId: string, path: string, expires: number): string {
  return `${LINK_EXPIRES_PARAM}=${expires}&${LINK_SIGNATURE_PARAM}=${linkSignature(key, runId, path, expires)}`;
}

/**
 * Checks a link's `expires` and `signature` for a run and path at `nowSeconds`. The signature
 * is checked first (in constant time), so `expired` only ever answers a link this server made.
 * A link is good while now < expires.
 */
export function checkLink(key: Buffer, runId: string, path: string, expires: unknown, signature: unknown, nowSeconds: number): LinkCheck {
  if (typeof expires !== 'string' || typeof signature !== 'string' || !EXPIRES.test(expires) || !SIGNATURE.test(signature)) return 'invalid';
  const expected = Buffer.from(linkSignature(key, runId, path, Number(expires)), 'base64url');
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return nowSeconds < Number(expires) ? 'valid' : 'expired';
}

/**
 * Width of the expiry buckets for a lifetime: a tenth of it, between 1 s and 5 minutes. Every
 * link signed within one bucket has the same expiry, so a run's RunLog reads the same for that
 * long (a cache or an ETag can hold it).
 */
export function linkBucketSeconds(ttlSeconds: number): number {
  return Math.min(300, Math.max(1, Math.floor(ttlSeconds / 10)));
}

/**
 * Expiry of a link signed at `nowSeconds`: now + ttl rounded up to the end of its bucket. A link
 * is good for at least `ttlSeconds` when handed out, and at most one bucket more; a response
 * kept one bucket (the time it reads the same) still holds links good for ttl − bucket.
 */
export function linkExpiry(nowSeconds: number, ttlSeconds: number): number {
  const bucket = linkBucketSeconds(ttlSeconds);
  return Math.ceil((Math.floor(nowSeconds) + ttlSeconds) / bucket) * bucket;
}

/** The key of a WES_LINK_SIGNING_KEY setting. */
export function configuredLinkKey(secret: string): Buffer {
  return Buffer.from(secret, 'utf8');
}

/** What sharedLinkKey needs of Redis (an ioredis client has it). */
export interface LinkKeyStore {
  set(key: string, value: string, mode: 'NX'): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

/**
 * The signing key every API process shares when none is configured: the first process writes a
 * random one at `redisKey` (SET NX, so two starting at once cannot both win), every process
 * reads whichever is there. It lives as long as Redis's data, so links outlive API restarts.
 */
export async function sharedLinkKey(redis: LinkKeyStore, redisKey: string): Promise<Buffer> {
  await redis.set(redisKey, randomBytes(KEY_BYTES).toString('base64url'), 'NX');
  const stored = await redis.get(redisKey);
  const key = stored === null ? Buffer.alloc(0) : Buffer.from(stored, 'base64url');
  if (key.length < KEY_BYTES) throw new Error(`the link signing key at Redis key ${redisKey} is missing or shorter than ${KEY_BYTES} bytes`);
  return key;
}
