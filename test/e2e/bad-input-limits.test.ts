import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunSpec, runForm, WesResponse } from '../helpers/client';
import { expectValid, expectValidComponent } from '../helpers/wes-schema';
import { CAT_TOOL, filesUnder, RECORD_TOOL } from '../helpers/cwl-fixtures';
import { StackHandle, uniqueMarker, useStack } from '../helpers/e2e';
import { startHttpServer, TestHttpServer } from '../helpers/http-server';
import { LocalS3, startS3 } from '../helpers/s3';
import type { StackOptions } from '../helpers/stack';
import { buildZip, ZipEntry } from '../helpers/zip';

/**
 * Bad input, each answered with a 4xx ErrorResponse (checked against the WES schema by the
 * client) and nothing written outside the run's folder: attachment names that would leave it
 * (.., absolute, NUL, backslash), parts too large or too many, zips that are bombs or hold
 * escaping names or links, workflow URLs to private addresses or unsupported schemes. A refused
 * submission leaves no run and no file at all. Run against the local object store and S3.
 */
const MARK = uniqueMarker('evil');
const LIMITS = {
  WES_MAX_ATTACHMENT_BYTES: '400000',
  WES_MAX_ATTACHMENTS: '3',
  WES_MAX_TOTAL_ATTACHMENT_BYTES: '800000',
  WES_MAX_FIELD_BYTES: '4096',
};

const TOOL = CAT_TOOL;
const base = (extra: Partial<RunSpec>): RunSpec => ({
  workflow_type: 'CWL',
  workflow_type_version: 'v1.2',
  workflow_url: 'tool.cwl',
  workflow_params: { files: [{ class: 'File', location: 'in.txt' }] },
  ...extra,
});
/** A valid attachment goes first, so the refusal comes after something was stored (and must be cleaned up). */
const withGood = (attachments: Record<string, string | Uint8Array>) => ({ 'tool.cwl': TOOL, ...attachments });

