import { hashToken, tokenMatches } from '../../auth/src';

/**
 * Whether a request may read /metrics (API and workers): anyone when WES_METRICS_TOKEN is not
 * set, else only a bearer of exactly that token (compared as hashes, in constant time).
 */
export function metricsAllowed(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return !!m && tokenMatches(m[1]!, hashToken(token));
}

/** The body of a /metrics request refused for want of the token. */
export const METRICS_REFUSAL = { msg: 'the metrics need WES_METRICS_TOKEN as a bearer token', status_code: 401 } as const;
