import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runForm, workflowFiles } from '../helpers/client';
import { binaryBlob, binaryToolRun, filesUnder, tickerTool } from '../helpers/cwl-fixtures';
import { uniqueMarker, useStack } from '../helpers/e2e';
import { LocalS3, startS3 } from '../helpers/s3';
import type { StackOptions } from '../helpers/stack';

/**
 * API and worker that share nothing but Redis and an S3 bucket (s3rver): each has its own data
 * and scratch folders, so nothing can pass through a shared path. Attachments in sub-folders go
 * up through the bucket, outputs (text, binary, a folder) and logs come back through the RunLog's
 * URLs byte for byte, or as presigned S3 URLs; the worker's scratch folder is gone after the
 * run; a live log can be followed while the run is RUNNING.
 */
const BUCKET = 'wes-e2e';
const PREFIX = 'deploy/one';
let s3: LocalS3;
let dirs: Record<'apiData' | 'apiWork' | 'apiTmp' | 'workerData' | 'workerWork', string>;
let sandbox: string;
const options: StackOptions = { workerConcurrency: 2 };

// Registered before useStack: s3rver is up before the stack starts, and stopped after it stops.
beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket(BUCKET);
  sandbox = mkdtempSync(path.join(os.tmpdir(), 'wes-s3-e2e-'));
  dirs = {
    apiData: path.join(sandbox, 'api-data'),
    apiWork: path.join(sandbox, 'api-work'),
    apiTmp: path.join(sandbox, 'api-tmp'),
    workerData: path.join(sandbox, 'worker-data'),
    workerWork: path.join(sandbox, 'worker-work'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d);
  options.env = s3.env(BUCKET, PREFIX);
  options.apiEnv = { WES_DATA_DIR: dirs.apiData, WES_WORK_DIR: dirs.apiWork, TMPDIR: dirs.apiTmp };
  options.workerEnv = { WES_DATA_DIR: dirs.workerData, WES_WORK_DIR: dirs.workerWork, WES_KEEP_WORK_DIRS: 'false' };
});
afterAll(async () => {
  await s3?.stop();
  if (sandbox) rmSync(sandbox, { recursive: true, force: true });
});

const h = useStack(options);

// ASCII only: cwltool runs tools in the C locale, where rev refuses multibyte characters.
const input = 'first line\nsecond line: hello\n\nlast line without the end';
const blob = binaryBlob(300_000);
/** What the workflow's tools make of the input here (rev, then wc -l), run locally. */
const expectedReversed = spawnSync('rev', { input, encoding: 'utf8' }).stdout;
const expectedCount = spawnSync('wc', ['-l'], { input: expectedReversed, encoding: 'utf8' }).stdout;

/** Keys of the bucket (read from s3rver's folder) under the run, relative to it. */
function runKeys(runId: string): string[] {
  const base = `${PREFIX}/runs/${runId}/`;
  return s3
    .storedKeys(BUCKET)
    .filter((k) => k.startsWith(base))
    .map((k) => k.slice(base.length));
}

async function download(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/** Waits until the worker's scratch folder holds nothing of the run (it is removed just after the end). */
async function scratchGone(runId: string): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const left = readdirSync(dirs.workerWork).filter((n) => n.startsWith(runId));
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(100);
  }
}

