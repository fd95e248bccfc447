import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RunSpec, runForm, workflowFiles } from '../helpers/client';
import { TWO_STEP_FILES, useStack } from '../helpers/e2e';
import { expectValidComponent } from '../helpers/wes-schema';

/**
 * Bad input gets 400 with an ErrorResponse naming the field, unknown runs 404; nothing is
 * recorded for a refused submission. (The client checks every body against the WES schema.)
 */
const h = useStack({ workerConcurrency: 1 });
/** Runs the server accepted in this file: the valid one, and any bad request it wrongly took. */
const acceptedRunIds: string[] = [];

const valid: RunSpec = {
  workflow_url: 'main.cwl',
  workflow_type: 'CWL',
  workflow_type_version: 'v1.2',
  workflow_params: { inp: { class: 'File', location: 'input.txt' } },
  tags: { purpose: 'malformed' },
  attachments: { ...workflowFiles(...TWO_STEP_FILES), 'input.txt': 'x\n' },
};

const without = (key: keyof RunSpec): RunSpec => {
  const spec = { ...valid };
  delete spec[key];
  return spec;
};

const cases: [string, string, RunSpec][] = [
  ['missing workflow_url', 'workflow_url', without('workflow_url')],
  ['empty workflow_url', 'workflow_url', { ...valid, workflow_url: '' }],
  ['workflow_url naming no attachment', 'workflow_url', { ...valid, workflow_url: 'missing.cwl' }],
  ['workflow_url leaving the attachments', 'workflow_url', { ...valid, workflow_url: '../main.cwl' }],
  ['bad JSON in workflow_params', 'workflow_params', { ...valid, workflow_params: '{"inp": ' }],
  ['workflow_params an array', 'workflow_params', { ...valid, workflow_params: '[1, 2]' }],
  ['workflow_params a string', 'workflow_params', { ...valid, workflow_params: '"inp"' }],
  ['bad JSON in workflow_params sent as a file part', 'workflow_params', { ...valid, workflow_params: '{', asFileParts: ['workflow_params'] }],
  ['missing workflow_type', 'workflow_type', without('workflow_type')],
  ['workflow_type NFL (Nextflow: no engine)', 'workflow_type', { ...valid, workflow_type: 'NFL' }],
  ['workflow_type WDL with a CWL version', 'workflow_type_version', { ...valid, workflow_type: 'WDL' }],
  ['workflow_type FOO', 'workflow_type', { ...valid, workflow_type: 'FOO' }],
  // REQUIRED in the WES RunRequest (and in its `required` list).
  ['missing workflow_type_version', 'workflow_type_version', without('workflow_type_version')],
  ['workflow_type_version v2.0', 'workflow_type_version', { ...valid, workflow_type_version: 'v2.0' }],
  ['unknown engine parameter --provenance', 'workflow_engine_parameters', { ...valid, workflow_engine_parameters: { '--provenance': '/tmp' } }],
  ['unknown engine parameter --jobStore', 'workflow_engine_parameters', { ...valid, workflow_engine_parameters: { '--jobStore': 'x' } }],
  ['engine parameter with a bad value', 'workflow_engine_parameters', { ...valid, workflow_engine_parameters: { '--parallel': 'maybe' } }],
  ['bad JSON in workflow_engine_parameters', 'workflow_engine_parameters', { ...valid, workflow_engine_parameters: '{' }],
  ['bad JSON in tags', 'tags', { ...valid, tags: '{"a":' }],
  ['tags an array', 'tags', { ...valid, tags: '["a"]' }],
  ['unknown workflow_engine', 'workflow_engine', { ...valid, workflow_engine: 'toil' }],
  ['workflow_engine_version cwltool does not have', 'workflow_engine_version', { ...valid, workflow_engine: 'cwltool', workflow_engine_version: '0.0.1' }],
  ['attachment name with ..', 'workflow_attachment', { ...valid, attachments: { ...valid.attachments, '../evil.cwl': 'x' } }],
  ['attachment name with .. in a sub-folder', 'workflow_attachment', { ...valid, attachments: { ...valid.attachments, 'tools/../../evil.cwl': 'x' } }],
  ['absolute attachment name', 'workflow_attachment', { ...valid, attachments: { ...valid.attachments, '/etc/evil.cwl': 'x' } }],
];

