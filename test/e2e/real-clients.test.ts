import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../../libs/json/src';
import { WORKFLOWS_DIR } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { requestsMultipart, toilWesCwlRunnerRequest, wesClientRequest } from '../helpers/python-clients';
import { CWLTOOL } from '../helpers/stack';
import { expectValid } from '../helpers/wes-schema';

/**
 * The two command-line WES clients people use, as they are: each test sends byte for byte the
 * request the client sends (test/helpers/python-clients.ts), then reads the run the way the
 * client does, and checks the outputs a checker such as cwltest would read from `location`.
 */
const h = useStack({ workerConcurrency: 2 });
const CLIENTS = path.join(WORKFLOWS_DIR, 'clients');
const FLAT = path.join(WORKFLOWS_DIR, 'clients-flat');

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'wes-clients-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** POSTs a request exactly as built (headers and body), as python-requests does over http.client. */
function post(url: string, req: { body: Buffer; headers: Record<string, string> }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(url, { method: 'POST', headers: { ...req.headers, connection: 'keep-alive' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

async function submit(req: { body: Buffer; headers: Record<string, string> }): Promise<string> {
  const res = await post(h.client.url('/runs'), req);
  const body = JSON.parse(res.text);
  expectValid('POST', '/runs', res.status, body);
  expect(res.status, res.text).toBe(200);
  return body.run_id;
}

/** The RunLog read losslessly (the clients are Python: their JSON keeps big integers). */
async function runLogOf(runId: string): Promise<any> {
  await h.client.runLog(runId); // schema check
  const res = await fetch(h.client.url(`/runs/${runId}`));
  return parseJson(await res.text());
}

/** The output object of a direct cwltool run of the same documents, in a folder of ours. */
function cwltoolDirect(cwd: string, args: string[]): any {
  const out = path.join(scratch, `direct-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(CWLTOOL, ['--outdir', out, ...args], { cwd, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return parseJson(r.stdout);
}

const sha1 = (b: Buffer) => `sha1$${createHash('sha1').update(b).digest('hex')}`;

/**
 * What a checker reads of every File and Directory in `outputs`: each location answers GET
 * with the bytes whose size and sha1 the object gives and ends with /<basename>; a
 * Directory's location answers with its listing. Returns the objects with locations dropped,
 * to compare with cwltool's own.
 */
async function checkReadable(value: any): Promise<any> {
  if (Array.isArray(value)) return Promise.all(value.map(checkReadable));
  if (!value || typeof value !== 'object' || value.isLosslessNumber) return value;
  if (value.class === 'File' || value.class === 'Directory') {
    expect(decodeURIComponent(new URL(value.location).pathname).endsWith(`/${value.basename}`), `${value.location} ends with /${value.basename}`).toBe(true);
    const res = await fetch(value.location);
    expect(res.status, value.location).toBe(200);
    if (value.class === 'File') {
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.length).toBe(value.size);
      expect(sha1(bytes)).toBe(value.checksum);
    } else {
      const listed = parseJson(await res.text()) as any;
      expect(listed.class).toBe('Directory');
      expect(listed.listing.map((e: any) => e.basename).sort()).toEqual(value.listing.map((e: any) => e.basename).sort());
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'location' && k !== 'path') out[k] = await checkReadable(v);
  return out;
}

/** Directory listings in name order (cwltool lists in the order of its folder read). */
function canonical(value: any): any {
  if (Array.isArray(value)) return value.map(canonical);
  if (!value || typeof value !== 'object' || value.isLosslessNumber) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'location' && k !== 'path') out[k] = canonical(v);
  if (Array.isArray(out.listing)) (out.listing as any[]).sort((a, b) => (a.basename < b.basename ? -1 : 1));
  return out;
}

describe('toil-wes-cwl-runner, as cwltest runs it', () => {
  let runId: string;
  let request: { body: Buffer; headers: Record<string, string> };

  beforeAll(() => {
    // `cwltest --tool toil-wes-cwl-runner` runs: toil-wes-cwl-runner --outdir=<dir> --quiet wf/main.cwl jobs/job.json
    request = toilWesCwlRunnerRequest(CLIENTS, 'wf/main.cwl', 'jobs/job.json', ['--outdir=/tmp/cwltest-outdir', '--quiet']);
  });

  it('sends what the client sends: lower-case cwl, a repeated attachment, null-valued --quiet, relative locations', () => {
    const text = request.body.toString('utf8');
    expect(text).toContain('name="workflow_type"\r\n\r\ncwl\r\n');
    expect(text).toContain('{"--outdir": "/tmp/cwltest-outdir", "--quiet": null}');
    expect(text).toContain('"location": "data/in.txt"');
    expect(text.split('filename="data/in.txt"').length - 1).toBe(2);
    expect(text).toContain('name="workflow_url"\r\n\r\nwf/main.cwl\r\n');
    expect(text).toContain('4200000000000000000000000000000000000000000');
  });

  it('is accepted and reaches COMPLETE', async () => {
    runId = await submit(request);
    // The client polls /status (every second) until a terminal state.
    await h.client.waitForState(runId, ['COMPLETE'], 90_000, 200);
  });

  it('records the dropped client-side flags in system_logs, and runs without them', async () => {
    const log = await runLogOf(runId);
    expect(log.run_log.system_logs).toEqual(expect.arrayContaining(['ignored client-side engine parameter --outdir', 'ignored client-side engine parameter --quiet']));
    expect(log.run_log.cmd).not.toContain('--quiet');
    expect(log.run_log.cmd.join(' ')).not.toContain('/tmp/cwltest-outdir');
    expect(log.request.workflow_engine_parameters).toEqual({});
    // The client exits with run_log.exit_code (1 when missing).
    expect(log.run_log.exit_code).toBe(0);
  });

  it('gives outputs a checker can read: every location answers with the bytes of its size and sha1, and ends with its basename', async () => {
    const log = await runLogOf(runId);
    const served = await checkReadable(log.outputs);
    const direct = cwltoolDirect(CLIENTS, ['wf/main.cwl', 'jobs/job.json']);
    expect(stringifyJson(canonical(served))).toBe(stringifyJson(canonical(direct)));
    expect(await (await fetch(log.outputs.reversed.location)).text()).toBe('olleh\ndlrow\n');
  });

  it('keeps every number of the params and outputs exactly (big integers, 1.0, 1.5e-300)', async () => {
    const text = await (await fetch(h.client.url(`/runs/${runId}`))).text();
    for (const n of ['4200000000000000000000000000000000000000000', '9007199254740993', '-9007199254740993', '1.0', '1.5e-300']) {
      // Once in the echoed request's params, once in the outputs the engine printed.
      expect(text.split(`: ${n}`).length - 1 + text.split(`:${n}`).length - 1, n).toBe(2);
    }
    const log = await runLogOf(runId);
    expect(stringifyJson(log.outputs.big)).toBe(
      '{"huge":4200000000000000000000000000000000000000000,"beyond_double":9007199254740993,"negative":-9007199254740993,"exact":1.0,"tiny":1.5e-300}',
    );
  });

  it("serves a Directory output's location as its complete listing, empty folders included", async () => {
    const log = await runLogOf(runId);
    const res = await fetch(log.outputs.dir.location);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const dir = parseJson(await res.text()) as any;
    expect(dir.listing.map((e: any) => `${e.class}:${e.basename}`).sort()).toEqual(['Directory:empty', 'Directory:sub dir', 'File:a b.txt']);
    const sub = dir.listing.find((e: any) => e.basename === 'sub dir');
    expect(sub.listing.map((e: any) => e.basename)).toEqual(['ü#1.txt']);
    const deeper = await fetch(sub.listing[0].location);
    expect(await deeper.text()).toBe('deeper\n');
    const subListing = parseJson(await (await fetch(sub.location)).text()) as any;
    expect(subListing.listing[0].checksum).toBe(sub.listing[0].checksum);
  });
});

describe('wes-client (workflow-service)', () => {
  let client: string;
  let runId: string;

  /** `wes-client main.cwl job.json --attachments=<attachments>`, in the folder `dir`. */
  const wesClientRun = (dir: string, attachments: string[]) =>
    wesClientRequest(path.join(dir, 'main.cwl'), path.join(dir, 'job.json'), attachments.map((a) => path.join(dir, a)));

  beforeAll(() => {
    // The client's machine: its files live under a home folder the server cannot read.
    client = path.join(scratch, 'home', 'alice', 'project');
    cpSync(FLAT, client, { recursive: true });
  });

  it('runs with params holding absolute file:// URLs of the client machine (secondaryFiles too)', async () => {
    // wes-client --host=... --proto=http main.cwl job.json --attachments=tools/rev.cwl,tools/check.cwl,data/...
    const request = wesClientRun(client, ['tools/rev.cwl', 'tools/check.cwl', 'data/in.txt', 'data/reads.dat', 'data/reads.dat.idx']);
    const text = request.body.toString('utf8');
    expect(text).toContain(`"location": "file://${client}/data/reads.dat.idx"`);
    expect(text).toContain('name="workflow_type"\r\n\r\nCWL\r\n');
    // Sent from the client's machine: nothing of it is left for the server to read.
    rmSync(path.join(scratch, 'home'), { recursive: true, force: true });
    runId = await submit(request);
    await h.client.waitForState(runId, ['COMPLETE'], 90_000, 200);
    const log = await runLogOf(runId);
    const served = await checkReadable(log.outputs);
    expect(served.checked.size).toBe('reads\nindex of reads\n'.length);
    const checked = await fetch(log.outputs.checked.location);
    expect(await checked.text()).toBe('reads\nindex of reads\n');
    const reversed = await fetch(log.outputs.reversed.location);
    expect(await reversed.text()).toBe('eno\nowt\n');
  });

  it('--get, --list, --info and --log answer as the client reads them', async () => {
    const log = await h.client.getJson(`/runs/${runId}`);
    expect(log.state).toBe('COMPLETE');
    const list = await h.client.getJson('/runs');
    expect(list.runs.map((r: any) => r.run_id)).toContain(runId);
    const info = await h.client.getJson('/service-info');
    expect(info.workflow_type_versions.CWL).toBeDefined();
    // --log prints the text at run_log.stderr.
    const stderr = await fetch(log.run_log.stderr);
    expect(stderr.status).toBe(200);
    expect(await stderr.text()).toContain('Final process status is success');
  });

  it('a file:// location that names no attachment, where file:// is not allowed, is a 400 that says why', async () => {
    // data/in.txt, which job.json names, is not attached.
    const request = wesClientRun(FLAT, ['tools/rev.cwl', 'tools/check.cwl', 'data/reads.dat', 'data/reads.dat.idx']);
    const res = await post(h.client.url('/runs'), request);
    expect(res.status).toBe(400);
    const body = JSON.parse(res.text);
    expectValid('POST', '/runs', 400, body);
    expect(body.msg).toContain('workflow_params: input inp');
    expect(body.msg).toContain('data/in.txt');
    expect(body.msg).toMatch(/file:\/\/ URLs are refused/);
    expect(body.msg).toMatch(/no attachment's name ends its path/);
  });
});

describe('repeated attachments', () => {
  const parts = (second: string) =>
    formOf([
      ['workflow_type', 'CWL'],
      ['workflow_type_version', 'v1.0'],
      ['workflow_url', 'main.cwl'],
    ], [
      ['main.cwl', 'cwlVersion: v1.0\nclass: CommandLineTool\nbaseCommand: "true"\ninputs: []\noutputs: []\n'],
      ['data/x.txt', 'first\n'],
      ['data/x.txt', second],
    ]);

  it('the same name with the same bytes is kept once', async () => {
    const runId = await submit(parts('first\n'));
    await h.client.waitForState(runId, ['COMPLETE'], 90_000, 200);
  });

  it('the same name with other bytes is a 400 naming it', async () => {
    const res = await post(h.client.url('/runs'), parts('second\n'));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).msg).toBe('workflow_attachment: "data/x.txt" is attached twice with different contents');
  });
});

function formOf(fields: [string, string][], files: [string, string][]) {
  return requestsMultipart([
    ...fields.map(([name, value]) => ({ name, value })),
    ...files.map(([filename, content]) => ({ name: 'workflow_attachment', filename, content: Buffer.from(content) })),
  ]);
}
