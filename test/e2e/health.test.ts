import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runForm, workflowFiles } from '../helpers/client';
import { uniqueNumber } from '../helpers/e2e';
import { sampleValue } from '../../libs/metrics/src';
import { getJson, scrape, useOpsStack } from '../helpers/ops';

/**
 * /healthz and /readyz of the API (at its port's root, public) and of a worker (its HTTP
 * listener): ready with Redis and the object store, not ready (503, naming the failed check)
 * while the test's private Redis is stopped and ready again once it is back; a worker draining
 * after SIGTERM is not ready while its run goes on, and still alive.
 */
const h = useOpsStack({ workerConcurrency: 1, workerEnv: { WES_DRAIN_MS: '60000' } });
const api = (path: string) => getJson(`${h.stack.origin}${path}`);
const worker = (path: string) => getJson(`${h.workerOrigin}${path}`);

/** Polls an endpoint until it answers `status`; the last answer. */
/**
 * The first answer with `status` whose body `accept` takes. While Redis shuts down, its
 * connection may still be up when a command already fails (the scripts check): the probe is
 * then 503 with `redis: ok` for a moment, which is right, but not yet the state a test awaits.
 */
async function until(read: () => Promise<{ status: number; body: any }>, status: number, what: string, timeoutMs = 30_000, accept: (body: any) => boolean = () => true) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await read().catch((err: Error) => ({ status: -1, body: err.message }));
    if (r.status === status && accept(r.body)) return r;
    if (Date.now() > deadline) throw new Error(`${what} never answered ${status}; last: ${r.status} ${JSON.stringify(r.body)}`);
    await sleep(100);
  }
}

describe('health endpoints', () => {
  it('healthz and readyz answer 200 on the API and the worker, naming each check', async () => {
    for (const read of [api, worker]) {
      expect((await read('/healthz')).status).toBe(200);
      const ready = await until(() => read('/readyz'), 200, 'readyz');
      expect(ready.body).toMatchObject({ status: 'ready', checks: { redis: 'ok', scripts: 'ok', objectStore: 'ok' } });
    }
    expect((await worker('/readyz')).body.checks).toMatchObject({ engines: 'ok', draining: 'ok' });
    // Outside the WES base path, without credentials, and not under it.
    expect((await getJson(`${h.stack.origin}/ga4gh/wes/v1/readyz`)).status).toBe(404);
    expect((await worker('/nothing')).status).toBe(404);
  });

  it('readyz answers 503 while Redis is stopped, healthz 200, and readyz 200 once Redis is back', async () => {
    const restarting = h.stack.redis.restart({ how: 'shutdown', downMs: 8000 });
    try {
      const redisDown = (body: any) => body?.checks?.redis !== 'ok';
      const a = await until(() => api('/readyz'), 503, 'API readyz', 7000, redisDown);
      expect(a.body.status).toBe('not ready');
      expect(a.body.checks.redis).not.toBe('ok');
      expect(a.body.checks.objectStore).toBe('ok');
      const w = await until(() => worker('/readyz'), 503, 'worker readyz', 7000, redisDown);
      expect(w.body.checks.redis).not.toBe('ok');
      expect((await api('/healthz')).status).toBe(200);
      expect((await worker('/healthz')).status).toBe(200);
      // /metrics still answers at once, without the figures read from Redis, with its errors counted.
      const metrics = await scrape(h.stack.origin);
      expect(metrics.samples.some((s) => s.name === 'wes_runs')).toBe(false);
      expect(sampleValue(metrics.samples, 'wes_redis_errors_total', { connection: 'main' }) + sampleValue(metrics.samples, 'wes_redis_reconnects_total', { connection: 'main' })).toBeGreaterThan(0);
      expect(sampleValue((await scrape(h.workerOrigin)).samples, 'wes_redis_reconnects_total')).toBeGreaterThan(0);
    } finally {
      await restarting;
    }
    await until(() => api('/readyz'), 200, 'API readyz after Redis came back');
    await until(() => worker('/readyz'), 200, 'worker readyz after Redis came back');
    // The scripts were loaded again (Redis restarted empty of them).
    expect((await api('/readyz')).body.checks.scripts).toBe('ok');
  });

  it("a worker's readyz answers 503 while it drains its runs after SIGTERM; healthz still 200", async () => {
    const seconds = uniqueNumber(300, 200);
    const runId = await h.stack.client.submitOk(
      runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds }, attachments: workflowFiles('sleep.cwl') }),
    );
    await h.stack.client.waitForState(runId, ['RUNNING']);
    const [w] = h.stack.liveWorkers();
    h.stack.signal(w!, 'SIGTERM');
    const r = await until(() => worker('/readyz'), 503, 'draining worker readyz', 10_000);
    expect(r.body.checks.draining).toMatch(/draining/);
    expect((await worker('/healthz')).status).toBe(200);
    // The API is not concerned.
    expect((await api('/readyz')).status).toBe(200);
    // The drain ends with the run; the worker exits.
    expect((await h.stack.client.cancel(runId)).status).toBe(200);
    await h.stack.client.waitForState(runId, ['CANCELED']);
    await h.stack.waitExit(w!, 30_000);
  });
});
