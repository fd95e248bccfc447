import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface OidcVerifierOptions {
  /** `iss` the tokens must carry, exactly. */
  issuer: string;
  /** A token must name one of these in `aud`. */
  audiences: readonly string[];
  /** The issuer's key set; empty: the `jwks_uri` of its discovery document. */
  jwksUrl?: string;
  /** JWS algorithms accepted (asymmetric ones: the settings refuse `none` and HS*). */
  algorithms: readonly string[];
  /** Seconds of clock difference allowed on `exp` and `nbf`. */
  clockToleranceSeconds: number;
  /** Claim naming the user (a dotted path reaches a nested one). */
  userClaim: string;
  /** Claim holding the roles: a list of strings or a space-separated string (a dotted path reaches a nested one). */
  rolesClaim: string;
  /** After a fetch of the key set, how long before an unknown `kid` fetches it again. */
  jwksCooldownSeconds: number;
  /** Limit of each fetch of the discovery document or the key set. */
  fetchTimeoutMs?: number;
}

/** Who a valid token names. */
export interface VerifiedToken {
  user: string;
  roles: string[];
}

/** The token is not valid (401): the message says what is wrong in general terms, never the token. */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/**
 * The issuer's discovery document or key set could not be fetched or read (503): the token
 * may be good, so the client should retry rather than drop it.
 */
export class IdentityProviderUnavailableError extends Error {
  override name = 'IdentityProviderUnavailableError';
}

/** The issuer's key set: where it is, jose's cache of it, and the key lookup for jwtVerify. */
interface KeySet {
  url: URL;
  remote: ReturnType<typeof createRemoteJWKSet>;
  getKey: JWTVerifyGetKey;
}

/** Three base64url parts (the signature may be empty, as in an `alg: none` token): a JWS compact serialization. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Whether a bearer token is shaped as a JWT (the others are static tokens). */
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/** Longest user claim accepted (the owner made of it is bounded: see oidcOwner). */
const MAX_USER_CHARS = 255;

/**
 * A claim by name: the claim of that exact name if the token has one (namespaced claims such
 * as `https://example.org/roles` hold dots), otherwise the dotted path through nested objects.
 */
