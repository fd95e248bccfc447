import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunSpec, runForm, workflowFiles } from '../helpers/client';
import { CAT_TOOL, filesUnder, SECONDARY_TOOL } from '../helpers/cwl-fixtures';
import { TWO_STEP_FILES, uniqueMarker, useStack } from '../helpers/e2e';
import { startHttpServer, TestHttpServer } from '../helpers/http-server';
import { LocalS3, startS3 } from '../helpers/s3';
import type { StackOptions } from '../helpers/stack';
import { buildZip } from '../helpers/zip';

/**
 * Workflows and inputs from where users keep them: a workflow by http URL (with its tools by
 * relative path), by s3:// URL, by file:// under an allowed folder, as a zip (named by
 * workflow_url, or the only attachment with workflow_url naming a file inside it), as
 * attachments in sub-folders; inputs from http, s3, file:// and attachments, arrays and
 * secondaryFiles included. A missing input ends EXECUTOR_ERROR with a system log naming it.
 * The object store is the local folder here; s3:// URLs are read with the S3 settings.
 */
const BUCKET = 'sources';
let http: TestHttpServer;
let s3: LocalS3;
let sandbox: string;
let allowedDir: string;
let outsideDir: string;
const options: StackOptions = { workerConcurrency: 3 };

beforeAll(async () => {
  http = await startHttpServer();
  s3 = await startS3();
  await s3.createBucket(BUCKET);
  sandbox = mkdtempSync(path.join(os.tmpdir(), 'wes-sources-'));
  allowedDir = path.join(sandbox, 'allowed');
  outsideDir = path.join(sandbox, 'outside');
  mkdirSync(allowedDir);
  mkdirSync(outsideDir);
  options.env = {
    ...s3.readerEnv(),
    WES_S3_INPUT_ALLOW: `s3://${BUCKET}`,
    WES_FETCH_ALLOW_CIDRS: '127.0.0.1/32',
    WES_FILE_ALLOW_DIRS: allowedDir,
  };
});
afterAll(async () => {
  await http?.stop();
  await s3?.stop();
  if (sandbox) rmSync(sandbox, { recursive: true, force: true });
});

const h = useStack(options);

const TWO_STEP = workflowFiles(...TWO_STEP_FILES);
const input = 'alpha\nbravo charlie\ndelta\n';
const expectedReversed = spawnSync('rev', { input, encoding: 'utf8' }).stdout;

const base = (extra: Partial<RunSpec>): RunSpec => ({ workflow_type: 'CWL', workflow_type_version: 'v1.2', ...extra });

/** Submissions made at the start (they run side by side); each test waits for its own. */
const runs = new Map<string, Promise<string>>();
function submitted(name: string): Promise<string> {
  const p = runs.get(name);
  if (!p) throw new Error(`no submission named ${name}`);
  return p;
}

/** Waits until the run COMPLETEs; its RunLog. */
async function completed(name: string): Promise<any> {
  const runId = await submitted(name);
  await h.client.waitForState(runId, ['COMPLETE'], 90_000, 100);
  return h.client.runLog(runId);
}

async function text(url: string): Promise<string> {
  const r = await h.client.fetchText(url);
  expect(r.status, `GET ${url}`).toBe(200);
  return r.text;
}

/** Checks the two-step workflow's outputs (reverse, then count lines) of a RunLog. */
async function expectTwoStepOutputs(log: any, source = input): Promise<void> {
  expect(await text(log.outputs.reversed.location)).toBe(spawnSync('rev', { input: source, encoding: 'utf8' }).stdout);
  expect((await text(log.outputs.count.location)).trim()).toBe(String(source.split('\n').length - 1));
}

const parts = {
  http: `from http ${uniqueMarker('h')}\n`,
  s3: `from s3 ${uniqueMarker('s')}\n`,
  attachment: `from an attachment ${uniqueMarker('a')}\n`,
  file: `from file:// ${uniqueMarker('f')}\n`,
  absolute: `from an absolute path ${uniqueMarker('p')}\n`,
};

