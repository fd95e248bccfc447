import { describe, expect, it } from 'vitest';
import { RunSpec, runForm, WesResponse } from '../helpers/client';
import { CAT_TOOL, filesUnder } from '../helpers/cwl-fixtures';
import { useStack } from '../helpers/e2e';

/**
 * Values nested deeper than the server reads or walks: a JSON body or JSON field nested past
 * the JSON depth limit (1000), or workflow_params past the CWL walkers' limit (256), is a 400
 * naming the field and the limit, found without recursion (the stack would give out first),
 * and nothing is recorded or stored. An engine output nested past 256 levels fails its run
 * EXECUTOR_ERROR with a system log; the worker goes on.
 */
const h = useStack({ workerConcurrency: 1 });

/** `{"a":{"a":...{"a":"x"}}}` as text, `depth` objects deep (JSON.stringify would overflow the stack). */
const deepText = (depth: number): string => '{"a":'.repeat(depth) + '"x"' + '}'.repeat(depth);

const base: RunSpec = {
  workflow_type: 'CWL',
  workflow_type_version: 'v1.2',
  workflow_url: 'tool.cwl',
  workflow_params: { files: [{ class: 'File', location: 'in.txt' }] },
  attachments: { 'tool.cwl': CAT_TOOL, 'in.txt': 'in\n' },
};

/** A JSON RunRequest whose `field` is the given JSON text. */
function jsonBody(field: string, text: string): string {
  const request = { workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_url: 'https://example.org/tool.cwl' };
  return `{${Object.entries(request).map(([k, v]) => `"${k}":"${v}",`).join('')}"${field}":${text}}`;
}

const postJson = (body: string) => () => h.client.request('POST', '/runs', { body, headers: { 'content-type': 'application/json' } });
const postForm = (spec: RunSpec) => () => h.client.submit(runForm(spec));

async function runIds(): Promise<string[]> {
  return (await h.client.getJson('/runs?page_size=1000')).runs.map((r: { run_id: string }) => r.run_id);
}

/** Sends a request that must get a 400 whose message matches `msg`, leaving no run and no file. */
async function refused(send: () => Promise<WesResponse>, msg: RegExp): Promise<void> {
  const runs = await runIds();
  const files = filesUnder(h.stack.dataDir);
  const r = await send();
  if (r.status === 200) await h.client.cancel(r.body.run_id);
  expect(r.status, r.text.slice(0, 300)).toBe(400);
  expect(r.body.msg).toMatch(msg);
  expect(await runIds(), 'runs recorded').toEqual(runs);
  expect(filesUnder(h.stack.dataDir), 'files left behind').toEqual(files);
}

describe('JSON nested past the JSON depth limit (1000) → 400 naming the field', () => {
  it.each([
    ['workflow_params 100,000 deep', 'workflow_params', deepText(100_000)],
    ['workflow_params 1,001 deep', 'workflow_params', deepText(1001)],
    ['tags 100,000 deep', 'tags', deepText(100_000)],
    ['an unclosed array 100,000 deep', 'workflow_params', '['.repeat(100_000)],
  ])('a JSON body with %s', async (_what, field, text) => {
    await refused(postJson(jsonBody(field, text)), /^the request body is JSON nested deeper than 1000 levels \(arrays and objects\)$/);
  });

  it.each([
    ['workflow_params', false],
    ['workflow_params', true],
    ['tags', false],
    ['workflow_engine_parameters', false],
    ['workflow_engine_parameters', true],
  ] as const)('the multipart field %s 100,000 deep (as a file part: %s)', async (field, asFile) => {
    await refused(
      postForm({ ...base, [field]: deepText(100_000), asFileParts: asFile ? [field] : [] }),
      new RegExp(`^${field}: JSON nested deeper than 1000 levels \\(arrays and objects\\)$`),
    );
  });

  it('a JSON body nested 1,000 deep is read (and then judged on its content)', async () => {
    await refused(postJson(jsonBody('workflow_engine_parameters', deepText(999))), /^workflow_engine_parameters: the value of "a" must be a string$/);
  });
});

describe('workflow_params nested past the CWL walkers\' limit (256) → 400', () => {
  const tooDeep = /^workflow_params: nested deeper than 256 levels \(arrays and objects\) at a\.a\.a.*…$/;

  it('5,000 deep (past the JSON limit first)', async () => {
    await refused(postForm({ ...base, workflow_params: deepText(5000) }), /^workflow_params: JSON nested deeper than 1000 levels/);
  });

  it.each([257, 500, 1000])('%i deep, as a multipart field', async (depth) => {
    await refused(postForm({ ...base, workflow_params: deepText(depth) }), tooDeep);
  });

  it('500 deep, with a File at the bottom', async () => {
    const params = '{"a":'.repeat(499) + '{"class":"File","location":"in.txt"}' + '}'.repeat(499);
    await refused(postForm({ ...base, workflow_params: params }), tooDeep);
  });

  it('256 deep is taken (the run is cancelled at once)', async () => {
    const params = `{"files":[{"class":"File","location":"in.txt"}],"deep":${deepText(255)}}`;
    const id = await h.client.submitOk(runForm({ ...base, workflow_params: params }));
    expect((await h.client.cancel(id)).status).toBe(200);
  });
});

describe('an engine output nested past 256 levels', () => {
  /** Returns {"deep": {"a": ... "leaf"}}, `depth` objects under "deep". */
  const DEEP_OUTPUT_TOOL = `cwlVersion: v1.2
class: ExpressionTool
requirements:
  InlineJavascriptRequirement: {}
inputs:
  depth: int
outputs:
  deep: Any
expression: |
  \${ var v = "leaf"; for (var i = 0; i < inputs.depth; i++) v = {"a": v}; return {"deep": v}; }
`;
  const run = (depth: number) =>
    h.client.submitOk(runForm({ ...base, workflow_url: 'deep.cwl', workflow_params: { depth }, attachments: { 'deep.cwl': DEEP_OUTPUT_TOOL } }));

  it('ends its run EXECUTOR_ERROR with a system log naming the limit; the worker goes on', async () => {
    const worker = h.stack.workers[0];
    const id = await run(300);
    await h.client.waitForState(id, ['EXECUTOR_ERROR'], 90_000);
    const log = await h.client.runLog(id);
    expect(log.run_log.system_logs.join('\n')).toMatch(/the engine exited 0 but its output object is nested deeper than 256 levels \(arrays and objects\) at deep\.a\.a/);
    expect(log.run_log.exit_code ?? null).toBeNull();
    expect(log.outputs).toEqual({});
    expect(worker.child.exitCode).toBeNull();
    // The same worker runs the next one, whose output nests 200 deep.
    const next = await run(200);
    await h.client.waitForState(next, ['COMPLETE'], 90_000);
    let value = (await h.client.runLog(next)).outputs.deep;
    for (let i = 0; i < 200; i++) value = value.a;
    expect(value).toBe('leaf');
    expect(h.stack.liveWorkers()).toEqual([worker]);
  });
});