export function claimAt(payload: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (!value || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** What a jose error says about a token, in words a client can act on. */
function invalidTokenFor(err: unknown, algorithms: readonly string[]): InvalidTokenError {
  if (err instanceof errors.JWTExpired) return new InvalidTokenError('the token has expired (exp)');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return new InvalidTokenError(`the token has no ${err.claim} claim`);
    const known: Record<string, string> = {
      iss: 'the token is from another issuer (iss)',
      aud: 'the token is meant for another audience (aud)',
      nbf: 'the token is not valid yet (nbf)',
    };
    return new InvalidTokenError(known[err.claim] ?? `the token's ${err.claim} claim is not valid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new InvalidTokenError(`the token's signing algorithm (alg) is not accepted; accepted: ${algorithms.join(', ')}`);
  if (err instanceof errors.JWKSNoMatchingKey) return new InvalidTokenError("no key of the issuer matches the token's key id (kid) and algorithm");
  if (err instanceof errors.JWKSMultipleMatchingKeys) return new InvalidTokenError("several keys of the issuer match the token and none verifies it");
  if (err instanceof errors.JWSSignatureVerificationFailed) return new InvalidTokenError("the token's signature does not verify");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return new InvalidTokenError('the token is not a well-formed signed JWT');
  return new InvalidTokenError('the token could not be verified', { cause: err });
}

/**
 * Verifies OIDC access or ID tokens (signed JWTs) with jose against the issuer's key set:
 * the signature (an allowed algorithm, a key of the set chosen by `kid`), `iss`, `aud`, `exp`
 * (required) and `nbf` with the clock tolerance; then reads the user and the roles claims.
 * The key set is fetched when first needed and cached by jose; a `kid` it does not hold
 * fetches it again, at most once per cooldown, so a rotated key works without a restart.
 */
export class OidcTokenVerifier {
  private keys?: Promise<KeySet>;
  private readonly timeoutMs: number;

  constructor(private readonly options: OidcVerifierOptions) {
    this.timeoutMs = options.fetchTimeoutMs ?? 5000;
  }

  /** The verified token's user and roles; InvalidTokenError or IdentityProviderUnavailableError otherwise. */
  async verify(token: string): Promise<VerifiedToken> {
    const o = this.options;
    if (!looksLikeJwt(token)) throw new InvalidTokenError('the token is not a well-formed signed JWT');
    const { getKey } = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: o.issuer,
        audience: [...o.audiences],
        algorithms: [...o.algorithms],
        clockTolerance: o.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (err instanceof IdentityProviderUnavailableError) throw err;
      throw invalidTokenFor(err, o.algorithms);
    }
    const user = claimAt(payload, o.userClaim);
    if (typeof user !== 'string' || user === '') throw new InvalidTokenError(`the token's ${o.userClaim} claim (the user) is missing or not a string`);
    if (user.length > MAX_USER_CHARS) throw new InvalidTokenError(`the token's ${o.userClaim} claim (the user) is longer than ${MAX_USER_CHARS} characters`);
    return { user, roles: rolesOf(claimAt(payload, o.rolesClaim), o.rolesClaim) };
  }

  /**
   * Fetches the key set now (discovering its URL first when none is configured): its URL and
   * how many keys it holds. For a start-up check; failures are IdentityProviderUnavailableError.
   */
  async probe(): Promise<{ url: string; keys: number }> {
    const { url, remote } = await this.keySet();
    try {
      await remote.reload();
    } catch (err) {
      throw this.unavailableKeySet(url, err);
    }
    return { url: url.href, keys: remote.jwks()?.keys.length ?? 0 };
  }

  /**
   * The key set, discovering its URL first when none is configured. A failed discovery stays
   * the answer for the cooldown (tokens cannot make the server hammer a provider that is down),
   * then is tried again.
   */
  private keySet(): Promise<KeySet> {
    if (!this.keys) {
      const keys = (this.options.jwksUrl ? Promise.resolve(new URL(this.options.jwksUrl)) : this.discoverJwksUrl()).then((url) => this.remoteKeys(url));
      keys.catch(() => setTimeout(() => this.keys === keys && (this.keys = undefined), this.options.jwksCooldownSeconds * 1000).unref());
      this.keys = keys;
    }
    return this.keys;
  }

  private remoteKeys(url: URL): KeySet {
    const remote = createRemoteJWKSet(url, { cooldownDuration: this.options.jwksCooldownSeconds * 1000, timeoutDuration: this.timeoutMs });
    const getKey: JWTVerifyGetKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        // These two are about the token; anything else is the key set failing to arrive or parse.
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
        throw this.unavailableKeySet(url, err);
      }
    };
    return { url, remote, getKey };
  }

  private unavailableKeySet(url: URL, err: unknown): IdentityProviderUnavailableError {
    const why = err instanceof errors.JWKSTimeout ? `no answer within ${this.timeoutMs} ms` : err instanceof errors.JOSEError ? err.message : 'the connection failed';
    return new IdentityProviderUnavailableError(`the issuer's key set at ${url.href} could not be fetched (${why}); try again later`, { cause: err });
  }

  /** `jwks_uri` of `<issuer>/.well-known/openid-configuration`, which must name the same issuer. */
  private async discoverJwksUrl(): Promise<URL> {
    const where = `${this.options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const unavailable = (why: string, cause?: unknown) =>
      new IdentityProviderUnavailableError(`the issuer's discovery document at ${where} could not be used (${why}); try again later`, { cause });
    let doc: unknown;
    try {
      const res = await fetch(where, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      if (res.status !== 200) throw unavailable(`it answered HTTP ${res.status}`);
      doc = await res.json();
    } catch (err) {
      if (err instanceof IdentityProviderUnavailableError) throw err;
      throw unavailable((err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : err instanceof SyntaxError ? 'it is not JSON' : 'the connection failed', err);
    }
    const d = (doc && typeof doc === 'object' ? doc : {}) as Record<string, unknown>;
    if (d.issuer !== this.options.issuer) throw unavailable(`it names issuer ${JSON.stringify(d.issuer)}, not the configured ${JSON.stringify(this.options.issuer)}`);
    if (typeof d.jwks_uri !== 'string' || !/^https?:\/\//.test(d.jwks_uri)) throw unavailable('its jwks_uri is missing or not an http(s) URL');
    return new URL(d.jwks_uri);
  }
}

/** The roles of a roles claim: none when absent, a list of strings, or a space-separated string (as OAuth's `scope`). */
function rolesOf(claim: unknown, name: string): string[] {
  if (claim === undefined || claim === null) return [];
  if (typeof claim === 'string') return claim.split(/\s+/).filter(Boolean);
  if (Array.isArray(claim) && claim.every((r) => typeof r === 'string')) return [...claim];
  throw new InvalidTokenError(`the token's ${name} claim (the roles) is neither a list of strings nor a space-separated string`);
}