describe('workflow and inputs from URLs, zips and attachments', () => {
  beforeAll(async () => {
    // The http server: a workflow whose steps live in a sub-folder, and inputs.
    http.set('/wf/main.cwl', TWO_STEP['main.cwl']);
    http.set('/wf/tools/rev.cwl', TWO_STEP['tools/rev.cwl']);
    http.set('/wf/tools/count-lines.cwl', TWO_STEP['tools/count-lines.cwl']);
    http.set('/data/input.txt', input);
    http.set('/data/part.txt', parts.http);
    http.set('/data/x.dat', 'primary\n');
    // The bucket: the same workflow, and inputs.
    await s3.put(BUCKET, 'flows/v1/main.cwl', TWO_STEP['main.cwl']);
    await s3.put(BUCKET, 'flows/v1/tools/rev.cwl', TWO_STEP['tools/rev.cwl']);
    await s3.put(BUCKET, 'flows/v1/tools/count-lines.cwl', TWO_STEP['tools/count-lines.cwl']);
    await s3.put(BUCKET, 'data/input.txt', input);
    await s3.put(BUCKET, 'data/part.txt', parts.s3);
    await s3.put(BUCKET, 'index/x.dat.idx', 'secondary\n');
    // The allowed folder: the workflow and inputs again.
    mkdirSync(path.join(allowedDir, 'wf', 'tools'), { recursive: true });
    for (const [name, content] of Object.entries(TWO_STEP)) writeFileSync(path.join(allowedDir, 'wf', name), content);
    mkdirSync(path.join(allowedDir, 'data'));
    writeFileSync(path.join(allowedDir, 'data', 'input.txt'), input);
    writeFileSync(path.join(allowedDir, 'data', 'part.txt'), parts.file);
    writeFileSync(path.join(allowedDir, 'data', 'abs.txt'), parts.absolute);

    const submit = (name: string, spec: RunSpec) => {
      const p = h.client.submitOk(runForm(spec));
      p.catch(() => undefined); // reported by the test that awaits it
      runs.set(name, p);
    };
    submit(
      'http',
      base({
        workflow_url: `${http.origin}/wf/main.cwl`,
        workflow_params: { inp: { class: 'File', location: `${http.origin}/data/input.txt` } },
      }),
    );
    submit(
      's3',
      base({
        workflow_url: `s3://${BUCKET}/flows/v1/main.cwl`,
        workflow_params: { inp: { class: 'File', location: `s3://${BUCKET}/data/input.txt` } },
      }),
    );
    submit(
      'file',
      base({
        workflow_url: `file://${allowedDir}/wf/main.cwl`,
        workflow_params: { inp: { class: 'File', location: `file://${allowedDir}/data/input.txt` } },
      }),
    );
    submit(
      'zip-named',
      base({
        workflow_url: 'bundle.zip',
        workflow_params: { inp: { class: 'File', location: 'inputs/input.txt' } },
        attachments: {
          'bundle.zip': buildZip([
            { name: 'pipeline.cwl', data: TWO_STEP['main.cwl'] },
            { name: 'tools/' },
            { name: 'tools/rev.cwl', data: TWO_STEP['tools/rev.cwl'] },
            { name: 'tools/count-lines.cwl', data: TWO_STEP['tools/count-lines.cwl'], deflate: false },
            { name: 'README.txt', data: 'not a workflow\n' },
          ]),
          'inputs/input.txt': input,
        },
      }),
    );
    submit(
      'zip-inside',
      base({
        workflow_url: 'project/flows/main.cwl',
        workflow_params: { inp: { class: 'File', location: 'project/data/input.txt' } },
        attachments: {
          'bundle.zip': buildZip([
            { name: 'project/flows/main.cwl', data: TWO_STEP['main.cwl'] },
            { name: 'project/flows/tools/rev.cwl', data: TWO_STEP['tools/rev.cwl'] },
            { name: 'project/flows/tools/count-lines.cwl', data: TWO_STEP['tools/count-lines.cwl'] },
            { name: 'project/data/input.txt', data: input },
            { name: 'project/other.cwl', data: TWO_STEP['tools/rev.cwl'] },
          ]),
        },
      }),
    );
    submit(
      'mixed-inputs',
      base({
        workflow_url: 'tools/cat.cwl',
        workflow_params: {
          files: [
            { class: 'File', location: `${http.origin}/data/part.txt` },
            { class: 'File', location: `s3://${BUCKET}/data/part.txt` },
            { class: 'File', location: 'inputs/deep/er/part.txt' },
            { class: 'File', location: `file://${allowedDir}/data/part.txt` },
            { class: 'File', path: path.join(allowedDir, 'data', 'abs.txt') },
          ],
        },
        attachments: { 'tools/cat.cwl': CAT_TOOL, 'inputs/deep/er/part.txt': parts.attachment },
      }),
    );
    submit(
      'secondary',
      base({
        workflow_url: 'secondary.cwl',
        workflow_params: {
          data: {
            class: 'File',
            location: `${http.origin}/data/x.dat`,
            secondaryFiles: [{ class: 'File', location: `s3://${BUCKET}/index/x.dat.idx` }],
          },
        },
        attachments: { 'secondary.cwl': SECONDARY_TOOL },
      }),
    );
    submit(
      'missing-http',
      base({
        workflow_url: 'main.cwl',
        workflow_params: { inp: { class: 'File', location: `${http.origin}/data/no-such-input.txt` } },
        attachments: TWO_STEP,
      }),
    );
    submit(
      'missing-s3',
      base({
        workflow_url: 'main.cwl',
        workflow_params: { inp: { class: 'File', location: `s3://${BUCKET}/data/no-such-input.txt` } },
        attachments: TWO_STEP,
      }),
    );
  });

  it('a workflow by http URL, its tools fetched by relative path from a sub-folder, input over http → COMPLETE', async () => {
    const log = await completed('http');
    await expectTwoStepOutputs(log);
    expect(log.request.workflow_url).toBe(`${http.origin}/wf/main.cwl`);
    expect(http.requests).toEqual(expect.arrayContaining(['/wf/main.cwl', '/wf/tools/rev.cwl', '/wf/tools/count-lines.cwl', '/data/input.txt']));
  });

  it('a workflow by s3:// URL with its tools, input from s3 → COMPLETE', async () => {
    const log = await completed('s3');
    await expectTwoStepOutputs(log);
    expect(log.request.workflow_url).toBe(`s3://${BUCKET}/flows/v1/main.cwl`);
  });

  it('a workflow by file:// URL under an allowed folder, input by file:// → COMPLETE', async () => {
    await expectTwoStepOutputs(await completed('file'));
  });

  it('a zip named by workflow_url (its only top-level CWL file is the workflow), with another attachment → COMPLETE', async () => {
    await expectTwoStepOutputs(await completed('zip-named'));
  });

  it('a zip whose top level holds several CWL files none of which has a usual name, or none, is a 400 saying what to send', async () => {
    const zipWith = (entries: Parameters<typeof buildZip>[0]) =>
      h.client.submit(runForm(base({ workflow_url: 'bundle.zip', workflow_params: {}, attachments: { 'bundle.zip': buildZip(entries) } })));
    const several = await zipWith([
      { name: 'a.cwl', data: TWO_STEP['main.cwl'] },
      { name: 'B.CWL', data: TWO_STEP['main.cwl'] },
    ]);
    expect(several.status, several.text).toBe(400);
    expect(several.body.msg).toBe(
      'workflow_url: bundle.zip holds several top-level CWL files (a.cwl, B.CWL); name the workflow inside it as workflow_url (e.g. "tools/main.cwl") and attach only the zip',
    );
    const none = await zipWith([{ name: 'tools/a.cwl', data: TWO_STEP['main.cwl'] }, { name: 'README.txt', data: 'x' }]);
    expect(none.status, none.text).toBe(400);
    expect(none.body.msg).toMatch(/^workflow_url: bundle.zip holds no top-level CWL file; /);
  });

  it('the only attachment a zip, workflow_url naming a file inside it → COMPLETE', async () => {
    await expectTwoStepOutputs(await completed('zip-inside'));
  });

  it('an array of File inputs from http, s3, an attachment in sub-folders, file:// and an absolute path → COMPLETE, in order', async () => {
    const log = await completed('mixed-inputs');
    expect(await text(log.outputs.out.location)).toBe(parts.http + parts.s3 + parts.attachment + parts.file + parts.absolute);
  });

  it('a File input at http with its secondary file at s3 → COMPLETE', async () => {
    const log = await completed('secondary');
    expect(await text(log.outputs.out.location)).toBe('primary\nsecondary\n');
  });

  it('a missing http input (404) → EXECUTOR_ERROR with a system log naming the input', async () => {
    const runId = await submitted('missing-http');
    const { state } = await h.client.waitForState(runId, ['EXECUTOR_ERROR'], 60_000);
    expect(state).toBe('EXECUTOR_ERROR');
    const log = await h.client.runLog(runId);
    const line = log.run_log.system_logs.find((l: string) => l.includes('no-such-input.txt'));
    expect(line, JSON.stringify(log.run_log.system_logs)).toBeDefined();
    expect(line).toMatch(/input inp/);
    expect(line).toMatch(/404/);
    // The engine never ran.
    expect(log.run_log.cmd).toEqual([]);
  });

  it("a run whose inputs could not be staged leaves no scratch folder on the worker", async () => {
    const runIds = [await submitted('missing-http'), await submitted('missing-s3')];
    for (const runId of runIds) await h.client.waitForState(runId, ['EXECUTOR_ERROR'], 60_000);
    const deadline = Date.now() + 5000;
    let left: string[] = [];
    do {
      left = readdirSync(h.stack.workDir).filter((n) => runIds.some((id) => n.startsWith(id)));
      if (left.length) await sleep(200);
    } while (left.length && Date.now() < deadline);
    expect(left.map((n) => `${n}: ${filesUnder(path.join(h.stack.workDir, n)).join(', ')}`), 'scratch folders left (WES_KEEP_WORK_DIRS is false)').toEqual([]);
  });

  it('a missing s3 input → EXECUTOR_ERROR with a system log naming the input', async () => {
    const runId = await submitted('missing-s3');
    await h.client.waitForState(runId, ['EXECUTOR_ERROR'], 60_000);
    const log = await h.client.runLog(runId);
    const line = log.run_log.system_logs.find((l: string) => l.includes(`s3://${BUCKET}/data/no-such-input.txt`));
    expect(line, JSON.stringify(log.run_log.system_logs)).toMatch(/input inp/);
  });
});

