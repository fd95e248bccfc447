import { describe, expect, it } from 'vitest';
import { runForm, workflowFiles } from '../helpers/client';
import { TWO_STEP_FILES, useStack } from '../helpers/e2e';
import { waitTerminal } from '../helpers/recovery';

/**
 * X-Forwarded-Host/-Proto set the host and scheme of every URL the API returns (RunLog's log,
 * task and output URLs, service-info's documentation URL). Only a proxy listed in
 * WES_TRUSTED_PROXIES may set them: by default a client's forged header changes nothing.
 */
describe('WES_TRUSTED_PROXIES', () => {
  const h = useStack({ workers: 1 });
  const FORGED = { 'x-forwarded-host': 'evil.example:666', 'x-forwarded-proto': 'https' };

  /** Every absolute URL of this API in a JSON body (not, say, the organization's web site). */
  function urlsIn(body: unknown): string[] {
    return [...JSON.stringify(body).matchAll(/"(https?:\/\/[^"/]+\/ga4gh\/wes\/v1\/[^"]*)"/g)].map((m) => m[1]);
  }

  async function completedRun(): Promise<string> {
    const { client } = h;
    const id = await client.submitOk(
      runForm({
        workflow_url: 'main.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.2',
        workflow_params: { inp: { class: 'File', location: 'input.txt' } },
        attachments: { ...workflowFiles(...TWO_STEP_FILES), 'input.txt': 'a\nb\n' },
      }),
    );
    expect(await waitTerminal(client, id, 90_000)).toBe('COMPLETE');
    return id;
  }

  /** The RunLog and service-info as a client sending `headers` sees them. */
  async function seen(id: string, headers: Record<string, string>) {
    const { client } = h;
    const runLog = await client.request('GET', `/runs/${id}`, { headers });
    const info = await client.request('GET', '/service-info', { headers });
    expect(runLog.status).toBe(200);
    expect(info.status).toBe(200);
    return { runLog: runLog.body, urls: [...urlsIn(runLog.body), ...urlsIn(info.body)] };
  }

  it('by default a forged X-Forwarded-Host/-Proto changes no URL the API returns', async () => {
    const { stack } = h;
    const id = await completedRun();
    const plain = await seen(id, {});
    const forged = await seen(id, FORGED);
    // The URLs are there to compare: logs, tasks, both outputs, the docs.
    expect(plain.runLog.run_log.stdout).toMatch(new RegExp(`^${stack.origin}/`));
    expect(plain.runLog.outputs.reversed.location).toMatch(new RegExp(`^${stack.origin}/`));
    expect(plain.urls.length).toBeGreaterThanOrEqual(5);
    expect(forged.urls).toEqual(plain.urls);
    expect(forged.urls.every((u) => u.startsWith(`${stack.origin}/`)), JSON.stringify(forged.urls)).toBe(true);
  });

  it('a listed proxy (127.0.0.1) sets the host and scheme; the last entry counts (the one the proxy wrote)', async () => {
    const { stack } = h;
    await stack.restartApi({ signal: 'SIGTERM', env: { WES_TRUSTED_PROXIES: '127.0.0.1' } });
    const id = await completedRun();
    const forwarded = await seen(id, FORGED);
    expect(forwarded.runLog.run_log.stdout).toMatch(/^https:\/\/evil\.example:666\/ga4gh\/wes\/v1\/runs\//);
    expect(forwarded.runLog.outputs.reversed.location).toMatch(/^https:\/\/evil\.example:666\//);
    expect(forwarded.urls.every((u) => u.startsWith('https://evil.example:666/')), JSON.stringify(forwarded.urls)).toBe(true);
    // A client behind the proxy that sent its own header: the proxy appends what it saw.
    const chained = await seen(id, { 'x-forwarded-host': 'forged.example, wes.example.org', 'x-forwarded-proto': 'http, https' });
    expect(chained.urls.every((u) => u.startsWith('https://wes.example.org/')), JSON.stringify(chained.urls)).toBe(true);
  });

  it('a proxy not listed is not believed', async () => {
    const { stack } = h;
    await stack.restartApi({ signal: 'SIGTERM', env: { WES_TRUSTED_PROXIES: '10.0.0.0/8, ::ffff:10.1.2.3' } });
    const id = await completedRun();
    const forged = await seen(id, FORGED);
    expect(forged.urls.every((u) => u.startsWith(`${stack.origin}/`)), JSON.stringify(forged.urls)).toBe(true);
  });
});
