import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { checkLink, configuredLinkKey, LINK_EXPIRES_PARAM, LINK_SIGNATURE_PARAM, LinkCheck, linkExpiry, sharedLinkKey, signedLinkQuery } from '../../../../libs/auth/src';
import { WesSettings } from '../../../../libs/config/src';
import { REDIS } from '../../../../libs/platform/src';
import { RunKeys } from '../../../../libs/runs/src';
import { RunFileUrl, runFileUrl, WES_BASE_PATH } from '../common/base-url';

/** Whether the API signs links: a lifetime is set and callers authenticate (with authMode none every route is open anyway). */
export function signsLinks(settings: WesSettings): boolean {
  return settings.signedLinkTtlSeconds > 0 && settings.authMode !== 'none';
}

const LINK_GRANT = Symbol('wes.linkGrant');

/** The expiry of the signed link a request was let in on (undefined: it came with credentials). */
export function linkGrantOf(req: FastifyRequest): number | undefined {
  return (req as unknown as Record<symbol, number | undefined>)[LINK_GRANT];
}

/**
 * The path relative to run `runId` that a request URL names (`/ga4gh/wes/v1/runs/<id>/logs/stdout`
 * → `logs/stdout`), decoded segment by segment as links are signed; undefined when the URL is
 * not under that run or does not decode. The query is no part of it.
 */
export function runPathOf(url: string, runId: string): string | undefined {
  const pathname = url.split('?')[0]!;
  const prefix = `${WES_BASE_PATH}/runs/`;
  if (!pathname.startsWith(prefix)) return undefined;
  const rest = pathname.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  try {
    if (decodeURIComponent(rest.slice(0, slash)) !== runId) return undefined;
    return rest
      .slice(slash + 1)
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  } catch {
    return undefined;
  }
}

/**
 * Signs the URLs of a run's logs and output files (HMAC over run, path and expiry, see
 * libs/auth signed-links), and checks them for the AuthGuard. On when WES_SIGNED_LINK_TTL_SECONDS
 * is above 0 and callers authenticate; the key is WES_LINK_SIGNING_KEY, or a random one every
 * API process shares through Redis.
 */
@Injectable()
export class LinkSigner {
  /** How often, in milliseconds, the key kept in Redis is read again. */
  static keyRereadMs = 60_000;
  private current?: Buffer;
  private readAt = 0;
  private reading?: Promise<Buffer>;

  constructor(
    private readonly settings: WesSettings,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RunKeys,
  ) {}

  get enabled(): boolean {
    return signsLinks(this.settings);
  }

  /**
   * URLs of a run's files under the WES root `base`: signed, all with the same expiry, when
   * links are signed. A request that came in on a signed link (a Directory's listing) hands out
   * links that expire with it, so holding one link never yields a longer grant.
   */
  async urls(base: string, runId: string, req?: FastifyRequest): Promise<RunFileUrl> {
    if (!this.enabled) return runFileUrl(base, runId);
    const key = await this.signingKey();
    const expires = (req && linkGrantOf(req)) ?? linkExpiry(Date.now() / 1000, this.settings.signedLinkTtlSeconds);
    return runFileUrl(base, runId, (p) => signedLinkQuery(key, runId, p, expires));
  }

  /** Whether a query carries a signed link's parameters (a request without them is judged by its credentials). */
  carriesLink(query: unknown): boolean {
    const q = (query ?? {}) as Record<string, unknown>;
    return q[LINK_SIGNATURE_PARAM] !== undefined || q[LINK_EXPIRES_PARAM] !== undefined;
  }

  /** Checks the signed link of a request to `runPath` of run `runId`; a valid one is noted on the request (its expiry). */
  async check(req: FastifyRequest, runId: string, runPath: string): Promise<LinkCheck> {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const check = checkLink(await this.signingKey(), runId, runPath, q[LINK_EXPIRES_PARAM], q[LINK_SIGNATURE_PARAM], Date.now() / 1000);
    if (check === 'valid') (req as unknown as Record<symbol, number>)[LINK_GRANT] = Number(q[LINK_EXPIRES_PARAM]);
    return check;
  }

  private async signingKey(): Promise<Buffer> {
    const configured = this.settings.linkSigningKey;
    if (configured) return (this.current ??= configuredLinkKey(configured));
    // Read again now and then: should Redis lose its data, every process soon takes the one new key.
    if (this.current && Date.now() - this.readAt < LinkSigner.keyRereadMs) return this.current;
    this.reading ??= sharedLinkKey(this.redis, this.keys.linkSigningKey)
      .then((key) => {
        this.current = key;
        this.readAt = Date.now();
        return key;
      })
      .finally(() => (this.reading = undefined));
    try {
      return await this.reading;
    } catch (err) {
      // Redis down: the key read last is still good; with none, the request fails (and the next tries again).
      if (this.current) return this.current;
      throw err;
    }
  }
}
