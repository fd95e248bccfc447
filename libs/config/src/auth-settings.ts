import { isIP } from 'node:net';
// The format's own file, not libs/auth's index (which brings the OIDC verifier).
import { parseScryptHash } from '../../auth/src/scrypt-hash';
import { InvalidSettingError } from './invalid-setting-error';
import { listSetting } from './list-setting';
import type { WesSettings } from './settings';

/** A user name is the owner of its runs and part of a Redis key: kept short and plain. */
export const AUTH_USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** Per-user overrides of the submit limits an authUsers entry may carry (see AuthUser). */
const USER_LIMIT_FIELDS = ['maxActiveRuns', 'submitsPerMinute'] as const;

/** Largest scrypt cost accepted (N·r·128 bytes of memory per check: 2^20·8·128 = 1 GiB). */
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

/**
 * Checks authUsers: each a mapping with a plain name (unique), a list of roles and at least one
 * credential in its documented format. `origin` names where the list came from.
 */
export function checkAuthUsers(settings: WesSettings, origin: string): void {
  const names = new Set<string>();
  const tokens = new Set<string>();
  settings.authUsers.forEach((user: unknown, i) => {
    const where = `invalid setting ${origin}[${i}]`;
    if (!user || typeof user !== 'object' || Array.isArray(user)) throw new InvalidSettingError(`${where}: must be a mapping with name, roles and tokenSha256 or passwordScrypt`);
    const u = user as Record<string, unknown>;
    const known = ['name', 'roles', 'tokenSha256', 'passwordScrypt', ...USER_LIMIT_FIELDS];
    const unknown = Object.keys(u).find((k) => !known.includes(k));
    if (unknown) throw new InvalidSettingError(`${where}: unknown field "${unknown}" (known: ${known.join(', ')})`);
    if (typeof u.name !== 'string' || !AUTH_USER_NAME.test(u.name)) {
      throw new InvalidSettingError(`${where}.name=${JSON.stringify(u.name)}: must be 1 to 64 letters, digits, _ . @ -`);
    }
    if (names.has(u.name)) throw new InvalidSettingError(`${where}.name: user "${u.name}" is listed twice`);
    names.add(u.name);
    if (u.roles === undefined) u.roles = [];
    if (!Array.isArray(u.roles) || u.roles.some((r) => typeof r !== 'string')) throw new InvalidSettingError(`${where}.roles: must be a list of strings`);
    if (u.tokenSha256 !== undefined) {
      if (typeof u.tokenSha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(u.tokenSha256)) {
        throw new InvalidSettingError(`${where}.tokenSha256: must be 64 hex digits (the sha256 of the token)`);
      }
      const t = u.tokenSha256.toLowerCase();
      if (tokens.has(t)) throw new InvalidSettingError(`${where}.tokenSha256: the same token is given to another user`);
      tokens.add(t);
    }
    if (u.passwordScrypt !== undefined) {
      // N a power of two, and the memory it takes bounded.
      const parsed = typeof u.passwordScrypt === 'string' ? parseScryptHash(u.passwordScrypt) : undefined;
      const { N: n, r, p } = parsed ?? { N: 0, r: 0, p: 0 };
      if (!parsed || n < 2 || (n & (n - 1)) !== 0 || r < 1 || p < 1 || 128 * n * r > MAX_SCRYPT_MEMORY || p > 16) {
        throw new InvalidSettingError(`${where}.passwordScrypt: must be scrypt$N$r$p$<salt base64>$<hash base64> (N a power of two, 128·N·r at most 1 GiB)`);
      }
    }
    for (const field of USER_LIMIT_FIELDS) {
      const v = u[field];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) {
        throw new InvalidSettingError(`${where}.${field}=${JSON.stringify(v)}: must be a whole number, 0 or more (0: no limit for this user)`);
      }
    }
    if (u.tokenSha256 === undefined && u.passwordScrypt === undefined) {
      throw new InvalidSettingError(`${where}: user "${u.name}" has neither tokenSha256 nor passwordScrypt`);
    }
  });
  if (settings.authMode === 'static' && settings.authUsers.length === 0) {
    throw new InvalidSettingError('invalid setting WES_AUTH_MODE=static: authUsers (in the WES_CONFIG_FILE) lists no user');
  }
}