describe('a two-step workflow with attachments in sub-folders, through S3 only', () => {
  let textRun: string;
  let binRun: string;

  it('both runs COMPLETE (text workflow in sub-folders, and a binary + folder output)', async () => {
    textRun = await h.client.submitOk(
      runForm({
        workflow_url: 'flows/main.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.2',
        workflow_params: { inp: { class: 'File', location: 'data/deep/input.txt' } },
        attachments: {
          'flows/main.cwl': workflowFiles('main.cwl')['main.cwl'],
          'flows/tools/rev.cwl': workflowFiles('tools/rev.cwl')['tools/rev.cwl'],
          'flows/tools/count-lines.cwl': workflowFiles('tools/count-lines.cwl')['tools/count-lines.cwl'],
          'data/deep/input.txt': input,
        },
      }),
    );
    binRun = await h.client.submitOk(binaryToolRun(blob));
    await Promise.all([h.client.waitForState(textRun, ['COMPLETE']), h.client.waitForState(binRun, ['COMPLETE'])]);
  });

  it('outputs download byte for byte through the RunLog URLs (served by the API from the bucket)', async () => {
    const log = await h.client.runLog(textRun);
    const base = h.client.url(`/runs/${textRun}/outputs/`);
    expect(log.outputs.reversed.location.startsWith(base)).toBe(true);
    expect(log.outputs.count.location.startsWith(base)).toBe(true);
    const reversed = await download(log.outputs.reversed.location);
    expect(reversed.status).toBe(200);
    expect(reversed.body.toString('utf8')).toBe(expectedReversed);
    expect(expectedReversed).toContain('olleh :enil dnoces');
    const count = await download(log.outputs.count.location);
    expect(count.body.toString('utf8')).toBe(expectedCount);
    // No worker-local path leaks into the RunLog.
    expect(JSON.stringify(log.outputs)).not.toContain(dirs.workerWork);
    expect(log.outputs.reversed.path).toBeUndefined();
  });

  it('a binary output and the files of a Directory output download byte for byte; Range works', async () => {
    const log = await h.client.runLog(binRun);
    const copy = await download(log.outputs.copy.location);
    expect(copy.status).toBe(200);
    expect(copy.body.equals(blob)).toBe(true);
    expect([copy.headers.get('content-length'), copy.headers.get('accept-ranges'), copy.headers.get('content-type')]).toEqual([
      String(blob.length),
      'bytes',
      'application/octet-stream',
    ]);
    expect(log.outputs.copy.size).toBe(blob.length);
    const listing = log.outputs.folder.listing as any[];
    const a = listing.find((e) => e.basename === 'a.txt');
    const sub = listing.find((e) => e.basename === 'sub');
    expect((await download(a.location)).body.toString()).toBe('directory file\n');
    const inner = await download(sub.listing[0].location);
    expect(inner.body.equals(blob)).toBe(true);
    const part = await download(log.outputs.copy.location, { range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${blob.length}`);
    expect([part.headers.get('content-length'), part.headers.get('accept-ranges')]).toEqual(['1000', 'bytes']);
    expect(part.body.equals(blob.subarray(1000, 2000))).toBe(true);
    const tail = await download(log.outputs.copy.location, { range: 'bytes=-10' });
    expect(tail.body.equals(blob.subarray(blob.length - 10))).toBe(true);
  });

  it('GET /runs/{id}/outputs lists every output file with a URL that serves it', async () => {
    const list = await h.client.getJson(`/runs/${binRun}/outputs`);
    expect(list.run_id).toBe(binRun);
    const paths = list.files.map((f: any) => f.path).sort();
    expect(paths).toEqual(['out/a.txt', 'out/sub/copy.bin']);
    for (const f of list.files) {
      const got = await download(f.url);
      expect(got.status).toBe(200);
      expect(got.body.length).toBe(f.size);
    }
  });

  it('logs are served from the bucket after the end', async () => {
    const log = await h.client.runLog(textRun);
    const stderr = await download(log.run_log.stderr);
    expect(stderr.status).toBe(200);
    expect(stderr.body.toString()).toContain('Final process status is success');
    const stdout = await download(log.run_log.stdout);
    expect(JSON.parse(stdout.body.toString())).toHaveProperty('reversed');
  });

  it("everything went through the bucket: attachments, logs, outputs, the steps' captured stdout under runs/<id>/ (no live-log chunks left)", async () => {
    const keys = runKeys(textRun);
    expect(keys.filter((k) => !k.startsWith('tasks/'))).toEqual([
      'attachments/data/deep/input.txt',
      'attachments/flows/main.cwl',
      'attachments/flows/tools/count-lines.cwl',
      'attachments/flows/tools/rev.cwl',
      'logs/stderr',
      'logs/stdout',
      'outputs/count.txt',
      'outputs/reversed.txt',
    ]);
    // The steps' `stdout:` captures, as their tasks' logs (attempt 1, tasks 1 and 2). The first
    // step's folder outlives it; the last step's capture can be moved into the outputs within
    // milliseconds of its end and then be missed (noted in its task; see ARCHITECTURE, Tasks).
    expect(keys.filter((k) => k.startsWith('tasks/'))).toEqual(expect.arrayContaining(['tasks/1/1/stdout']));
    expect(['tasks/1/1/stdout', 'tasks/1/2/stdout']).toEqual(expect.arrayContaining(keys.filter((k) => k.startsWith('tasks/'))));
    expect(runKeys(binRun)).toEqual(['attachments/data/blob.bin', 'attachments/tools/binary.cwl', 'logs/stderr', 'logs/stdout', 'outputs/out/a.txt', 'outputs/out/sub/copy.bin']);
    // Nothing outside the deployment's prefix.
    expect(s3.storedKeys(BUCKET).filter((k) => !k.startsWith(`${PREFIX}/runs/`))).toEqual([]);
  });

  it("the worker's scratch folder is removed after each run; neither data folder nor the API's work folder was used", async () => {
    expect(await scratchGone(textRun)).toEqual([]);
    expect(await scratchGone(binRun)).toEqual([]);
    expect(filesUnder(dirs.apiData)).toEqual([]);
    expect(filesUnder(dirs.workerData)).toEqual([]);
    expect(filesUnder(dirs.apiWork)).toEqual([]);
    expect(filesUnder(dirs.apiTmp)).toEqual([]);
    // The stack's own default folders were overridden for both processes: unused too.
    expect(filesUnder(h.stack.dataDir)).toEqual([]);
    expect(filesUnder(h.stack.workDir)).toEqual([]);
  });

  it('service-info lists http and https: neither s3 (no location is allowed, WES_S3_INPUT_ALLOW) nor file (no folder is)', async () => {
    const info = await h.client.getJson('/service-info');
    expect(info.supported_filesystem_protocols).toEqual(['http', 'https']);
  });

  it('with WES_OUTPUT_URLS=presigned the output locations are presigned S3 URLs serving the same bytes', async () => {
    await h.stack.restartApi({ signal: 'SIGTERM', env: { WES_OUTPUT_URLS: 'presigned', WES_PRESIGN_EXPIRY_SECONDS: '600' } });
    const log = await h.client.runLog(binRun);
    const loc: string = log.outputs.copy.location;
    expect(loc.startsWith(`${s3.endpoint}/${BUCKET}/${PREFIX}/runs/${binRun}/outputs/out/sub/copy.bin?`)).toBe(true);
    expect(loc).toMatch(/X-Amz-Signature=/);
    expect(loc).toMatch(/X-Amz-Expires=600/);
    const copy = await download(loc);
    expect(copy.status).toBe(200);
    expect(copy.body.equals(blob)).toBe(true);
    const inner = (log.outputs.folder.listing as any[]).find((e) => e.basename === 'sub').listing[0];
    expect(inner.location.startsWith(`${s3.endpoint}/`)).toBe(true);
    expect((await download(inner.location)).body.equals(blob)).toBe(true);
    const text = await h.client.runLog(textRun);
    const reversed = await download(text.outputs.reversed.location);
    expect(reversed.body.toString('utf8')).toBe(expectedReversed);
    // Logs stay URLs of this API.
    expect(text.run_log.stderr).toBe(h.client.url(`/runs/${textRun}/logs/stderr`));
  });

  it('DELETE /runs/{id} removes every object of the run from the bucket, and none of another run', async () => {
    expect(runKeys(binRun).length).toBeGreaterThan(0);
    const r = await h.client.request('DELETE', `/runs/${binRun}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ run_id: binRun });
    expect(runKeys(binRun)).toEqual([]);
    expect(runKeys(textRun)).toContain('outputs/count.txt');
    expect((await h.client.request('GET', `/runs/${binRun}`)).status).toBe(404);
  });
});

