import type { FastifyRequest } from 'fastify';
import { WesSettings } from '../../../../libs/config/src';

export const WES_BASE_PATH = '/ga4gh/wes/v1';

/**
 * Absolute URL of the WES API root as the client reached it (or as configured). Fastify's
 * `host` and `protocol` take X-Forwarded-Host/-Proto (their last entry, the one the nearest
 * proxy wrote) only from a peer of WES_TRUSTED_PROXIES (main.ts), else the Host header and the
 * socket's own scheme.
 */
export function wesBaseUrl(settings: WesSettings, request: FastifyRequest): string {
  if (settings.publicUrl) return `${settings.publicUrl.replace(/\/+$/, '')}${WES_BASE_PATH}`;
  const host = request.host || `localhost:${settings.port}`;
  const proto = request.protocol ?? 'http';
  return `${proto}://${host}${WES_BASE_PATH}`;
}

/** WES times: ISO 8601, "%Y-%m-%dT%H:%M:%SZ". */
export function wesTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * Absolute URL of one of a run's files, from its path relative to the run (decoded:
 * `logs/stdout`, `tasks/3/logs/stderr`, `outputs/dir/a b.txt`); signed when links are (LinkSigner).
 */
export type RunFileUrl = (runPath: string) => string;

/** The plain (unsigned) RunFileUrl of a run under the WES root `base`; `query` (without `?`) is appended when given. */
export function runFileUrl(base: string, runId: string, query?: (runPath: string) => string): RunFileUrl {
  const runUrl = `${base}/runs/${runId}`;
  return query ? (p) => `${runUrl}/${encodePath(p)}?${query(p)}` : (p) => `${runUrl}/${encodePath(p)}`;
}
