/**
 * HTTP load with autocannon. Latencies are taken from autocannon's per-response event (float
 * milliseconds) rather than its histogram, which records whole milliseconds: sub-millisecond
 * requests would otherwise all read 0 or 1 ms.
 */
import autocannon from 'autocannon';
import { percentile, round } from './util';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Several request paths, cycled by each connection (instead of the URL's path). */
  paths?: string[];
  connections: number;
  durationS: number;
  /** Requests per second offered by all connections together; unset: as fast as the server answers. */
  overallRate?: number;
}

export interface LoadResult {
  /** 2xx responses per second over the run. */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  /** Latency of 2xx responses, milliseconds. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  mean: number | null;
  max: number | null;
  connections: number;
  offeredRate?: number;
  firstNon2xx?: string;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let firstNon2xx: string | undefined;
  const opts: autocannon.Options = {
    url: o.url,
    method: o.method ?? 'GET',
    headers: o.headers,
    body: o.body as string | undefined,
    connections: o.connections,
    duration: o.durationS,
    pipelining: 1,
    timeout: 10,
    ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    ...(o.paths
      ? {
          requests: o.paths.map((path) => ({ method: o.method ?? 'GET', path, headers: o.headers, body: o.body as string | undefined })),
        }
      : {}),
  };
  const result: autocannon.Result = await new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      else if (!firstNon2xx) firstNon2xx = `HTTP ${statusCode}`;
    });
  });
  const ok = latencies.length;
  const mean = ok ? latencies.reduce((a, b) => a + b, 0) / ok : null;
  return {
    rps: round(ok / result.duration, 1)!,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: round(result.duration, 2)!,
    p50: round(percentile(latencies, 50), 3),
    p90: round(percentile(latencies, 90), 3),
    p99: round(percentile(latencies, 99), 3),
    mean: round(mean, 3),
    max: round(ok ? latencies.reduce((a, b) => (b > a ? b : a), -Infinity) : null, 3),
    connections: o.connections,
    offeredRate: o.overallRate,
    firstNon2xx,
  };
}

/** A multipart/form-data body, built once, and its content-type (with the boundary). */
export function multipartBody(
  fields: [string, string][],
  files: { field: string; filename: string; content: string | Buffer; type?: string }[],
): { body: Buffer; contentType: string } {
  const boundary = `----wesbench${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  for (const f of files) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.field}"; filename="${f.filename}"\r\nContent-Type: ${f.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}
