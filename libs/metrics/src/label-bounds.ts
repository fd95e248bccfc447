import type { MetricLabel } from './metric-catalog';

/**
 * What each label's values may be. A value outside its bound is recorded as `other`: a label
 * fed from a request (a method, an unknown route) can never grow the number of series, and
 * nothing shaped like a run id, a user or a URL query reaches a label.
 */
export const LABEL_BOUNDS: Record<MetricLabel, (value: string) => boolean> = {
  // WES states: upper-case words.
  state: (v) => /^[A-Z_]{1,32}$/.test(v),
  // Pool and engine names: the configured tables' names (a letter, then letters, digits, _ . -).
  pool: (v) => nameLike(v),
  engine: (v) => nameLike(v) && v === v.toLowerCase(),
  // A queue job status or a slot status, a word; an HTTP status, three digits.
  status: (v) => /^[a-z-]{1,24}$/.test(v) || /^[1-5]\d\d$/.test(v),
  // A route template as the router declares it (`/ga4gh/wes/v1/runs/:run_id`), never a URL.
  route: (v) => v === 'unmatched' || (/^\/[A-Za-z0-9_./:*{}-]{0,200}$/.test(v) && !/[?&=]/.test(v) && !looksLikeId(v)),
  method: (v) => ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].includes(v),
  connection: (v) => /^[a-z-]{1,32}$/.test(v),
  reason: (v) => v === 'request' || v === 'retention',
};

/** A name from a table (`cwltool`, `big.runs`), not a value such as a run id (a UUID, a long run of digits). */
function nameLike(v: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(v) && !/\d{4,}/.test(v) && !/[0-9a-f]{8}-[0-9a-f]{4}/i.test(v);
}

/** A path segment that is a value rather than a name: digits, a long hex or base-32 run of characters. */
function looksLikeId(route: string): boolean {
  return route.split('/').some((s) => !s.startsWith(':') && (/\d{4,}/.test(s) || /^[0-9A-Za-z]{20,}$/.test(s)));
}

/** The value a label is recorded with: itself when within its bound, else `other`. */
export function boundLabel(label: MetricLabel, value: string): string {
  return LABEL_BOUNDS[label](value) ? value : 'other';
}

/** A label object with every value bounded. */
export function boundLabels<L extends string>(labels: Partial<Record<L, string>>): Partial<Record<L, string>> {
  const out: Partial<Record<L, string>> = {};
  for (const [k, v] of Object.entries(labels) as [L, string | undefined][]) {
    if (v !== undefined) out[k] = boundLabel(k as unknown as MetricLabel, v);
  }
  return out;
}

/**
 * The route label of a request: the template its router matched (`/ga4gh/wes/v1/runs/:run_id`),
 * `unmatched` when none did (a 404 for an unknown path), never the URL it came with.
 */
export function routeLabel(template: string | undefined): string {
  return template ? boundLabel('route', template) : 'unmatched';
}
