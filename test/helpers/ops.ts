import { parsePrometheusText, PrometheusSample } from '../../libs/metrics/src';
import { freePort } from '../../scripts/lib/proc';
import { StackHandle, useStack } from './e2e';
import { StackOptions } from './stack';

export interface OpsStackHandle extends StackHandle {
  /** http://127.0.0.1:<worker HTTP port> of the stack's first worker. */
  readonly workerOrigin: string;
}

/** useStack, its workers with their HTTP listener (WES_WORKER_HTTP_PORT) on a free port. */
export function useOpsStack(options: StackOptions = {}): OpsStackHandle {
  let workerOrigin = '';
  const h = useStack(async () => {
    const port = await freePort();
    workerOrigin = `http://127.0.0.1:${port}`;
    return { ...options, workerEnv: { ...options.workerEnv, WES_WORKER_HTTP_PORT: String(port) } };
  });
  return {
    get stack() {
      return h.stack;
    },
    get client() {
      return h.client;
    },
    get workerOrigin() {
      return workerOrigin;
    },
  };
}

/** GET <origin>/metrics, checked to be Prometheus text, parsed. */
export async function scrape(origin: string, headers: Record<string, string> = {}): Promise<{ text: string; samples: PrometheusSample[] }> {
  const res = await fetch(`${origin}/metrics`, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${origin}/metrics → ${res.status}: ${text.slice(0, 300)}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/plain')) throw new Error(`GET ${origin}/metrics: content-type ${res.headers.get('content-type')}`);
  return { text, samples: parsePrometheusText(text) };
}

/** GET a JSON endpoint: status, body and headers. */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
