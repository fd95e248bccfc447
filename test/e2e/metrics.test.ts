import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { PrometheusSample, sampleValue } from '../../libs/metrics/src';
import { runForm, workflowFiles } from '../helpers/client';
import { uniqueNumber } from '../helpers/e2e';
import { scrape, useOpsStack } from '../helpers/ops';

/**
 * /metrics of the API and of a worker (WES_WORKER_HTTP_PORT), scraped before and after real
 * cwltool runs: the figures move with a completed run, a cancelled one and a queued one, the
 * output is Prometheus text, and no label carries a run id. One worker running one run at a
 * time, so a second run waits in its queue.
 */
const h = useOpsStack({ workerConcurrency: 1 });
const ENGINE = { engine: 'cwltool' };
const RUN_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

const sleepRun = (seconds: number) =>
  runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds }, attachments: workflowFiles('sleep.cwl') });

const api = () => scrape(h.stack.origin).then((s) => s.samples);
const worker = () => scrape(h.workerOrigin).then((s) => s.samples);

/** Scrapes until `ok` holds of the samples (a worker's histograms are observed just after the state is written). */
async function until(read: () => Promise<PrometheusSample[]>, ok: (s: PrometheusSample[]) => boolean, what: string): Promise<PrometheusSample[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await read();
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`metrics never showed ${what}`);
    await sleep(200);
  }
}

function noRunIdLabels(samples: PrometheusSample[], runIds: string[]) {
  for (const s of samples) {
    for (const [label, value] of Object.entries(s.labels)) {
      expect(RUN_ID.test(value), `${s.name}{${label}="${value}"}`).toBe(false);
      for (const id of runIds) expect(value).not.toContain(id);
    }
  }
}