describe('file:// outside the allowed folders', () => {
  it('a workflow_url outside → 400, and no run', async () => {
    writeFileSync(path.join(outsideDir, 'main.cwl'), TWO_STEP['main.cwl']);
    const before = (await h.client.getJson('/runs?page_size=1000')).runs.length;
    for (const url of [`file://${outsideDir}/main.cwl`, `file://${allowedDir}/../outside/main.cwl`, 'file:///etc/passwd']) {
      const r = await h.client.submit(runForm(base({ workflow_url: url, workflow_params: {} })));
      expect(r.status, `${url}: ${r.text}`).toBe(400);
      expect(r.body.msg).toMatch(/workflow_url/);
    }
    expect((await h.client.getJson('/runs?page_size=1000')).runs.length).toBe(before);
  });

  it('the answer does not tell whether a path outside exists (no probing of the server\'s files)', async () => {
    const existing = await h.client.submit(runForm(base({ workflow_url: `file://${outsideDir}/main.cwl`, workflow_params: {} })));
    const missing = await h.client.submit(runForm(base({ workflow_url: `file://${outsideDir}/no-such-file.cwl`, workflow_params: {} })));
    expect(existing.status).toBe(400);
    expect(missing.status).toBe(400);
    expect(existing.body.msg).toMatch(/outside the folders/);
    expect(missing.body.msg).toMatch(/outside the folders/);
  });

  it('an input outside → refused (400 at submit, or EXECUTOR_ERROR naming it), never read', async () => {
    writeFileSync(path.join(outsideDir, 'secret.txt'), 'secret\n');
    for (const location of [`file://${outsideDir}/secret.txt`, path.join(outsideDir, 'secret.txt')]) {
      const r = await h.client.submit(runForm(base({ workflow_url: 'tools/cat.cwl', workflow_params: { files: [{ class: 'File', location }] }, attachments: { 'tools/cat.cwl': CAT_TOOL } })));
      if (r.status === 200) {
        await h.client.waitForState(r.body.run_id, ['EXECUTOR_ERROR'], 60_000);
        const log = await h.client.runLog(r.body.run_id);
        expect(log.run_log.system_logs.join('\n')).toMatch(/input files\[0\]/);
        expect(JSON.stringify(log.outputs)).not.toContain('secret');
      } else {
        expect(r.status, r.text).toBe(400);
      }
    }
  });
});

describe('service-info', () => {
  it('supported_filesystem_protocols lists http, https, s3 (S3 settings) and file (allowed folders)', async () => {
    const info = await h.client.getJson('/service-info');
    expect(info.supported_filesystem_protocols).toEqual(['http', 'https', 's3', 'file']);
  });
});
