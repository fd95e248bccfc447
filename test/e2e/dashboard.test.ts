import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../libs/auth/src';
import { ACTIVE_STATES } from '../../libs/runs/src/states';
import { DASHBOARD_CSP, DASHBOARD_PATH } from '../../apps/api/src/dashboard/serve-dashboard';
import { ensureDashboardBuilt, launchChromium, WEB_DIST } from '../helpers/browser';
import { runForm, WesClient, workflowFiles } from '../helpers/client';
import { tickerTool } from '../helpers/cwl-fixtures';
import { startHttpServer, TestHttpServer } from '../helpers/http-server';
import { uniqueMarker, uniqueNumber, useStack } from '../helpers/e2e';
import { ROOT } from '../helpers/stack';

/**
 * The web dashboard (issue 14) in Debian's chromium, driven by playwright-core, against the
 * real API and worker: what a user does through the pages, checked against the server.
 */
// The page's globals, inside page.evaluate callbacks (this file is compiled without the DOM library).
declare const document: { documentElement: { scrollWidth: number; clientWidth: number }; activeElement: { textContent: string | null } | null };
declare const sessionStorage: { getItem(key: string): string | null };

const EXAMPLE = path.join(ROOT, 'examples', 'word-count');
const SCREENSHOTS = process.env.WES_DASHBOARD_SCREENSHOTS === '1' ? path.join(ROOT, 'docs', 'screenshots') : undefined;
/** The gzip budget of the dashboard's JavaScript (README, Dashboard). */
const JS_BUDGET_GZIP = 60 * 1024;

const TOKEN = `dash-${Math.random().toString(36).slice(2)}-${Date.now()}`;
const configDir = mkdtempSync(path.join(os.tmpdir(), 'wes-dashboard-e2e-'));
const configFile = path.join(configDir, 'wes.yaml');
writeFileSync(configFile, JSON.stringify({ authUsers: [{ name: 'ada', roles: [], tokenSha256: hashToken(TOKEN) }] }));

// Workflows and inputs at URLs of a local HTTP server (a private address, allowed here).
const h = useStack({ workers: 1, env: { WES_FETCH_ALLOW_CIDRS: '127.0.0.1/32' } });
const secured = useStack({ workers: 1, env: { WES_CONFIG_FILE: configFile, WES_AUTH_MODE: 'static' } });

let browser: Browser;
interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
}
/** Every request of every page, and what went wrong in the pages, for the checks after each test. */
let requests: Seen[] = [];
let problems: string[] = [];
const contexts: BrowserContext[] = [];

let files: TestHttpServer;

beforeAll(async () => {
  files = await startHttpServer();
  for (const f of ['workflow.cwl', 'tools/shout.cwl', 'tools/count.cwl', 'input.txt']) files.set(`/word-count/${f}`, readFileSync(path.join(EXAMPLE, f), 'utf8'));
  ensureDashboardBuilt();
  browser = await launchChromium();
  if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await files?.stop();
  rmSync(configDir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  // No request leaves this machine's loopback: scripts, styles and fonts come with the page.
  const elsewhere = requests.filter((r) => new URL(r.url).hostname !== '127.0.0.1');
  const seenProblems = problems;
  requests = [];
  problems = [];
  expect(elsewhere.map((r) => r.url)).toEqual([]);
  expect(seenProblems).toEqual([]);
});

async function open(origin: string, uiPath: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport, acceptDownloads: true, baseURL: origin });
  contexts.push(context);
  context.on('request', (r) => requests.push({ url: r.url(), method: r.method(), headers: r.headers() }));
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // A Content-Security-Policy violation (an inline script or style, a foreign font) shows here.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  await page.goto(`${DASHBOARD_PATH}/${uiPath}`);
  return page;
}

async function shoot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const runState = (page: Page) => page.locator('.run-state .state');