describe('a live log through S3', () => {
  const marker = uniqueMarker('live');
  const TICKS = 10;

  it('while RUNNING, logs/stderr shows a growing prefix of the final log; Range bytes=N- continues it; at the end it equals what was followed', async () => {
    const runId = await h.client.submitOk(
      runForm({
        workflow_url: 'ticker.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.2',
        workflow_params: {},
        attachments: { 'ticker.cwl': tickerTool(TICKS, 0.5, marker) },
      }),
    );
    const url = h.client.url(`/runs/${runId}/logs/stderr`);
    await h.client.waitForState(runId, ['RUNNING', 'COMPLETE'], 60_000, 50);

    /** Requests whose response broke off (a client sees a truncated body or a reset connection). */
    const broken: string[] = [];
    /** GET of the log; null (and noted in `broken`) when the response breaks off. */
    const get = async (headers: Record<string, string> = {}) => {
      try {
        const res = await fetch(url, { headers });
        return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
      } catch (err) {
        const state = await h.client.status(runId).catch(() => '?');
        broken.push(`${JSON.stringify(headers)}: ${(err as Error).message} / ${(err as { cause?: Error }).cause?.message} (run then ${state})`);
        return null;
      }
    };
    // Plain GETs while running: each must be a prefix of the next, and of the final log.
    const snapshots: string[] = [];
    // A follower that only asks for what comes after the bytes it has.
    let followed = Buffer.alloc(0);
    const rangeStatuses: number[] = [];
    /** Tick counts seen in logs read while RUNNING. */
    const ticksSeen = new Set<number>();
    const follow = async () => {
      const res = await get({ range: `bytes=${followed.length}-` });
      if (!res) return;
      rangeStatuses.push(res.status);
      if (res.status === 206) {
        expect(res.headers.get('content-range')).toMatch(new RegExp(`^bytes ${followed.length}-\\d+/\\d+$`));
        followed = Buffer.concat([followed, res.body]);
      } else if (res.status === 200) {
        // Nothing shipped yet: the empty log.
        expect(res.body.length).toBe(0);
      } else {
        // Nothing new since the last read.
        expect(res.status).toBe(416);
      }
    };
    for (;;) {
      const state = await h.client.status(runId);
      if (state !== 'RUNNING') break;
      const res = await get();
      if (res) {
        expect(res.status).toBe(200);
        const text = res.body.toString('utf8');
        if ((await h.client.status(runId)) === 'RUNNING') {
          snapshots.push(text);
          ticksSeen.add((text.match(new RegExp(`^${marker} tick \\d+$`, 'gm')) ?? []).length);
        }
      }
      await follow();
      await sleep(200);
    }
    await h.client.waitForState(runId, ['COMPLETE']);
    await follow();
    await follow();

    const final = await (await fetch(url)).text();
    for (let i = 1; i <= TICKS; i++) expect(final).toContain(`${marker} tick ${i}\n`);
    // The log grew while the run went on: at least two different partial counts of ticks were readable.
    const partial = [...ticksSeen].filter((n) => n > 0 && n < TICKS);
    expect(partial.length, `partial tick counts seen while RUNNING: ${[...ticksSeen].join(', ')} (${snapshots.length} snapshots)`).toBeGreaterThanOrEqual(2);
    const sizes = snapshots.map((s) => s.length);
    expect(new Set(sizes.filter((n) => n > 0)).size, 'distinct non-empty sizes seen while RUNNING').toBeGreaterThanOrEqual(2);
    for (let i = 1; i < snapshots.length; i++) expect(snapshots[i].startsWith(snapshots[i - 1]), `snapshot ${i} extends snapshot ${i - 1}`).toBe(true);
    for (const s of snapshots) expect(final.startsWith(s)).toBe(true);
    // What a client following with Range got is exactly the whole log.
    expect(followed.toString('utf8')).toBe(final);
    expect(rangeStatuses.filter((s) => s === 206).length).toBeGreaterThanOrEqual(2);
    // Reading a live log never breaks off, not even as the run ends and the whole log replaces the chunks.
    expect(broken, 'responses that broke off').toEqual([]);
    // The chunks are gone once the whole log is stored.
    expect(runKeys(runId).filter((k) => k.includes('.parts/'))).toEqual([]);
  });
});