describe('POST /runs with bad input', () => {
  it('accepts the valid request these cases are made from (so each 400 is due to its one change)', async () => {
    // Each case below changes one thing of this request; it must itself be accepted. Its run is canceled at once.
    const id = await h.client.submitOk(runForm(valid));
    const r = await h.client.cancel(id);
    expect(r.status).toBe(200);
    acceptedRunIds.push(id);
  });

  it.each(cases)('%s → 400 naming %s', async (_name, field, spec) => {
    const r = await h.client.submit(runForm(spec));
    if (r.status === 200) {
      // Wrongly accepted: stop it, and let the "records nothing" check below count it as a run.
      acceptedRunIds.push(r.body.run_id);
      await h.client.cancel(r.body.run_id);
    }
    expect(r.status, r.text.slice(0, 500)).toBe(400);
    expect(r.body.status_code).toBe(400);
    expect(r.body.msg).toContain(field);
  });

  it('a JSON RunRequest without workflow_url → 400 naming workflow_url', async () => {
    const r = await h.client.submit({ workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: {} });
    expect(r.status, r.text).toBe(400);
    expect(r.body.msg).toContain('workflow_url');
  });

  it('a JSON RunRequest with a workflow_type no engine runs → 400 naming workflow_type', async () => {
    const r = await h.client.submit({ workflow_type: 'NFL', workflow_type_version: '1.0', workflow_url: 'https://example.org/main.nf', workflow_params: {} });
    expect(r.status, r.text).toBe(400);
    expect(r.body.msg).toContain('workflow_type');
  });

  it('a JSON body that is not JSON → 400', async () => {
    const r = await h.client.request('POST', '/runs', { body: '{"workflow_url": ', headers: { 'content-type': 'application/json' } });
    expect(r.status, r.text).toBe(400);
  });

  it('an empty multipart body → 400', async () => {
    const r = await h.client.submit(new FormData());
    expect(r.status, r.text).toBe(400);
  });

  it('records nothing for a refused submission', async () => {
    const list = await h.client.getJson('/runs?page_size=1000');
    expect(list.runs.map((r: any) => r.run_id).sort()).toEqual([...acceptedRunIds].sort());
    const info = await h.client.getJson('/service-info');
    const total = Object.values(info.system_state_counts as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total).toBe(acceptedRunIds.length);
  });
});

describe('unknown run id', () => {
  const id = randomUUID();
  it.each([
    ['GET', `/runs/${id}`],
    ['GET', `/runs/${id}/status`],
    ['POST', `/runs/${id}/cancel`],
    ['GET', `/runs/${id}/tasks`],
    ['GET', `/runs/${id}/tasks/t1`],
    ['GET', `/runs/${id}/logs/stdout`],
    ['GET', `/runs/${id}/logs/stderr`],
    ['GET', `/runs/${id}/outputs/out.txt`],
  ])('%s %s → 404', async (method, path) => {
    const r = await h.client.request(method, path);
    expect(r.status, r.text).toBe(404);
    expect(r.body.status_code).toBe(404);
  });

  it('an id that is not even id-shaped → 404, not 500', async () => {
    for (const bad of ['a b', '%00', "'; DROP", '*', 'x'.repeat(90)]) {
      const r = await h.client.request('GET', `/runs/${encodeURIComponent(bad)}/status`);
      expect(r.status, `${bad}: ${r.text.slice(0, 200)}`).toBe(404);
    }
  });

  it('a very long id → a 4xx ErrorResponse', async () => {
    // Fastify refuses long path parameters itself (414); the body must still be an ErrorResponse.
    const res = await fetch(h.client.url(`/runs/${'x'.repeat(300)}/status`));
    const body = await res.json();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expectValidComponent('ErrorResponse', body);
    expect(body).toMatchObject({ status_code: res.status, msg: expect.any(String) });
  });
});

describe('unknown paths', () => {
  it('answer 404 with an ErrorResponse', async () => {
    const r = await h.client.request('GET', '/no-such-endpoint');
    expect(r.status).toBe(404);
  });
});