describe('metrics of the API and a worker', () => {
  const runIds: string[] = [];

  it('answer Prometheus text with the catalog names on both processes', async () => {
    const a = await scrape(h.stack.origin);
    const w = await scrape(h.workerOrigin);
    for (const name of ['wes_runs', 'wes_queue_jobs', 'wes_runs_submitted_total', 'wes_http_requests_total', 'wes_http_request_duration_seconds', 'wes_redis_errors_total']) {
      expect(a.text).toContain(`# TYPE ${name} `);
    }
    for (const name of ['wes_runs_finished_total', 'wes_run_duration_seconds', 'wes_run_queue_wait_seconds', 'wes_run_dispatch_seconds', 'wes_run_cancel_seconds', 'wes_engine_processes', 'wes_worker_slots']) {
      expect(w.text).toContain(`# TYPE ${name} `);
    }
    expect(sampleValue(w.samples, 'wes_worker_slots', { status: 'free' })).toBe(1);
    expect(sampleValue(a.samples, 'wes_queue_jobs', { pool: 'default', status: 'waiting' })).toBe(0);
  });

  it('move with a completed cwltool run: submitted, finished, histograms, runs by state, HTTP requests', async () => {
    const [a0, w0] = [await api(), await worker()];
    const runId = await h.stack.client.submitOk(sleepRun(1));
    runIds.push(runId);
    await h.stack.client.waitForState(runId, ['COMPLETE']);
    const w1 = await until(worker, (s) => sampleValue(s, 'wes_run_duration_seconds_count', ENGINE) > sampleValue(w0, 'wes_run_duration_seconds_count', ENGINE), 'the run duration');
    const a1 = await api();
    const delta = (after: PrometheusSample[], before: PrometheusSample[], name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta(a1, a0, 'wes_runs_submitted_total', ENGINE)).toBe(1);
    expect(delta(a1, a0, 'wes_runs', { state: 'COMPLETE' })).toBe(1);
    expect(delta(a1, a0, 'wes_http_requests_total', { route: '/ga4gh/wes/v1/runs', method: 'POST', status: '200' })).toBe(1);
    expect(delta(a1, a0, 'wes_http_request_duration_seconds_count', { route: '/ga4gh/wes/v1/runs', method: 'POST', status: '200' })).toBe(1);
    // The status polls, by their route's template.
    expect(delta(a1, a0, 'wes_http_requests_total', { route: '/ga4gh/wes/v1/runs/:run_id/status', method: 'GET', status: '200' })).toBeGreaterThan(0);
    expect(delta(w1, w0, 'wes_runs_finished_total', { ...ENGINE, state: 'COMPLETE' })).toBe(1);
    expect(delta(w1, w0, 'wes_run_duration_seconds_count', ENGINE)).toBe(1);
    expect(delta(w1, w0, 'wes_run_queue_wait_seconds_count', ENGINE)).toBe(1);
    expect(delta(w1, w0, 'wes_run_dispatch_seconds_count', ENGINE)).toBe(1);
    // cwltool slept a second: the run's duration is at least that.
    expect(delta(w1, w0, 'wes_run_duration_seconds_sum', ENGINE)).toBeGreaterThanOrEqual(1);
    expect(sampleValue(w1, 'wes_engine_processes', ENGINE)).toBe(0);
    noRunIdLabels([...a1, ...w1], runIds);
  });

  it('move with a cancel: queue depth and slots while runs wait, cancel latency after', async () => {
    const w0 = await worker();
    const seconds = uniqueNumber(300, 200);
    const running = await h.stack.client.submitOk(sleepRun(seconds));
    await h.stack.client.waitForState(running, ['RUNNING']);
    // The only slot is taken: the next run waits in the queue.
    const queued = await h.stack.client.submitOk(sleepRun(seconds + 1));
    runIds.push(running, queued);
    const a1 = await until(api, (s) => sampleValue(s, 'wes_queue_jobs', { pool: 'default', status: 'waiting' }) === 1, 'a waiting job');
    expect(sampleValue(a1, 'wes_queue_jobs', { pool: 'default', status: 'active' })).toBe(1);
    expect(sampleValue(a1, 'wes_runs', { state: 'QUEUED' })).toBe(1);
    expect(sampleValue(a1, 'wes_runs', { state: 'RUNNING' })).toBe(1);
    const w1 = await until(worker, (s) => sampleValue(s, 'wes_engine_processes', ENGINE) === 1, 'an engine process');
    expect(sampleValue(w1, 'wes_worker_slots', { status: 'busy' })).toBe(1);
    expect(sampleValue(w1, 'wes_worker_slots', { status: 'free' })).toBe(0);

    expect((await h.stack.client.cancel(queued)).status).toBe(200);
    expect((await h.stack.client.cancel(running)).status).toBe(200);
    await h.stack.client.waitForState(running, ['CANCELED']);
    await h.stack.client.waitForState(queued, ['CANCELED']);
    const w2 = await until(worker, (s) => sampleValue(s, 'wes_run_cancel_seconds_count', ENGINE) > sampleValue(w0, 'wes_run_cancel_seconds_count', ENGINE), 'the cancel latency');
    expect(sampleValue(w2, 'wes_run_cancel_seconds_count', ENGINE) - sampleValue(w0, 'wes_run_cancel_seconds_count', ENGINE)).toBe(1);
    expect(sampleValue(w2, 'wes_runs_finished_total', { ...ENGINE, state: 'CANCELED' }) - sampleValue(w0, 'wes_runs_finished_total', { ...ENGINE, state: 'CANCELED' })).toBe(1);
    expect(sampleValue(w2, 'wes_engine_processes', ENGINE)).toBe(0);
    const a2 = await api();
    expect(sampleValue(a2, 'wes_runs', { state: 'CANCELED' })).toBe(2);
    expect(sampleValue(a2, 'wes_queue_jobs', { pool: 'default', status: 'waiting' })).toBe(0);
    noRunIdLabels([...a2, ...w2], runIds);
  });

  it('a route no router knows is counted as unmatched, not by its URL', async () => {
    const res = await fetch(`${h.stack.origin}/ga4gh/wes/v1/no-such/${runIds[0]}`);
    expect(res.status).toBe(404);
    const a = await api();
    expect(sampleValue(a, 'wes_http_requests_total', { route: 'unmatched', status: '404' })).toBeGreaterThan(0);
    noRunIdLabels(a, runIds);
  });
});