describe('following a live log as the run ends', () => {
  it('never breaks off: the response is whole even when the chunks are replaced by the whole log meanwhile', async () => {
    // Two short runs, each followed by three clients reading as fast as they can across the end
    // of the run (when the worker stores the whole log and deletes the chunks the API is reading).
    const runs = await Promise.all(
      [1, 2].map((i) =>
        h.client.submitOk(
          runForm({
            workflow_url: 'ticker.cwl',
            workflow_type: 'CWL',
            workflow_type_version: 'v1.2',
            workflow_params: {},
            attachments: { 'ticker.cwl': tickerTool(4, 0.4, uniqueMarker(`end${i}`)) },
          }),
        ),
      ),
    );
    const broken: string[] = [];
    let complete = 0;
    await Promise.all(
      runs.map(async (runId) => {
        const url = h.client.url(`/runs/${runId}/logs/stderr`);
        await h.client.waitForState(runId, ['RUNNING', 'COMPLETE'], 60_000, 50);
        let done = false;
        const reader = async () => {
          while (!done) {
            try {
              const res = await fetch(url, { headers: { range: 'bytes=0-' } });
              const body = Buffer.from(await res.arrayBuffer());
              const length = Number(res.headers.get('content-length'));
              if (res.status === 206 || res.status === 200) {
                if (body.length !== length) broken.push(`${runId}: ${body.length} bytes of ${length}`);
                else complete++;
              }
            } catch (err) {
              broken.push(`${runId}: ${(err as Error).message} (${(err as { cause?: Error }).cause?.message})`);
            }
          }
        };
        const readers = [reader(), reader(), reader()];
        await h.client.waitForState(runId, ['COMPLETE']);
        await sleep(300);
        done = true;
        await Promise.all(readers);
      }),
    );
    expect(complete).toBeGreaterThan(0);
    expect(broken, `responses that broke off (of ${complete + broken.length})`).toEqual([]);
  });
});