/**
 * The JWS algorithms authMode `oidc` may accept: the asymmetric ones, whose verification key
 * is public. `none` is no signature; HS* would make the issuer's key set a shared secret, and
 * with a public key in the HMAC's place anyone could sign (the algorithm confusion attack).
 */
export const OIDC_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

function httpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Checks the oidc* settings: the algorithm list always (its default is checked like a value
 * given), and with authMode `oidc` an issuer URL, at least one audience and, if given, a JWKS URL.
 */
export function checkOidcSettings(settings: WesSettings): void {
  const algorithms = listSetting(settings.oidcAlgorithms);
  if (algorithms.length === 0) throw new InvalidSettingError('invalid setting WES_OIDC_ALGORITHMS: lists no algorithm');
  for (const alg of algorithms) {
    if (alg.toLowerCase() === 'none' || /^HS/i.test(alg)) {
      throw new InvalidSettingError(
        `invalid setting WES_OIDC_ALGORITHMS: "${alg}" is refused: ${alg.toLowerCase() === 'none' ? 'it means no signature' : 'a symmetric algorithm would let a token be signed with the public key'} (allowed: ${OIDC_ALGORITHMS.join(', ')})`,
      );
    }
    if (!OIDC_ALGORITHMS.includes(alg)) throw new InvalidSettingError(`invalid setting WES_OIDC_ALGORITHMS: unknown algorithm "${alg}" (allowed: ${OIDC_ALGORITHMS.join(', ')})`);
  }
  if (settings.authMode !== 'oidc') return;
  if (!settings.oidcIssuer) throw new InvalidSettingError('invalid setting WES_AUTH_MODE=oidc: WES_OIDC_ISSUER must name the issuer (the iss of the tokens)');
  if (!httpUrl(settings.oidcIssuer)) throw new InvalidSettingError(`invalid setting WES_OIDC_ISSUER=${JSON.stringify(settings.oidcIssuer)}: must be an https:// (or http://) URL`);
  if (listSetting(settings.oidcAudience).length === 0) {
    throw new InvalidSettingError('invalid setting WES_AUTH_MODE=oidc: WES_OIDC_AUDIENCE must name the audience (aud) of the tokens meant for this server');
  }
  if (settings.oidcJwksUrl && !httpUrl(settings.oidcJwksUrl)) {
    throw new InvalidSettingError(`invalid setting WES_OIDC_JWKS_URL=${JSON.stringify(settings.oidcJwksUrl)}: must be an https:// (or http://) URL, or empty to discover it from the issuer`);
  }
}

/** True for 127.0.0.0/8, ::1 (and ::ffff:127.x), and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    // The URL parser writes an IPv6 address in its one short form (::ffff:127.0.0.1 → ::ffff:7f00:1).
    const canonical = new URL(`http://[${h}]/`).hostname;
    return canonical === '[::1]' || canonical.startsWith('[::ffff:7f');
  }
  return false;
}

/**
 * The API's own check: with authMode `none` it must listen on a loopback address, unless the
 * operator says the network in front of it authenticates (authAllowNoneOnNetwork).
 */
export function checkApiListenSettings(settings: WesSettings): void {
  if (settings.authMode === 'none' && !settings.authAllowNoneOnNetwork && !isLoopbackHost(settings.host)) {
    throw new InvalidSettingError(
      `refusing to listen on WES_HOST=${settings.host} with WES_AUTH_MODE=none: anyone who reaches it could read and cancel every run. ` +
        'Use a loopback WES_HOST (127.0.0.1, ::1, localhost), set WES_AUTH_MODE=static with authUsers, ' +
        'or set WES_AUTH_ALLOW_NONE_ON_NETWORK=true if something in front of the API authenticates.',
    );
  }
}
