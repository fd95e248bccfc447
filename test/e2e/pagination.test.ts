import { afterAll, describe, expect, it } from 'vitest';
import { runForm, workflowFiles } from '../helpers/client';
import { uniqueNumber, useStack } from '../helpers/e2e';

/**
 * GET /runs pages. One worker with one slot, held by the first (sleeping) run, so the other runs
 * stay QUEUED and the engine costs nothing; all are canceled at the end.
 */
const h = useStack({ workerConcurrency: 1, cancelGraceMs: 500 });

const submitted: string[] = [];

async function submit(i: number): Promise<string> {
  const id = await h.client.submitOk(
    runForm({
      workflow_url: 'sleep.cwl',
      workflow_type: 'CWL',
      workflow_type_version: 'v1.1',
      workflow_params: { seconds: uniqueNumber() },
      tags: { index: String(i) },
      attachments: workflowFiles('sleep.cwl'),
    }),
  );
  submitted.push(id);
  return id;
}

async function page(size: number | undefined, token?: string): Promise<{ ids: string[]; token: string; runs: any[] }> {
  const q = new URLSearchParams();
  if (size !== undefined) q.set('page_size', String(size));
  if (token !== undefined) q.set('page_token', token);
  const body = await h.client.getJson(`/runs${q.size ? `?${q}` : ''}`);
  expect(Array.isArray(body.runs)).toBe(true);
  expect(typeof body.next_page_token).toBe('string');
  return { ids: body.runs.map((r: any) => r.run_id), token: body.next_page_token, runs: body.runs };
}

afterAll(async () => {
  for (const id of submitted) await h.client.cancel(id).catch(() => undefined);
});

describe('GET /runs', () => {
  it('is empty before any run', async () => {
    const p = await page(2);
    expect(p.ids).toEqual([]);
    expect(p.token).toBe('');
  });

  it('pages through every run, newest first, with no duplicates and an empty token on the last page', async () => {
    for (let i = 0; i < 5; i++) await submit(i);
    const newestFirst = [...submitted].reverse();

    const seen: string[] = [];
    const sizes: number[] = [];
    let token: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const p = await page(2, token);
      expect(p.ids.length).toBeLessThanOrEqual(2);
      sizes.push(p.ids.length);
      seen.push(...p.ids);
      if (p.token === '') break;
      token = p.token;
    }
    expect(seen).toEqual(newestFirst);
    expect(new Set(seen).size).toBe(seen.length);
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('lists each run with its state (and its tags when it sends RunSummary)', async () => {
    const p = await page(10);
    for (const run of p.runs) {
      const i = submitted.indexOf(run.run_id);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(['QUEUED', 'INITIALIZING', 'RUNNING']).toContain(run.state);
      if (run.tags !== undefined) expect(run.tags).toEqual({ index: String(i) });
    }
  });

  it('keeps a token valid after new runs arrive', async () => {
    const first = await page(2);
    expect(first.ids).toEqual([submitted[4], submitted[3]]);
    const late = await submit(5);
    const second = await page(2, first.token);
    expect(second.ids).toEqual([submitted[2], submitted[1]]);
    expect(second.ids).not.toContain(late);
    const fresh = await page(2);
    expect(fresh.ids).toEqual([late, submitted[4]]);
  });

  it('uses a default page size when none is given, and never more than asked', async () => {
    const all = await page(undefined);
    expect(all.ids).toEqual([...submitted].reverse());
    expect(all.token).toBe('');
    const one = await page(1);
    expect(one.ids).toEqual([submitted[submitted.length - 1]]);
    expect(one.token).not.toBe('');
    const big = await page(1000);
    expect(big.ids).toEqual([...submitted].reverse());
    expect(big.token).toBe('');
  });

  it('refuses a page token it did not issue', async () => {
    for (const bad of ['!!!not-a-valid-token!!!', 'garbage', '%%%']) {
      const r = await h.client.request('GET', `/runs?page_token=${encodeURIComponent(bad)}`);
      expect(r.status, `page_token=${bad}: ${r.text.slice(0, 200)}`).toBe(400);
      expect(r.body.msg).toContain('page_token');
    }
  });

  it('refuses a page size that is not a positive whole number', async () => {
    for (const bad of ['abc', '-1', '0', '2.5']) {
      const r = await h.client.request('GET', `/runs?page_size=${bad}`);
      expect(r.status, `page_size=${bad}: ${r.text.slice(0, 200)}`).toBe(400);
      expect(r.body.msg).toContain('page_size');
    }
  });
});
