import { createHash } from 'node:crypto';
import { AuthUser, WesSettings } from '../../../../libs/config/src';
import { hashPassword, tokenMatches, verifyPassword } from '../../../../libs/auth/src';
import { ANONYMOUS, Caller } from './caller';

/** How long a Basic credential that verified is taken as good without running scrypt again. */
const BASIC_CACHE_MS = 5 * 60_000;
const BASIC_CACHE_MAX = 1000;

function callerFor(user: AuthUser): Caller {
  const roles = [...user.roles];
  return roles.includes('admin') ? { name: user.name, owner: user.name, admin: true, roles } : { name: user.name, owner: user.name, admin: false, roles };
}

/**
 * Turns an Authorization header into a Caller (null: no valid credentials). With authMode
 * none everyone is ANONYMOUS; with static, `Bearer <token>` (its sha256 against each user's
 * tokenSha256) or `Basic base64(user:password)` (scrypt against the user's passwordScrypt),
 * every comparison in constant time.
 */
export class Authenticator {
  private readonly users: AuthUser[];
  private readonly byName: Map<string, AuthUser>;
  /** sha256 of a Basic header that verified → its user and when that stops counting (scrypt is slow on purpose; clients poll). */
  private readonly basicCache = new Map<string, { user: AuthUser; until: number }>();
  /** Verified against when the user is unknown, so an unknown name takes as long as a bad password. */
  private readonly decoy: Promise<string>;

  constructor(private readonly settings: WesSettings) {
    this.users = settings.authUsers;
    this.byName = new Map(this.users.map((u) => [u.name, u]));
    const anyHash = this.users.find((u) => u.passwordScrypt)?.passwordScrypt;
    this.decoy = anyHash ? Promise.resolve(anyHash) : hashPassword('decoy', { N: 1024, r: 8, p: 1 });
  }

  get mode(): WesSettings['authMode'] {
    return this.settings.authMode;
  }

  async authenticate(authorization: string | undefined): Promise<Caller | null> {
    if (this.settings.authMode === 'none') return ANONYMOUS;
    if (!authorization) return null;
    const bearer = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization);
    if (bearer) return this.byToken(bearer[1]!);
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
