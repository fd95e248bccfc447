/**
 * The format of a password hash, `scrypt$N$r$p$<salt base64>$<hash base64>` (salt and hash at
 * least 16 bytes), in a file without imports: hashPassword writes it, verifyPassword reads it,
 * and libs/config checks authUsers' passwordScrypt against it; the `wes` CLI loads it at every
 * start (`auth-hash`), so nothing here may bring the settings loader or the OIDC verifier.
 */
const SCRYPT_HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]{22,}={0,2})\$([A-Za-z0-9+/]{22,}={0,2})$/;

/** A stored scrypt hash taken apart. */
export interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** The parts of a stored hash, or undefined when it is not in the format. */
export function parseScryptHash(stored: string): ScryptHash | undefined {
  const m = SCRYPT_HASH.exec(stored);
  if (!m) return undefined;
  return { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]), salt: Buffer.from(m[4]!, 'base64'), hash: Buffer.from(m[5]!, 'base64') };
}