/** A multipart body built by hand (for names no FormData implementation would send). */
function rawMultipart(parts: { disposition: string; body: string | Buffer }[], boundary = `----wes-test-${Math.random().toString(36).slice(2)}`): { body: Buffer; type: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${p.disposition}\r\n`, 'latin1'));
    if (/filename/.test(p.disposition)) chunks.push(Buffer.from('Content-Type: application/octet-stream\r\n', 'latin1'));
    chunks.push(Buffer.from('\r\n', 'latin1'), Buffer.from(p.body), Buffer.from('\r\n', 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

const field = (name: string, value: string) => ({ disposition: `form-data; name="${name}"`, body: value });
const RAW_FIELDS = [
  field('workflow_type', 'CWL'),
  field('workflow_type_version', 'v1.2'),
  field('workflow_url', 'tool.cwl'),
  field('workflow_params', JSON.stringify({ files: [{ class: 'File', location: 'in.txt' }] })),
  { disposition: 'form-data; name="workflow_attachment"; filename="tool.cwl"', body: TOOL },
];

type Variant = 'local' | 's3';

/**
 * POST /runs without the client's status check: the official WES document lists no 413 for
 * RunWorkflow, so a 413 body is checked as an ErrorResponse; 200 and 400 against the operation.
 */
async function postRuns(origin: string, body: FormData | Buffer, headers: Record<string, string> = {}): Promise<WesResponse> {
  // Bounded: a request the server never answers fails here, not at the test's timeout.
  const res = await fetch(`${origin}/ga4gh/wes/v1/runs`, { method: 'POST', body, headers, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`POST /runs → ${res.status}: the body is not JSON: ${text.slice(0, 300)}`);
  }
  if (res.status === 200 || res.status === 400) expectValid('POST', '/runs', res.status, json);
  if (res.status >= 400) {
    expectValidComponent('ErrorResponse', json, `POST /runs → ${res.status}`);
    expect(json.status_code, `status_code of ${text.slice(0, 300)}`).toBe(res.status);
  }
  return { status: res.status, headers: res.headers, body: json, text };
}

describe.each<[Variant]>([['local'], ['s3']])('bad input with the %s object store', (variant) => {
  let s3: LocalS3 | undefined;
  let http: TestHttpServer;
  let sandbox: string;
  // No worker at first: the refused requests need none, and the first accepted run must wait
  // for one (see 'an attachment gone from the store').
  const options: StackOptions = { workers: 0, workerConcurrency: 1 };

  beforeAll(async () => {
    http = await startHttpServer();
    http.set('/main.cwl', TOOL);
    http.set('/in.txt', 'in\n');
    sandbox = mkdtempSync(path.join(os.tmpdir(), 'wes-bad-input-'));
    mkdirSync(path.join(sandbox, 'api-tmp'));
    options.env = { ...LIMITS };
    options.apiEnv = { TMPDIR: path.join(sandbox, 'api-tmp') };
    if (variant === 's3') {
      s3 = await startS3();
      await s3.createBucket('wes-bad');
      // The whole bucket is allowed for inputs: its store prefix `p/` must still be refused.
      options.env = { ...options.env, ...s3.env('wes-bad', 'p'), WES_S3_INPUT_ALLOW: 's3://wes-bad' };
    }
  });
  afterAll(async () => {
    await http?.stop();
    await s3?.stop();
    if (sandbox) rmSync(sandbox, { recursive: true, force: true });
  });

  const h: StackHandle = useStack(options);

  /** Every file the stack could have written: its folders (not the process logs), the API's TMPDIR, the bucket. */
  function snapshot(): string[] {
    return [
      ...filesUnder(h.stack.root, (rel) => /^[^/]+\.log$/.test(rel)).map((f) => `stack/${f}`),
      ...filesUnder(sandbox).map((f) => `sandbox/${f}`),
      ...(s3 ? filesUnder(s3.directory).map((f) => `s3/${f}`) : []),
    ];
  }

  async function runCount(): Promise<number> {
    return (await h.client.getJson('/runs?page_size=1000')).runs.length;
  }

  /**
   * Sends a request that must be refused with `status` (a 4xx when null), a message matching
   * `msg`; then checks that no run was recorded and no file appeared anywhere.
   */
  const apiDead = () => h.stack.api.child.exitCode !== null || h.stack.api.child.signalCode !== null;

  async function refused(send: () => Promise<WesResponse>, status: number | null, msg: RegExp): Promise<WesResponse> {
    if (apiDead()) await h.stack.restartApi({ signal: null }); // killed by an earlier test (reported there)
    const before = snapshot();
    const runs = await runCount();
    const r = await send().catch(async (err) => {
      // A request that kills the API: say so, and start it again for the tests that follow.
      const api = h.stack.api;
      await h.stack.waitExit(api, 3000).catch(() => undefined);
      if (apiDead()) {
        const tail = readFileSync(api.logFile, 'utf8').split('\n').filter((l) => !l.startsWith('{')).slice(-25).join('\n');
        await h.stack.restartApi({ signal: null });
        throw new Error(`the API process died (exit ${api.child.exitCode ?? api.child.signalCode}) on this request: ${(err as Error).message}\n${tail}`);
      }
      throw err;
    });
    if (r.status === 200) await h.client.cancel(r.body.run_id);
    if (status === null) {
      expect(r.status, r.text).toBeGreaterThanOrEqual(400);
      expect(r.status, r.text).toBeLessThan(500);
    } else {
      expect(r.status, r.text).toBe(status);
    }
    expect(r.body.msg).toMatch(msg);
    expect(await runCount(), 'runs recorded').toBe(runs);
    expect(snapshot(), 'files left behind').toEqual(before);
    return r;
  }

  const form = (spec: RunSpec) => () => postRuns(h.stack.origin, runForm(spec));
  const raw = (parts: { disposition: string; body: string | Buffer }[]) => () => {
    const { body, type } = rawMultipart(parts);
    return postRuns(h.stack.origin, body, { 'content-type': type });
  };
  const zipRun = (entries: ZipEntry[], extra: Partial<RunSpec> = {}) =>
    form(base({ workflow_url: 'bundle.zip', attachments: { 'bundle.zip': buildZip(entries) }, ...extra }));

  describe('attachment names that would leave the run folder → 400', () => {
    it.each([
      ['..', `../${MARK}.txt`, /\.\./],
      ['.. in a sub-folder', `sub/../../${MARK}.txt`, /\.\./],
      ['.. deep enough to reach /tmp', `${'../'.repeat(12)}tmp/${MARK}.txt`, /\.\./],
      ['. and ..', `sub/./../../${MARK}.txt`, /\.\./],
      ['an absolute path', `/tmp/${MARK}.txt`, /absolute/],
      ['a drive letter', `C:/${MARK}.txt`, /absolute/],
      ['a NUL byte', `ok.txt\0/../../${MARK}.txt`, /NUL/],
      ['a backslash', `sub\\..\\..\\${MARK}.txt`, /backslash/],
    ])('%s (%j)', async (_what, name, msg) => {
      const r = await refused(form(base({ attachments: withGood({ 'in.txt': 'in\n', [name]: 'evil\n' }) })), 400, msg);
      expect(r.body.msg).toMatch(/workflow_attachment/);
    });

    it.each([
      ['a NUL byte as RFC 5987 filename*', `filename*=utf-8''ok%00${MARK}.txt`, /NUL/],
      ['an escaped backslash', `filename="..\\\\..\\\\${MARK}.txt"`, /backslash/],
      ['a percent-encoded ../ as filename*', `filename*=utf-8''..%2F..%2F${MARK}.txt`, /\.\./],
    ])('%s, in a multipart body made by hand', async (_what, filenameParam, msg) => {
      await refused(raw([...RAW_FIELDS, { disposition: `form-data; name="workflow_attachment"; ${filenameParam}`, body: 'evil\n' }]), 400, msg);
    });

    it.each([
      ['a file, then a file inside it', [MARK, `${MARK}/in.txt`]],
      ['a file inside, then the file', [`${MARK}/in.txt`, MARK]],
      ['a deep file, then one of its folders', [`${MARK}/a/b/c.txt`, `${MARK}/a`]],
    ])('%s → 400 saying the two clash (a file cannot also be a folder)', async (_what, [first, second]) => {
      const r = await refused(form(base({ attachments: withGood({ [first]: 'one\n', [second]: 'two\n' }) })), 400, /clash/);
      const [file, inside] = first.length < second.length ? [first, second] : [second, first];
      expect(r.body.msg).toBe(`workflow_attachment: "${file}" and "${inside}" clash: "${file}" cannot be both a file and a folder`);
    });

    it('the same name twice → 400', async () => {
      await refused(
        raw([...RAW_FIELDS, { disposition: 'form-data; name="workflow_attachment"; filename="tool.cwl"', body: 'second copy\n' }]),
        400,
        /attached twice/,
      );
    });
  });

  describe('a multipart Content-Type the parser cannot use → 400', () => {
    const parts = RAW_FIELDS;

    it.each([
      ['no boundary', 'multipart/form-data'],
      ['an empty boundary', 'multipart/form-data; boundary='],
    ])('%s → 400 saying the boundary is missing', async (_what, type) => {
      const { body } = rawMultipart(parts, 'abc');
      await refused(() => postRuns(h.stack.origin, body, { 'content-type': type }), 400, /^Content-Type: multipart\/form-data without a boundary/);
    });

    it.each([300, 253])('a boundary of %i characters (over the parser\'s 252) → 400 naming its length and the limit', async (length) => {
      const { body, type } = rawMultipart(parts, 'b'.repeat(length));
      await refused(() => postRuns(h.stack.origin, body, { 'content-type': type }), 400, new RegExp(`^Content-Type: a multipart boundary of ${length} bytes, more than the 252 taken`));
    });

    it('a boundary of 252 characters is taken', async () => {
      const { body, type } = rawMultipart(RAW_FIELDS, 'b'.repeat(252));
      // Accepted up to its params (in.txt is not attached): the Content-Type is not what is refused.
      await refused(() => postRuns(h.stack.origin, body, { 'content-type': type }), 400, /^workflow_params: input files\[0\].*names no attachment/);
    });
  });

  describe('names longer than a file system or S3 holds → 400 naming the limit', () => {
    it.each([
      ['a 5,000-character attachment name', `${MARK}-${'a'.repeat(5000)}.txt`, /longer than the 768 bytes/],
      ['a 900-byte attachment name of short folders', `${Array.from({ length: 90 }, () => 'abcdefghi').join('/')}/${MARK}.txt`, /longer than the 768 bytes/],
      ['an attachment name with one 230-character folder', `sub/${'d'.repeat(230)}/${MARK}.txt`, /name of 230 bytes, longer than the 200 bytes/],
      ['an attachment name of 230 characters', `${MARK}-${'f'.repeat(230)}`, /longer than the 200 bytes/],
    ])('%s', async (_what, name, msg) => {
      const r = await refused(form(base({ attachments: withGood({ 'in.txt': 'in\n', [name]: 'evil\n' }) })), 400, msg);
      expect(r.body.msg).toMatch(/^workflow_attachment: /);
      expect(r.body.msg.length, 'the message shows the start of the name only').toBeLessThan(300);
    });

    it('a zip entry with a 230-character name → 400 naming the limit', async () => {
      await refused(zipRun([{ name: 'tool.cwl', data: TOOL }, { name: `data/${'z'.repeat(230)}`, data: 'evil\n' }]), 400, /bundle\.zip.*longer than the 200 bytes/);
    });

    it('a workflow_url or an input location of 3,000 characters (under WES_MAX_FIELD_BYTES) → 400 naming the field and the limit', async () => {
      await refused(form(base({ workflow_url: `${'w'.repeat(3000)}.cwl`, attachments: withGood({ 'in.txt': 'in\n' }) })), 400, /^workflow_url: .*longer than the 768 bytes/);
      await refused(
        form(base({ workflow_params: { files: [{ class: 'File', location: `${'i'.repeat(3000)}.txt` }] }, attachments: withGood({ 'in.txt': 'in\n' }) })),
        400,
        /input files\[0\].*longer than the 768 bytes/,
      );
    });
  });

  describe('limits → 413', () => {
    it('a part larger than WES_MAX_ATTACHMENT_BYTES (past the size read whole: it streams)', async () => {
      await refused(form(base({ attachments: withGood({ 'in.txt': Buffer.alloc(450_000, 65) }) })), 413, /WES_MAX_ATTACHMENT_BYTES|too large/);
    });

    it('one attachment more than WES_MAX_ATTACHMENTS (4 > 3)', async () => {
      await refused(form(base({ attachments: withGood({ 'in.txt': 'in\n', 'b.txt': 'b', 'c.txt': 'c' }) })), 413, /WES_MAX_ATTACHMENTS|files limit|parts limit/);
    });

    it('many attachments more than WES_MAX_ATTACHMENTS (20 > 3)', async () => {
      const many = Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`x/${i}.txt`, `${i}`]));
      await refused(form(base({ attachments: withGood({ 'in.txt': 'in\n', ...many }) })), 413, /WES_MAX_ATTACHMENTS|files limit|parts limit/);
    });

    it('attachments larger than WES_MAX_TOTAL_ATTACHMENT_BYTES in all (each under the part limit)', async () => {
      // 3 parts of 300 kB = 900 kB > 800 kB (within the count limit of 3): the limit is crossed
      // 200 kB into the last part, while it is still read whole.
      await refused(
        form(base({ workflow_url: 'a.bin', attachments: { 'a.bin': Buffer.alloc(300_000, 1), 'b.bin': Buffer.alloc(300_000, 2), 'c.bin': Buffer.alloc(300_000, 3) } })),
        413,
        /WES_MAX_TOTAL_ATTACHMENT_BYTES/,
      );
      // 100 + 390 + 390 kB: crossed 310 kB into the last part, which by then streams to the store.
      await refused(
        form(base({ workflow_url: 'a.bin', attachments: { 'a.bin': Buffer.alloc(100_000, 1), 'b.bin': Buffer.alloc(390_000, 2), 'c.bin': Buffer.alloc(390_000, 3) } })),
        413,
        /WES_MAX_TOTAL_ATTACHMENT_BYTES/,
      );
    });

    it('a text field larger than WES_MAX_FIELD_BYTES, as a field or as a file part', async () => {
      const params = { files: [{ class: 'File', location: 'in.txt' }], pad: 'x'.repeat(5000) };
      await refused(form(base({ workflow_params: params, attachments: withGood({ 'in.txt': 'in\n' }) })), 413, /WES_MAX_FIELD_BYTES/);
      await refused(
        form(base({ workflow_params: params, asFileParts: ['workflow_params'], attachments: withGood({ 'in.txt': 'in\n' }) })),
        413,
        /WES_MAX_FIELD_BYTES/,
      );
    });
  });

  describe('zips', () => {
    it('a zip bomb (one 50 MB entry of zeros in a 50 kB zip) → 413, nothing stored', async () => {
      const zip = buildZip([{ name: 'tool.cwl', data: TOOL }, { name: 'zeros.bin', data: Buffer.alloc(50 * 1024 * 1024) }]);
      expect(zip.length).toBeLessThan(100_000);
      await refused(zipRun([{ name: 'tool.cwl', data: TOOL }, { name: 'zeros.bin', data: Buffer.alloc(50 * 1024 * 1024) }]), 413, /unpacks to more than/);
    });

    it('a zip bomb that lies about its sizes → 4xx, nothing stored', async () => {
      const zip = buildZip([{ name: 'tool.cwl', data: TOOL }, { name: 'zeros.bin', data: Buffer.alloc(20 * 1024 * 1024) }]);
      // Claim 1000 bytes uncompressed, in the local header and the central directory.
      const lie = (sig: number, offset: number) => {
        for (let i = zip.indexOf(Buffer.from([sig & 0xff, (sig >> 8) & 0xff, (sig >> 16) & 0xff, sig >>> 24])); i >= 0; i = zip.indexOf(Buffer.from([sig & 0xff, (sig >> 8) & 0xff, (sig >> 16) & 0xff, sig >>> 24]), i + 4)) {
          if (zip.readUInt32LE(i + offset) === 20 * 1024 * 1024) zip.writeUInt32LE(1000, i + offset);
        }
      };
      lie(0x04034b50, 22);
      lie(0x02014b50, 24);
      await refused(form(base({ workflow_url: 'bundle.zip', attachments: { 'bundle.zip': zip } })), null, /bundle\.zip/);
    });

    it('a zip whose entries add up to more than WES_MAX_TOTAL_ATTACHMENT_BYTES → 413', async () => {
      await refused(
        zipRun([
          // Each entry under the part limit (400 kB), three entries (the count limit), 800.2 kB in all.
          { name: 'tool.cwl', data: TOOL },
          { name: 'a.bin', data: Buffer.alloc(399_999) },
          { name: 'b.bin', data: Buffer.alloc(399_999) },
        ]),
        413,
        /unpacks to more than 800000/,
      );
    });

    it('a zip with more entries than WES_MAX_ATTACHMENTS → 413', async () => {
      await refused(zipRun([{ name: 'tool.cwl', data: TOOL }, ...['a', 'b', 'c'].map((n) => ({ name: `${n}.txt`, data: n }))]), 413, /WES_MAX_ATTACHMENTS/);
    });

    it.each([
      ['a ../ entry', `../${MARK}.txt`, 400],
      ['a deep ../ entry', `tools/../../../${MARK}.txt`, 400],
      ['an absolute entry', `/tmp/${MARK}.txt`, 400],
      ['a backslash entry', `..\\..\\${MARK}.txt`, 400],
    ])('a zip with %s → 400', async (_what, name, status) => {
      await refused(zipRun([{ name: 'tool.cwl', data: TOOL }, { name, data: 'evil\n' }]), status, /bundle\.zip/);
    });

    it('a zip with a symlink entry (built by hand) → 400 naming the link', async () => {
      await refused(
        zipRun([
          { name: 'tool.cwl', data: TOOL },
          { name: 'in.txt', data: '/etc/passwd', mode: 0o120777, deflate: false },
        ]),
        400,
        /in\.txt.*link/,
      );
    });

    it('a zip with a symlink made by `zip --symlinks` → 400', async () => {
      if (spawnSync('zip', ['-v']).status !== 0) return; // no zip tool here: the hand-built link above covers it
      const dir = path.join(sandbox, 'zipsrc');
      mkdirSync(path.join(dir, 'sub'), { recursive: true });
      writeFileSync(path.join(dir, 'tool.cwl'), TOOL);
      symlinkSync('/etc/passwd', path.join(dir, 'sub', 'in.txt'));
      const r = spawnSync('zip', ['-q', '-r', '--symlinks', path.join(sandbox, 'links.zip'), 'tool.cwl', 'sub'], { cwd: dir });
      expect(r.status, String(r.stderr)).toBe(0);
      const zip = readFileSync(path.join(sandbox, 'links.zip'));
      rmSync(dir, { recursive: true, force: true });
      rmSync(path.join(sandbox, 'links.zip'));
      await refused(form(base({ workflow_url: 'bundle.zip', attachments: { 'bundle.zip': zip } })), 400, /link/);
    });

    it.each([
      ['a file, then a file inside it', ['data', 'data/in.txt']],
      ['a file inside, then the file', ['data/in.txt', 'data']],
    ])('a zip whose entries clash (%s) → 400 naming the two entries only (no server path)', async (_what, [first, second]) => {
      const r = await refused(
        zipRun([{ name: 'tool.cwl', data: TOOL }, { name: first, data: 'one\n' }, { name: second, data: 'two\n' }]),
        400,
        /^workflow_attachment "bundle\.zip": "data" and "data\/in\.txt" clash: "data" cannot be both a file and a folder$/,
      );
      expect(r.body.msg).not.toContain(h.stack.root);
      expect(r.body.msg).not.toMatch(/runs\/|\/tmp\/|ENOTDIR|EEXIST/);
    });

    it('a zip entry that clashes with another attachment → 400 naming both', async () => {
      const r = await refused(
        form(base({ workflow_url: 'bundle.zip', attachments: { 'bundle.zip': buildZip([{ name: 'tool.cwl', data: TOOL }, { name: 'data/in.txt', data: 'in\n' }]), data: 'file\n' } })),
        400,
        /^workflow_attachment "bundle\.zip": "data" and "data\/in\.txt" clash/,
      );
      expect(r.body.msg).not.toContain(h.stack.root);
    });

    it('a zip with a device entry → 400', async () => {
      await refused(zipRun([{ name: 'tool.cwl', data: TOOL }, { name: 'dev', data: '', mode: 0o020644, deflate: false }]), 400, /link or special file/);
    });

    it('a .zip that is not a zip → 400', async () => {
      await refused(form(base({ workflow_url: 'bundle.zip', attachments: { 'bundle.zip': 'this is not a zip' } })), 400, /not a readable zip/);
    });

    it('a zip with several top-level CWL files and no main.cwl → 400 saying to name one', async () => {
      await refused(zipRun([{ name: 'a.cwl', data: TOOL }, { name: 'b.cwl', data: TOOL }]), 400, /several top-level CWL files/);
    });

    it('the only attachment a zip, workflow_url naming a file that is not in it → 400', async () => {
      await refused(form(base({ workflow_url: 'nope.cwl', attachments: { 'bundle.zip': buildZip([{ name: 'tool.cwl', data: TOOL }]) } })), 400, /neither an attachment nor a file in bundle\.zip/);
    });
  });

  describe('workflow_url and inputs at refused places → 400', () => {
    const port = () => new URL(http.origin).port;

    it('workflow_url http://127.0.0.1 (no allow list) → 400 naming the address; no request made', async () => {
      const before = http.requests.length;
      await refused(form(base({ workflow_url: `${http.origin}/main.cwl` })), 400, /workflow_url.*127\.0\.0\.1.*private address/);
      expect(http.requests.length).toBe(before);
    });

    it('workflow_url at a host name that resolves to 127.0.0.1 (localhost) → 400; no request made', async () => {
      const before = http.requests.length;
      await refused(form(base({ workflow_url: `http://localhost:${port()}/main.cwl` })), 400, /workflow_url.*localhost resolves to 127\.0\.0\.1, a private address/);
      expect(http.requests.length).toBe(before);
    });

    it.each([
      ['[::1]', 'http://[::1]:9/main.cwl', /::1/],
      ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/main.cwl', /169\.254\.169\.254/],
      ['a private network', 'https://10.0.0.1/main.cwl', /10\.0\.0\.1/],
      ['127.0.0.2', 'http://127.0.0.2:9/main.cwl', /127\.0\.0\.2/],
      ['IPv4-compatible ::127.0.0.1', 'http://[::127.0.0.1]:9/main.cwl', /workflow_url: ::7f00:1 \(IPv4 127\.0\.0\.1\) is a private address/],
      ['NAT64 64:ff9b::a9fe:a9fe', 'http://[64:ff9b::169.254.169.254]/latest/meta-data/main.cwl', /\(IPv4 169\.254\.169\.254\) is a private address/],
      ['6to4 2002:a00:1::', 'http://[2002:a00:1::]/main.cwl', /\(IPv4 10\.0\.0\.1\) is a private address/],
    ])('workflow_url at %s → 400', async (_what, url, msg) => {
      await refused(form(base({ workflow_url: url })), 400, msg);
    });

    it.each([
      ['ftp', 'ftp://example.org/main.cwl', /"ftp" scheme is not supported/],
      ['gopher', 'gopher://example.org/main.cwl', /"gopher" scheme/],
      ['file with no allowed folder', 'file:///etc/passwd', /file:\/\/ URLs are refused/],
    ])('workflow_url with scheme %s → 400 naming it', async (_what, url, msg) => {
      await refused(form(base({ workflow_url: url })), 400, msg);
    });

    it('workflow_url s3:// → 400 without S3 settings (accepted and fetched with them)', async () => {
      if (variant === 'local') {
        await refused(form(base({ workflow_url: 's3://bucket/main.cwl' })), 400, /s3:\/\/ URLs need the S3 settings/);
      } else {
        // With S3 configured the URL is fetched: a missing object is a 400 naming it.
        await refused(form(base({ workflow_url: 's3://wes-bad/none/main.cwl' })), 400, /workflow_url.*s3:\/\/wes-bad\/none\/main\.cwl/);
      }
    });

    it.each([
      ['an http input at 127.0.0.1', { class: 'File', location: 'http://127.0.0.1:9/in.txt' }, /input files\[0\].*127\.0\.0\.1 is a private address/],
      ['an http input at ::ffff:127.0.0.1', { class: 'File', location: 'http://[::ffff:127.0.0.1]:9/in.txt' }, /input files\[0\].*\(IPv4 127\.0\.0\.1\) is a private address/],
      ['an http input at 64:ff9b::127.0.0.1', { class: 'File', location: 'http://[64:ff9b::127.0.0.1]:9/in.txt' }, /input files\[0\].*\(IPv4 127\.0\.0\.1\) is a private address/],
      ['an ftp input', { class: 'File', location: 'ftp://example.org/in.txt' }, /input files\[0\].*"ftp" scheme/],
      ['a file:// input with no allowed folder', { class: 'File', location: 'file:///etc/passwd' }, /input files\[0\].*file:\/\/ URLs are refused/],
      ['an absolute path input', { class: 'File', location: '/etc/passwd' }, /input files\[0\].*file:\/\/ URLs are refused/],
      ['an absolute path given as path', { class: 'File', path: '/etc/passwd' }, /input files\[0\]/],
      ['a ../ input', { class: 'File', location: '../in.txt' }, /input files\[0\].*\.\./],
      ['an input naming no attachment', { class: 'File', location: 'missing.txt' }, /input files\[0\].*names no attachment/],
      ['a Directory input at a URL', { class: 'Directory', location: 'https://example.org/dir/' }, /input files\[0\].*Directory/],
    ])('%s → 400 naming the input', async (_what, file, msg) => {
      await refused(form(base({ workflow_params: { files: [file] }, attachments: withGood({ 'in.txt': 'in\n' }) })), 400, msg);
    });

    it("an s3:// input outside the allowed locations, or among the object store's own keys (another run's output) → 400 naming it", async () => {
      if (variant === 'local') {
        await refused(form(base({ workflow_params: { files: [{ class: 'File', location: 's3://wes-bad/x.txt' }] }, attachments: withGood({}) })), 400, /input files\[0\].*s3:\/\/ URLs need the S3 settings/);
        return;
      }
      const other = await h.client.submitOk(runForm(base({ workflow_params: { files: [{ class: 'File', location: 'in.txt' }] }, attachments: withGood({ 'in.txt': 'in\n' }) })));
      // Queued (no worker here): its attachments are in the store already.
      const theirs = `s3://wes-bad/p/runs/${other}/attachments/in.txt`;
      await refused(form(base({ workflow_params: { files: [{ class: 'File', location: theirs }] }, attachments: withGood({}) })), 400, /input files\[0\].*the server's own object store/);
      await refused(form(base({ workflow_params: { files: [{ class: 'Directory', location: 's3://wes-bad/p/runs/' }] }, attachments: withGood({}) })), 400, /input files\[0\].*the server's own object store/);
      await refused(form(base({ workflow_params: { files: [{ class: 'Directory', location: 's3://wes-bad/' }] }, attachments: withGood({}) })), 400, /input files\[0\].*the server's own object store/);
      await refused(form(base({ workflow_params: { files: [{ class: 'File', location: 's3://another-bucket/x.txt' }] }, attachments: withGood({}) })), 400, /input files\[0\].*outside the s3:\/\/ locations inputs may be read from \(WES_S3_INPUT_ALLOW\)/);
      await refused(form(base({ workflow_url: `s3://wes-bad/p/runs/${other}/attachments/main.cwl` })), 400, /workflow_url.*the server's own object store/);
      await h.client.cancel(other);
    });

    it.each(['location', 'path'])('a File in a record field named %s, at 127.0.0.1 → 400 naming it', async (key) => {
      const params = { files: [{ class: 'File', location: 'in.txt' }], rec: { [key]: { class: 'File', location: 'http://127.0.0.1:9/in.txt' } } };
      await refused(form(base({ workflow_params: params, attachments: withGood({ 'in.txt': 'in\n' }) })), 400, new RegExp(`input rec\\.${key}.*127\\.0\\.0\\.1 is a private address`));
    });
  });

  describe('accepted runs write only inside their own folders', () => {
    it('an attachment gone from the store before the worker stages it → SYSTEM_ERROR with a system log (our failure, not the client\'s)', async () => {
      const runId = await h.client.submitOk(runForm(base({ attachments: withGood({ 'in.txt': 'in\n' }) })));
      if (variant === 'local') rmSync(path.join(h.stack.dataDir, 'runs', runId, 'attachments', 'in.txt'));
      else await s3!.client.send(new DeleteObjectCommand({ Bucket: 'wes-bad', Key: `p/runs/${runId}/attachments/in.txt` }));
      await h.stack.startWorker();
      const { state } = await h.client.waitForState(runId, ['SYSTEM_ERROR'], 60_000);
      expect(state).toBe('SYSTEM_ERROR');
      const log = await h.client.runLog(runId);
      expect(log.run_log.system_logs.join('\n')).toMatch(/in\.txt/);
    });

    it('an input at a host name resolving to 127.0.0.1: accepted (names resolve at fetch time), EXECUTOR_ERROR naming it, no request made', async () => {
      const before = snapshot();
      const requests = http.requests.length;
      const location = `http://localhost:${new URL(http.origin).port}/in.txt`;
      const runId = await h.client.submitOk(runForm(base({ workflow_params: { files: [{ class: 'File', location }] }, attachments: { 'tool.cwl': TOOL } })));
      await h.client.waitForState(runId, ['EXECUTOR_ERROR'], 60_000);
      const log = await h.client.runLog(runId);
      expect(log.run_log.system_logs.join('\n')).toMatch(/input files\[0\].*localhost resolves to 127\.0\.0\.1, a private address/);
      expect(http.requests.length).toBe(requests);
      await expectOnlyRunFiles(before, runId);
    });

    describe('a File in a record field named location (the engine reads it like any other)', () => {
      const recordRun = (location: string) =>
        runForm(base({ workflow_params: { rec: { location: { class: 'File', location } } }, attachments: { 'tool.cwl': RECORD_TOOL, 'data/in.txt': `${MARK}\n` } }));

      it('at a client-machine path ending with an attachment\'s name: staged from the attachment, COMPLETE', async () => {
        const runId = await h.client.submitOk(recordRun('file:///home/client/project/data/in.txt'));
        await h.client.waitForState(runId, ['COMPLETE'], 90_000);
        const log = await h.client.runLog(runId);
        expect((await h.client.fetchText(log.outputs.out.location)).text).toBe(`${MARK}\n`);
      });

      it('at a host name resolving to 127.0.0.1: EXECUTOR_ERROR naming it, no request made', async () => {
        const requests = http.requests.length;
        const runId = await h.client.submitOk(recordRun(`http://localhost:${new URL(http.origin).port}/in.txt`));
        await h.client.waitForState(runId, ['EXECUTOR_ERROR'], 60_000);
        const log = await h.client.runLog(runId);
        expect(log.run_log.system_logs.join('\n')).toMatch(/input rec\.location .*localhost resolves to 127\.0\.0\.1, a private address/);
        expect(http.requests.length).toBe(requests);
      });
    });

    it('a valid zip workflow with sub-folders: COMPLETE, files only under the run', async () => {
      const before = snapshot();
      const runId = await h.client.submitOk(
        runForm(
          base({
            workflow_url: 'bundle.zip',
            workflow_params: { files: [{ class: 'File', location: 'data/in.txt' }] },
            attachments: { 'bundle.zip': buildZip([{ name: 'tool.cwl', data: TOOL }, { name: 'data/' }, { name: 'data/in.txt', data: `${MARK}\n` }]) },
          }),
        ),
      );
      await h.client.waitForState(runId, ['COMPLETE'], 90_000);
      const log = await h.client.runLog(runId);
      expect((await h.client.fetchText(log.outputs.out.location)).text).toBe(`${MARK}\n`);
      await expectOnlyRunFiles(before, runId);
    });

    it('GET of an output path longer than a store holds → 400 naming the limit (not the store\'s ENAMETOOLONG or 400 as a 500)', async () => {
      // Any run will do: the path is checked before its outputs are looked for.
      const runId = await h.client.submitOk(runForm(base({ attachments: withGood({ 'in.txt': 'in\n' }) })));
      for (const [path, msg] of [
        ['x'.repeat(5000), /^output path: .*\(5000 bytes\) is longer than the 768 bytes/],
        [`d/${'y'.repeat(230)}`, /^output path: .*name of 230 bytes, longer than the 200 bytes/],
        [Array.from({ length: 6 }, () => 'z'.repeat(150)).join('/'), /^output path: .*longer than the 768 bytes/],
      ] as const) {
        const r = await h.client.request('GET', `/runs/${runId}/outputs/${path}`);
        expect(r.status, r.text.slice(0, 300)).toBe(400);
        expect(r.body.msg).toMatch(msg);
      }
      // Within the limits, a path that names no output is a 404.
      const near = await h.client.request('GET', `/runs/${runId}/outputs/${Array.from({ length: 4 }, () => 'z'.repeat(190)).join('/')}`);
      expect(near.status, near.text.slice(0, 300)).toBe(404);
      expect(near.body.msg).toMatch(/has no output/);
      await h.client.cancel(runId);
    });

    /** New files since `before` all lie in the run's folder of the store (the scratch folder is gone). */
    async function expectOnlyRunFiles(before: string[], runId: string): Promise<void> {
      const deadline = Date.now() + 10_000;
      let added: string[] = [];
      for (;;) {
        added = snapshot().filter((f) => !before.includes(f));
        if (!added.some((f) => f.startsWith('stack/work/')) || Date.now() > deadline) break;
        await sleep(100);
      }
      const runFolder = variant === 'local' ? new RegExp(`^stack/data/runs/${runId}/`) : new RegExp(`^s3/wes-bad/p/runs/${runId}/`);
      const outside = added.filter((f) => !runFolder.test(f));
      expect(outside, `files written outside runs/${runId}/`).toEqual([]);
      expect(added.length).toBeGreaterThan(0);
    }
  });

  it('no file named by a refused request appeared anywhere', () => {
    const hits = [...snapshot(), ...filesUnder(os.tmpdir(), (rel) => rel.split('/').length > 1)].filter((f) => f.includes(MARK));
    expect(hits).toEqual([]);
    expect(existsSync(path.join('/', `${MARK}.txt`))).toBe(false);
    expect(existsSync(path.join(os.tmpdir(), `${MARK}.txt`))).toBe(false);
  });

  it(`service-info lists exactly the protocols that work`, async () => {
    const info = await h.client.getJson('/service-info');
    expect(info.supported_filesystem_protocols).toEqual(variant === 's3' ? ['http', 'https', 's3'] : ['http', 'https']);
  });
});
