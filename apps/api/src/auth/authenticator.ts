import { createHash } from 'node:crypto';
import { AuthUser, listSetting, WesSettings } from '../../../../libs/config/src';
import { hashPassword, looksLikeJwt, oidcOwner, OidcTokenVerifier, tokenMatches, verifyPassword } from '../../../../libs/auth/src';
import { ANONYMOUS, Caller } from './caller';

/** How long a Basic credential that verified is taken as good without running scrypt again. */
const BASIC_CACHE_MS = 5 * 60_000;
const BASIC_CACHE_MAX = 1000;

function callerNamed(owner: string, userRoles: readonly string[]): Caller {
  const roles = [...userRoles];
  return roles.includes('admin') ? { name: owner, owner, admin: true, roles } : { name: owner, owner, admin: false, roles };
}

const callerFor = (user: AuthUser): Caller => callerNamed(user.name, user.roles);

/**
 * Turns an Authorization header into a Caller (null: no valid credentials). With authMode
 * none everyone is ANONYMOUS; with static, `Bearer <token>` (its sha256 against each user's
 * tokenSha256) or `Basic base64(user:password)` (scrypt against the user's passwordScrypt),
 * every comparison in constant time. With oidc, the static users' tokens and Basic work as with
 * static, and a bearer token that is none of theirs and is shaped as a JWT is verified against
 * the issuer (OidcTokenVerifier: its InvalidTokenError and IdentityProviderUnavailableError pass
 * through to the guard) and names the owner `oidc:<user>`.
 */
export class Authenticator {
  private readonly users: AuthUser[];
  private readonly byName: Map<string, AuthUser>;
  /** sha256 of a Basic header that verified → its user and when that stops counting (scrypt is slow on purpose; clients poll). */
  private readonly basicCache = new Map<string, { user: AuthUser; until: number }>();
  /** Verified against when the user is unknown, so an unknown name takes as long as a bad password. */
  private readonly decoy: Promise<string>;

  private readonly verifier?: OidcTokenVerifier;
  /** The WWW-Authenticate of a 401 (RFC 9110 §11.6.1): only the schemes this server takes. */
  private readonly schemes: { bearer: string; basic?: string };

  constructor(private readonly settings: WesSettings) {
    if (settings.authMode === 'oidc') {
      this.verifier = new OidcTokenVerifier({
        issuer: settings.oidcIssuer,
        audiences: listSetting(settings.oidcAudience),
        jwksUrl: settings.oidcJwksUrl || undefined,
        algorithms: listSetting(settings.oidcAlgorithms),
        clockToleranceSeconds: settings.oidcClockToleranceSeconds,
        userClaim: settings.oidcUserClaim,
        rolesClaim: settings.oidcRolesClaim,
        jwksCooldownSeconds: settings.oidcJwksCooldownSeconds,
      });
    }
    const basic = settings.authUsers.some((u) => u.passwordScrypt) ? 'Basic realm="wes"' : undefined;
    this.schemes = { bearer: 'Bearer realm="wes"', basic };
    this.users = settings.authUsers;
    this.byName = new Map(this.users.map((u) => [u.name, u]));
    const anyHash = this.users.find((u) => u.passwordScrypt)?.passwordScrypt;
    this.decoy = anyHash ? Promise.resolve(anyHash) : hashPassword('decoy', { N: 1024, r: 8, p: 1 });
  }

  get mode(): WesSettings['authMode'] {
    return this.settings.authMode;
  }

  /** With authMode oidc, fetches the issuer's key set now (see OidcTokenVerifier.probe); undefined otherwise. */
  probeIssuer(): Promise<{ url: string; keys: number }> | undefined {
    return this.verifier?.probe();
  }

  /**
   * The WWW-Authenticate of a 401 answering `authorization`: the schemes taken, and for a bearer
   * token that was refused RFC 6750's `error="invalid_token"`.
   */
  challenge(authorization: string | undefined): string {
    const bearer = /^Bearer\b/i.test(authorization ?? '') ? `${this.schemes.bearer}, error="invalid_token"` : this.schemes.bearer;
    return this.schemes.basic ? `${bearer}, ${this.schemes.basic}` : bearer;
  }

  /** How to send credentials, for the 401 of a request without any. */
  get credentialsHint(): string {
    const token = this.settings.authMode === 'oidc' ? `Bearer <a JWT of ${this.settings.oidcIssuer}>` : 'Bearer <token>';
    return `this server needs credentials: Authorization: ${token}${this.schemes.basic ? ', or Basic (user and password)' : ''}`;
  }

  async authenticate(authorization: string | undefined): Promise<Caller | null> {
    if (this.settings.authMode === 'none') return ANONYMOUS;
    if (!authorization) return null;
    const bearer = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization);
    if (bearer) {
      // A static token first, even one shaped as a JWT: its check is a sha256, and a static token never verifies as a JWT.
      const known = this.byToken(bearer[1]!);
      if (known || !this.verifier || !looksLikeJwt(bearer[1]!)) return known;
      const { user, roles } = await this.verifier.verify(bearer[1]!);
      return callerNamed(oidcOwner(user), roles);
    }
    const basic = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
    if (basic) return this.byPassword(basic[1]!);
    return null;
  }

  private byToken(token: string): Caller | null {
    // Every user is compared, so the time does not tell which one matched.
    let found: AuthUser | undefined;
    for (const user of this.users) if (user.tokenSha256 && tokenMatches(token, user.tokenSha256)) found = user;
    return found ? callerFor(found) : null;
  }

  private async byPassword(encoded: string): Promise<Caller | null> {
    const key = createHash('sha256').update(encoded).digest('hex');
    const cached = this.basicCache.get(key);
    if (cached && cached.until > Date.now()) return callerFor(cached.user);
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) return null;
    const [name, password] = [text.slice(0, colon), text.slice(colon + 1)];
    const user = this.byName.get(name);
    const ok = await verifyPassword(password, user?.passwordScrypt ?? (await this.decoy));
    if (!ok || !user?.passwordScrypt) return null;
    if (this.basicCache.size >= BASIC_CACHE_MAX) this.basicCache.clear();
    this.basicCache.set(key, { user, until: Date.now() + BASIC_CACHE_MS });
    return callerFor(user);
  }
}
