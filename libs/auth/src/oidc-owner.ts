import { createHash } from 'node:crypto';

/** Longest owner written plain: a Redis hash value up to 64 bytes stays a compact listpack (run-keys.ts). */
const MAX_PLAIN_OWNER = 64;

/**
 * The owner of the runs of a JWT's user. JWT users get their own namespace, `oidc:<user>`,
 * apart from the static users (whose names cannot hold `:` or `+`), so a token whose `sub` is
 * `alice` never reaches the runs of the static user `alice`. The owner is a segment of a Redis
 * key (RunKeys.ownerIndex), so every byte outside `A-Z a-z 0-9 _ . @ -` is percent-encoded
 * (`%` too: the encoding is one-to-one, and `:`, `{`, `}`, `*` or spaces never reach the key);
 * an owner longer than 64 characters becomes `oidc+<sha256 of the user, base64url>`.
 */
export function oidcOwner(user: string): string {
  const encoded = `oidc:${[...Buffer.from(user, 'utf8')].map((b) => (isPlain(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('')}`;
  return encoded.length <= MAX_PLAIN_OWNER ? encoded : `oidc+${createHash('sha256').update(user, 'utf8').digest('base64url')}`;
}

function isPlain(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x2e || b === 0x40 || b === 0x2d;
}
