import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK, SignJWT } from 'jose';

export interface IssuerKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface MintOptions {
  /** Key to sign with (default: the first published one). */
  key?: IssuerKey;
  /** `kid` header (default: the key's). */
  kid?: string;
  /** Claims over the defaults (iss, aud `wes`, iat, exp in 5 minutes); `undefined` drops one. */
  claims?: Record<string, unknown>;
}

/**
 * A local OpenID Connect issuer on 127.0.0.1: `/.well-known/openid-configuration` and its
 * JWKS at `/jwks`, keys from jose's generateKeyPair, tokens minted with SignJWT. Keys can be
 * added after start (rotation), and the JWKS or the discovery document taken down (500).
 */
export class TestIssuer {
  readonly keys: IssuerKey[] = [];
  /** Paths requested so far. */
  readonly requests: string[] = [];
  /** While true the JWKS answers 500. */
  jwksDown = false;
  /** While true the discovery document answers 500. */
  discoveryDown = false;
  private constructor(
    private readonly server: http.Server,
    readonly issuer: string,
  ) {}

  static async start(): Promise<TestIssuer> {
    let self: TestIssuer | undefined;
    const server = http.createServer((req, res) => self!.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new TestIssuer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  get jwksUrl(): string {
    return `${this.issuer}/jwks`;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push(path);
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === '/.well-known/openid-configuration' && this.discoveryDown) return res.writeHead(500).end('down');
    if (path === '/.well-known/openid-configuration') return json({ issuer: this.issuer, jwks_uri: this.jwksUrl, id_token_signing_alg_values_supported: ['RS256', 'ES256'] });
    if (path === '/jwks' && this.jwksDown) return res.writeHead(500).end('down');
    if (path === '/jwks') return json({ keys: this.keys.map((k) => k.publicJwk) });
    res.writeHead(404).end();
  }

  /** A new key pair; published in the JWKS unless `publish` is false. */
  async addKey(kid: string, alg = 'RS256', publish = true): Promise<IssuerKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const key = { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
    if (publish) this.keys.push(key);
    return key;
  }

  /** The standard claims of a token of this issuer for `sub`, valid for five minutes. */
  claimsFor(sub: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return { iss: this.issuer, aud: 'wes', sub, iat: now, exp: now + 300, ...extra };
  }

  /** A signed JWT with `claims` (see claimsFor) by `key` (default: the first key). */
  async mint(claims: Record<string, unknown>, options: Omit<MintOptions, 'claims'> = {}): Promise<string> {
    const key = options.key ?? this.keys[0];
    if (!key) throw new Error('the issuer has no key');
    const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
    return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' }).sign(key.privateKey);
  }

  /** An unsigned token (`alg: none`), as jose would never make one. */
  static unsigned(claims: Record<string, unknown>, kid?: string): string {
    return `${b64url({ alg: 'none', typ: 'JWT', ...(kid ? { kid } : {}) })}.${b64url(claims)}.`;
  }

  /** HS256 with the PEM of `key`'s public key as the HMAC secret: the algorithm confusion attack. */
  static async hmacWithPublicKey(claims: Record<string, unknown>, key: IssuerKey): Promise<string> {
    const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64url(claims)}`;
    const pem = await exportSPKI(key.publicKey);
    return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