describe('the dashboard files', () => {
  it('are served under /ui/ without credentials, with caching headers and the CSP', async () => {
    for (const origin of [h.stack.origin, secured.stack.origin]) {
      const index = await fetch(`${origin}${DASHBOARD_PATH}/runs/some-client-route`);
      expect(index.status).toBe(200);
      expect(index.headers.get('cache-control')).toBe('no-cache');
      expect(index.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
      const html = await index.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
      const asset = /src="([^"]+\.js)"/.exec(html)?.[1];
      expect(asset).toMatch(/^\/ga4gh\/wes\/v1\/ui\/assets\//);
      const js = await fetch(`${origin}${asset}`);
      expect(js.status).toBe(200);
      expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
  });

  it(`keep their JavaScript under ${JS_BUDGET_GZIP / 1024} KiB gzip`, () => {
    const assets = path.join(WEB_DIST, 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    const total = js.reduce((n, f) => n + gzipSync(readFileSync(path.join(assets, f)), { level: 9 }).length, 0);
    expect(total).toBeLessThan(JS_BUDGET_GZIP);
  });
});

describe('the dashboard in chromium', () => {
  let completedRun = '';

  it('submits the example workflow through the form, sees it COMPLETE, and downloads its output', async () => {
    const page = await open(h.stack.origin, 'submit');
    await expect.poll(() => page.locator('select[name=workflow_type_version] option').count()).toBeGreaterThan(0);
    await page.locator('input[name=folder]').setInputFiles(EXAMPLE);
    await expect.poll(() => page.locator('input[name=main]:checked').getAttribute('value')).toBe('workflow.cwl');
    await expect.poll(() => page.locator('select[name=workflow_type_version]').inputValue()).toBe('v1.2');
    await page.getByLabel('Workflow params').fill(readFileSync(path.join(EXAMPLE, 'params.json'), 'utf8'));
    await page.getByLabel('Tags, one key=value a line').fill('project=dashboard-e2e');
    await page.locator('select[name=workflow_engine]').selectOption('cwltool');
    // An allow-listed engine parameter, as service-info offers it.
    await page.getByText('Engine parameters (allowed by the server)').click();
    await page.getByLabel('--parallel').selectOption('true');
    await shoot(page, 'submit');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/ui\/runs\/[0-9a-f-]{36}$/);
    completedRun = page.url().split('/').pop()!;
    const run = await h.client.runLog(completedRun);
    expect(run.request.tags).toEqual({ project: 'dashboard-e2e' });
    expect(run.request.workflow_engine).toBe('cwltool');
    expect(run.request.workflow_engine_parameters).toEqual({ '--parallel': 'true' });
    expect(run.request.workflow_params).toEqual(JSON.parse(readFileSync(path.join(EXAMPLE, 'params.json'), 'utf8')));
    await expect.poll(() => runState(page).textContent(), { timeout: 120_000, interval: 250 }).toBe('COMPLETE');
    expect(await h.client.status(completedRun)).toBe('COMPLETE');

    // The request and the tasks (two steps) are shown.
    await expect.poll(() => page.locator('#request').textContent()).toContain('workflow.cwl');
    await expect.poll(() => page.locator('#tasks tbody tr').count()).toBeGreaterThanOrEqual(2);
    // The output tree links the files with their sizes; the download is the stored file.
    const listing = (await h.client.getJson(`/runs/${completedRun}/outputs`)).files as { path: string; size: number; url: string }[];
    const shouted = listing.find((f) => f.path.endsWith('shouted.txt'))!;
    expect(shouted).toBeDefined();
    const link = page.locator('#outputs a', { hasText: 'shouted.txt' });
    await expect.poll(() => link.count()).toBe(1);
    await expect.poll(() => page.locator('#outputs').textContent()).toContain(`${shouted.size} B`);
    await shoot(page, 'run');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const bytes = readFileSync((await download.path())!);
    expect(bytes.toString('utf8')).toBe(readFileSync(path.join(EXAMPLE, 'input.txt'), 'utf8').toUpperCase());
    expect(bytes.length).toBe(shouted.size);
  });

  it('submits a workflow given by URL', async () => {
    const page = await open(h.stack.origin, 'submit');
    await expect.poll(() => page.locator('select[name=workflow_type_version] option').count()).toBeGreaterThan(0);
    await page.getByLabel('A URL').check();
    await page.getByLabel('Workflow URL').fill(`${files.origin}/word-count/workflow.cwl`);
    await page.locator('select[name=workflow_type_version]').selectOption('v1.2');
    await page.getByLabel('Workflow params').fill(JSON.stringify({ text: { class: 'File', location: `${files.origin}/word-count/input.txt` } }));
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/ui\/runs\/[0-9a-f-]{36}$/);
    const runId = page.url().split('/').pop()!;
    expect((await h.client.runLog(runId)).request.workflow_url).toBe(`${files.origin}/word-count/workflow.cwl`);
    await expect.poll(() => runState(page).textContent(), { timeout: 120_000, interval: 250 }).toBe('COMPLETE');
    expect(files.requests).toEqual(expect.arrayContaining(['/word-count/workflow.cwl', '/word-count/tools/shout.cwl', '/word-count/tools/count.cwl', '/word-count/input.txt']));
    // The page's own requests went to the API only (the server fetched the workflow).
    expect(requests.filter((r) => r.url.startsWith(files.origin))).toEqual([]);
  });

  it('shows a bad params JSON beside the field and sends nothing', async () => {
    const page = await open(h.stack.origin, 'submit');
    await page.locator('input[name=folder]').setInputFiles(EXAMPLE);
    await page.getByLabel('Workflow params').fill('{"text": {"class": "File", "location": "input.txt"}');
    await page.getByRole('button', { name: 'Submit' }).click();
    const error = page.locator('#params-error');
    await expect.poll(() => error.textContent()).toMatch(/^Not valid JSON/);
    expect(await page.getByLabel('Workflow params').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Workflow params').getAttribute('aria-describedby')).toBe('params-error');
    // YAML that is not an object is refused the same way.
    await page.getByLabel('YAML').check();
    await page.getByLabel('Workflow params').fill('- just\n- a list');
    await page.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => error.textContent()).toContain('not a list');
    expect(requests.filter((r) => r.method === 'POST')).toEqual([]);
    expect(new URL(page.url()).pathname).toBe(`${DASHBOARD_PATH}/submit`);
    // Corrected, as YAML: sent as the JSON object it means, and the error is gone.
    await page.getByLabel('Workflow params').fill('text:\n  class: File\n  location: input.txt\n');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/ui\/runs\/[0-9a-f-]{36}$/);
    const runId = page.url().split('/').pop()!;
    expect((await h.client.runLog(runId)).request.workflow_params).toEqual({ text: { class: 'File', location: 'input.txt' } });
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    await h.client.waitForState(runId, ['COMPLETE']);
  });

  it('grows the tasks table while the run goes on', async () => {
    const step = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'sleep 3; echo done']
inputs:
  after: File?
outputs:
  done: stdout
stdout: done.txt
`;
    const workflow = `cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  first:
    run: step.cwl
    in: {}
    out: [done]
  second:
    run: step.cwl
    in:
      after: first/done
    out: [done]
`;
    const runId = await h.client.submitOk(runForm({ workflow_url: 'two.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', attachments: { 'two.cwl': workflow, 'step.cwl': step } }));
    const page = await open(h.stack.origin, `runs/${runId}`);
    const rows = page.locator('#tasks tbody tr');
    const cells = () => rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)));
    await expect.poll(cells, { timeout: 60_000, interval: 100 }).toEqual([['first', 'running']]);
    await expect.poll(cells, { timeout: 30_000, interval: 100 }).toEqual([
      ['first', 'done'],
      ['second', 'running'],
    ]);
    await expect.poll(() => runState(page).textContent(), { timeout: 30_000 }).toBe('COMPLETE');
    await expect.poll(cells).toEqual([
      ['first', 'done'],
      ['second', 'done'],
    ]);
    expect(await rows.first().locator('td').nth(3).textContent()).toBe('0');
  });

  it('cancels a sleeping run from its page, after a confirmation: CANCELING, then CANCELED', async () => {
    const runId = await h.client.submitOk(
      runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds: uniqueNumber() }, attachments: workflowFiles('sleep.cwl') }),
    );
    await h.client.waitForState(runId, ['RUNNING']);
    const page = await open(h.stack.origin, `runs/${runId}`);
    await expect.poll(() => runState(page).textContent()).toBe('RUNNING');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.isVisible()).toBe(true);
    // Declining leaves the run alone.
    await dialog.getByRole('button', { name: 'No, keep it running' }).click();
    expect(await dialog.isVisible()).toBe(false);
    expect(await h.client.status(runId)).toBe('RUNNING');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await dialog.getByRole('button', { name: 'Yes, cancel the run' }).click();
    await expect.poll(() => runState(page).textContent(), { timeout: 60_000 }).toBe('CANCELED');
    const seen = await page.locator('.seen li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-state')));
    expect(seen).toEqual(['RUNNING', 'CANCELING', 'CANCELED']);
    expect(await h.client.status(runId)).toBe('CANCELED');
  });

  it('follows a live log while the run writes it, scrolled to its end', async () => {
    const marker = uniqueMarker('dash');
    const ticks = 40;
    const runId = await h.client.submitOk(
      runForm({ workflow_url: 'ticker.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', attachments: { 'ticker.cwl': tickerTool(ticks, 0.2, marker) } }),
    );
    const page = await open(h.stack.origin, `runs/${runId}`);
    const stderr = page.locator('pre[data-stream=stderr]');
    await expect.poll(() => stderr.textContent(), { timeout: 60_000, interval: 100 }).toContain(`${marker} tick 1\n`);
    // Seen while the engine was still writing: the page follows the log, it did not load it afterwards.
    expect(await stderr.textContent()).not.toContain(`${marker} tick ${ticks}\n`);
    expect(ACTIVE_STATES as readonly string[]).toContain(await h.client.status(runId));
    await expect.poll(() => runState(page).textContent(), { timeout: 60_000 }).toBe('COMPLETE');
    // The whole log, as the server has it, is what the page shows once its last read (started
    // when the page saw the run end) is in: a read in flight may bring the last tick first.
    const served = await (await fetch(`${h.stack.origin}/ga4gh/wes/v1/runs/${runId}/logs/stderr`)).text();
    expect(served).toContain(`${marker} tick ${ticks}\n`);
    await expect.poll(() => stderr.textContent(), { timeout: 10_000 }).toBe(served);
    // Every line once, in order: each read continued where the last one stopped.
    const text = (await stderr.textContent())!;
    const lines = text.split('\n').filter((l) => new RegExp(`${marker} tick \\d+$`).test(l));
    expect(lines).toEqual(Array.from({ length: ticks }, (_, i) => expect.stringContaining(`${marker} tick ${i + 1}`)));
    // Read with Range requests: the tail first, then from the offset reached.
    const ranges = requests.filter((r) => r.url.endsWith(`/runs/${runId}/logs/stderr`)).map((r) => r.headers.range);
    expect(ranges[0]).toBe('bytes=-65536');
    expect(ranges.slice(1).every((r) => /^bytes=\d+-$/.test(r))).toBe(true);
    expect(new Set(ranges.slice(1)).size).toBeGreaterThan(1);
    // Scrolled to the end (the log is longer than its box).
    const box = await stderr.evaluate((el) => ({ top: el.scrollTop, height: el.clientHeight, total: el.scrollHeight, chars: el.textContent?.length, lines: el.textContent?.split('\n').length }));
    expect(box.total, JSON.stringify(box)).toBeGreaterThan(box.height);
    expect(box.total - box.top - box.height).toBeLessThan(8);
  });

  it('loads only the tail of a large log', async () => {
    const marker = uniqueMarker('big');
    const tool = `cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
inputs: []
arguments:
  - valueFrom: seq -f '${marker} line %g of a long log' 1 20000 >&2
    shellQuote: false
outputs: []
`;
    const runId = await h.client.submitOk(runForm({ workflow_url: 'big.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', attachments: { 'big.cwl': tool } }));
    await h.client.waitForState(runId, ['COMPLETE']);
    const whole = await (await fetch(`${h.stack.origin}/ga4gh/wes/v1/runs/${runId}/logs/stderr`)).text();
    expect(whole.length).toBeGreaterThan(500_000);
    const page = await open(h.stack.origin, `runs/${runId}`);
    const stderr = page.locator('pre[data-stream=stderr]');
    await expect.poll(() => stderr.textContent()).toContain(`${marker} line 20000 of a long log`);
    const shown = (await stderr.textContent())!;
    expect(shown.length).toBeLessThanOrEqual(64 * 1024);
    expect(whole.endsWith(shown)).toBe(true);
    expect(shown.startsWith(marker)).toBe(true); // the partial first line was dropped
    expect(await page.locator('#logs').textContent()).toMatch(/the first [\d.]+ KiB are not loaded/);
  });

  it('lists runs newest first, filters them by state, and updates states without reloading', async () => {
    const failed = await h.client.submitOk(
      runForm({ workflow_url: 'fail.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.0', workflow_params: { marker: 'dash' }, attachments: workflowFiles('fail.cwl') }),
    );
    await h.client.waitForState(failed, ['EXECUTOR_ERROR']);
    const page = await open(h.stack.origin, '');
    const rowOf = (id: string) => page.locator(`tr[data-run-id="${id}"]`);
    await expect.poll(() => rowOf(failed).count()).toBe(1);
    const ids = await page.locator('tr[data-run-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')!));
    expect(ids).toEqual([...ids].sort().reverse()); // UUIDv7: newest first
    await shoot(page, 'runs');

    // A run submitted now appears, and its state changes, while the page stays loaded.
    const sleeper = await h.client.submitOk(
      runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds: uniqueNumber() }, attachments: workflowFiles('sleep.cwl') }),
    );
    await expect.poll(() => rowOf(sleeper).count(), { timeout: 15_000 }).toBe(1);
    await h.client.waitForState(sleeper, ['RUNNING']);
    await h.client.cancel(sleeper);
    await h.client.waitForState(sleeper, ['CANCELED']);
    await expect.poll(() => rowOf(sleeper).locator('.state').textContent(), { timeout: 15_000 }).toBe('CANCELED');

    // The filter goes to the server (GET /runs?state=&tag=); the rows are checked once it answered.
    const filterBy = async (state: string, tag: string) => {
      await page.getByLabel('State').selectOption(state);
      await page.getByLabel('Tag').fill(tag);
      const answered = page.waitForResponse((r) => {
        const u = new URL(r.url());
        return u.pathname.endsWith('/ga4gh/wes/v1/runs') && (u.searchParams.get('state') ?? '') === state && (u.searchParams.get('tag') ?? '') === tag;
      });
      await page.getByRole('button', { name: 'Filter' }).click();
      expect((await answered).status()).toBe(200);
    };
    await filterBy('EXECUTOR_ERROR', '');
    await expect.poll(() => rowOf(sleeper).count()).toBe(0);
    expect(await rowOf(failed).count()).toBe(1);
    const states = await page.locator('tr[data-run-id] .state').allTextContents();
    expect(new Set(states)).toEqual(new Set(['EXECUTOR_ERROR']));

    await filterBy('CANCELED', '');
    await expect.poll(() => rowOf(failed).count()).toBe(0);
    expect(await rowOf(sleeper).count()).toBe(1);

    // By tag: the run submitted through the form carries project=dashboard-e2e.
    expect(completedRun).not.toBe('');
    await filterBy('', 'project:dashboard-e2e');
    await expect.poll(() => page.locator('tr[data-run-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')))).toEqual([completedRun]);
  });

  it('pages through runs with Next and Previous (keyset tokens)', async () => {
    // 20 a page: make sure there are more than 20 runs (canceled while queued, no worker time).
    const queuedForm = () => runForm({ workflow_url: 'nope.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: {}, attachments: { 'nope.cwl': 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: "true"\ninputs: []\noutputs: []\n' } });
    const total = (await h.client.getJson('/runs?page_size=100')).runs.length;
    for (let i = total; i < 22; i++) await h.client.submitOk(queuedForm());
    const page = await open(h.stack.origin, '');
    await expect.poll(() => page.locator('tr[data-run-id]').count()).toBe(20);
    const first = await page.locator('tr[data-run-id]').first().getAttribute('data-run-id');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.getByText('Page 2').count()).toBe(1);
    await expect.poll(() => page.locator('tr[data-run-id]').first().getAttribute('data-run-id')).not.toBe(first);
    const second = await page.locator('tr[data-run-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')!));
    expect(second.every((id) => id < first!)).toBe(true);
    expect(requests.some((r) => new URL(r.url).searchParams.has('page_token'))).toBe(true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => page.locator('tr[data-run-id]').first().getAttribute('data-run-id')).toBe(first);
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);
  });

  it('shows service-info: engines, counts per state, pools with live workers', async () => {
    const page = await open(h.stack.origin, 'service');
    await expect.poll(() => page.locator('#engines').textContent()).toContain('cwltool');
    const counts = page.locator('#counts');
    await expect.poll(() => counts.textContent()).toContain('COMPLETE');
    // The page polls service-info: a run of an earlier test still ending can move a count
    // between the page's read and ours, so the two must agree once the page's next poll is in.
    await expect
      .poll(async () => {
        const info = await h.client.getJson('/service-info');
        const shown = await counts.locator('tr', { hasText: 'COMPLETE' }).locator('td').textContent();
        return `${shown} shown, ${info.system_state_counts.COMPLETE} served`;
      }, { timeout: 15_000 }) // three of the page's service-info polls (SERVICE_POLL_MS in apps/web, 5 s)
      .toMatch(/^(\d+) shown, \1 served$/);
    const pool = page.locator('#pools tbody tr').first();
    expect(await pool.locator('td').nth(4).textContent()).toBe('1');
    await shoot(page, 'service');
  });

  it('works at phone width (390 px): no horizontal overflow on any page', async () => {
    expect(completedRun).not.toBe('');
    for (const uiPath of ['', `runs/${completedRun}`, 'submit', 'service']) {
      const page = await open(h.stack.origin, uiPath, { width: 390, height: 844 });
      await expect.poll(() => page.locator('main h1').count()).toBe(1);
      await page.waitForLoadState('networkidle').catch(() => undefined);
      await page.waitForTimeout(500);
      const width = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      expect(width.client, uiPath).toBe(390);
      expect(width.scroll, uiPath).toBeLessThanOrEqual(width.client);
      if (uiPath === '') await shoot(page, 'runs-phone');
    }
  });

  it('labels every control and is usable from the keyboard', async () => {
    const page = await open(h.stack.origin, 'submit');
    await expect.poll(() => page.locator('select[name=workflow_type_version] option').count()).toBeGreaterThan(0);
    const unlabeled = await page.locator('input, select, textarea, button').evaluateAll((els) =>
      els
        .filter((el) => {
          const c = el as unknown as { labels?: { length: number } };
          const name = (c.labels?.length ?? 0) > 0 || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent?.trim());
          return !name;
        })
        .map((el) => el.outerHTML.slice(0, 120)),
    );
    expect(unlabeled).toEqual([]);
    // Tab from the top: the skip link, then the navigation; Enter follows a link.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Runs');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Service');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/ui\/service$/);
  });
});

describe('the dashboard with authentication (static)', () => {
  it('asks for a token on a 401, keeps the public pages working, and then sends it as a bearer header', async () => {
    const page = await open(secured.stack.origin, '');
    const prompt = page.locator('#auth-prompt');
    await expect.poll(() => prompt.textContent()).toContain('This server needs a token');
    expect(await page.getByLabel('API token').getAttribute('aria-invalid')).toBe('true');
    await shoot(page, 'auth-prompt');
    // service-info is public: its page works without a token.
    await page.getByRole('link', { name: 'Service' }).click();
    await expect.poll(() => page.locator('main h1').textContent()).toBe('Service');
    await expect.poll(() => page.locator('#counts').count()).toBe(1);
    // A wrong token is refused, and said so.
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Use' }).click();
    await page.getByRole('link', { name: 'Runs' }).click();
    await expect.poll(() => prompt.textContent()).toContain('The token given was refused');
    // The right one: the list loads, and every API call carries it.
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Change' }).click();
    await page.waitForLoadState('load');
    await expect.poll(() => page.locator('table.runs').count()).toBe(1);
    await expect.poll(() => page.getByText(/Updated/).count()).toBe(1);
    expect(await prompt.count()).toBe(0);
    const lastList = requests.filter((r) => /\/ga4gh\/wes\/v1\/runs\?/.test(r.url)).at(-1)!;
    expect(lastList.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(await page.evaluate(() => sessionStorage.getItem('wes-dashboard-token'))).toBe(TOKEN);

    // An output, which a plain link cannot fetch with the header, downloads with the token.
    const client = new WesClient(secured.stack.origin, { authorization: `Bearer ${TOKEN}` });
    const example = Object.fromEntries(['workflow.cwl', 'tools/shout.cwl', 'tools/count.cwl', 'input.txt'].map((f) => [f, readFileSync(path.join(EXAMPLE, f), 'utf8')]));
    const runId = await client.submitOk(
      runForm({ workflow_url: 'workflow.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: JSON.parse(readFileSync(path.join(EXAMPLE, 'params.json'), 'utf8')), attachments: example }),
    );
    await client.waitForState(runId, ['COMPLETE']);
    await page.getByRole('link', { name: runId }).click();
    const link = page.locator('#outputs a', { hasText: 'counts.txt' });
    await expect.poll(() => link.count(), { timeout: 15_000 }).toBe(1);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const served = await fetch(`${secured.stack.origin}/ga4gh/wes/v1/runs/${runId}/outputs/counts.txt`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(served.status).toBe(200);
    expect(readFileSync((await download.path())!)).toEqual(Buffer.from(await served.arrayBuffer()));
    const outputRequest = requests.find((r) => r.url.endsWith(`/runs/${runId}/outputs/counts.txt`));
    expect(outputRequest?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});
