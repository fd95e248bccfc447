/**
 * Scenarios 9 (upload) and 10 (download): one big file (1 GiB in full mode, 256 MiB in quick
 * mode) in and out, MB/s (10^6 bytes per second), with the local store and with the S3 store
 * (s3rver, started as the S3 end-to-end test starts it).
 *
 *   9   POST /runs with the file as a `workflow_attachment` (multipart, streamed from disk with
 *       its Content-Length; the per-part and total limits raised for the bench), no worker (the
 *       run stays QUEUED). Baselines: a bare Fastify route streaming the same multipart body's
 *       parts to files (local); the same file put to the same s3rver with the SDK, one
 *       PutObject streamed from disk (S3).
 *   10  GET of the file as a run output through the API's URL (runs/{id}/outputs/big.bin), whole
 *       and with `Range` (the middle half). The object is put where a worker would put it,
 *       through libs/storage, into the run of the upload. Baselines: a bare Fastify route
 *       sending the same file (local); a presigned GET of the same object from s3rver (S3).
 *
 * Each measurement is repeated (rounds alternate which side goes first); the rate is the mean.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { closeSync, copyFileSync, createReadStream, openSync, readFileSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadSettings, SETTING_SOURCES } from '../../libs/config/src';
import { runObjectKeys } from '../../libs/runs/src';
import { createObjectStore } from '../../libs/storage/src';
import { startS3, LocalS3 } from '../../test/helpers/s3';
import { freePort } from '../../scripts/lib/proc';
import type { Bench, WesStack } from '../lib/harness';
import { deleteRun, workflowFile } from '../lib/fixtures';
import { row, Row, say, ScenarioResult } from '../lib/util';

const MB = 1e6;
const BUCKET = 'wes-bench';
const OUTPUT = 'big.bin';

/** A file of `bytes` bytes: one random MiB repeated (random, so no layer can compress it). */
function bigFile(file: string, bytes: number): void {
  const block = randomBytes(1024 * 1024);
  const fd = openSync(file, 'w');
  try {
    for (let left = bytes; left > 0; left -= block.length) writeSync(fd, block, 0, Math.min(left, block.length));
  } finally {
    closeSync(fd);
  }
}

/** The small fields of a submission, the workflow, then the big part last: head and tail around the file's bytes. */
function multipartAround(fileBytes: number) {
  const boundary = `----wesbenchbig${randomBytes(8).toString('hex')}`;
  const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const filePart = (name: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="workflow_attachment"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const head = Buffer.concat([
    Buffer.from(
      field('workflow_type', 'CWL') +
        field('workflow_type_version', 'v1.2') +
        field('workflow_url', 'hello.cwl') +
        field('workflow_params', JSON.stringify({ message: 'hello' })) +
        filePart('hello.cwl'),
    ),
    readFileSync(workflowFile('hello.cwl')),
    Buffer.from(`\r\n${filePart('data/big.bin')}`),
  ]);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { head, tail, contentType: `multipart/form-data; boundary=${boundary}`, length: head.length + fileBytes + tail.length };
}

interface Timed {
  seconds: number;
  bytes: number;
  mbPerS: number;
  status: number;
  body: string;
}

/** POSTs head + the file (streamed from disk) + tail; times it to the answer's end. */
function upload(url: string, file: string, fileBytes: number): Promise<Timed> {
  const mp = multipartAround(fileBytes);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(url, { method: 'POST', headers: { 'content-type': mp.contentType, 'content-length': mp.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const seconds = (performance.now() - t0) / 1000;
        resolve({ seconds, bytes: fileBytes, mbPerS: fileBytes / MB / seconds, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(mp.head);
    const src = createReadStream(file, { highWaterMark: 1024 * 1024 });
    src.on('error', reject);
    src.on('end', () => req.end(mp.tail));
    src.pipe(req, { end: false });
  });
}

/** GETs a URL, reading the body to its end (counted, not kept). */
async function download(url: string, range?: [number, number]): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: range ? { range: `bytes=${range[0]}-${range[1]}` } : {}, signal: AbortSignal.timeout(600_000) });
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, bytes, mbPerS: bytes / MB / seconds, status: res.status, body: '' };
}

type Side = 'ours' | 'baseline';
type Kind = 'upload' | 'whole' | 'range';

export async function bigDataScenario(b: Bench): Promise<{ upload: ScenarioResult; download: ScenarioResult }> {
  const size = (b.full ? 1024 : 256) * 1024 * 1024;
  const rounds = b.full ? 3 : 2;
  const work = b.dir('big-data');
  const file = path.join(work, OUTPUT);
  bigFile(file, size);
  const limits = {
    [SETTING_SOURCES.maxAttachmentBytes.env!]: String(size + 1024 * 1024),
    [SETTING_SOURCES.maxTotalAttachmentBytes.env!]: String(size + 2 * 1024 * 1024),
  };
  const middle: [number, number] = [size / 4, (3 * size) / 4 - 1];
  const measured: Record<string, Record<Side, Record<Kind, Timed[]>>> = {};
  const rowsUp: Row[] = [];
  const rowsDown: Row[] = [];
  const notes: Record<string, string> = {};
  const s3MultipartUpload: Timed[] = [];

  // Local store: the API and the bare route.
  {
    const stack = await b.startWes('big-local', { env: limits });
    const port = await freePort();
    const baseDir = b.dir('big-data', 'bare');
    const bare = b.startTs('big-file-baseline', path.join(__dirname, '..', 'baselines', 'big-file-server.ts'), {
      BENCH_PORT: String(port),
      BENCH_DIR: baseDir,
      BENCH_MAX_PART_BYTES: limits[SETTING_SOURCES.maxAttachmentBytes.env!],
    });
    try {
      await b.waitLog(bare, 'baseline big-file server listening');
      const bareOrigin = `http://127.0.0.1:${port}`;
      copyFileSync(file, path.join(baseDir, OUTPUT));
      measured.local = await measure(b, stack, rounds, file, size, middle, {
        upload: () => upload(`${bareOrigin}/upload`, file, size),
        afterUpload: () => rm(path.join(baseDir, `upload-${bare.pid}-0`), { force: true }),
        download: (range) => download(`${bareOrigin}/files/${OUTPUT}`, range),
      });
    } finally {
      await bare.stop(5000);
      await stack.stop();
    }
  }
  // S3 store: the API against s3rver, and the SDK / presigned URLs against the same s3rver.
  let s3: LocalS3 | undefined;
  try {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
  } catch (err) {
    notes.s3 = `not available: s3rver did not start (${(err as Error).message})`;
    await s3?.stop();
    s3 = undefined;
  }
  if (s3) {
    const s = s3;
    const stack = await b.startWes('big-s3', { env: { ...limits, ...s.env(BUCKET, 'bench') } });
    try {
      const key = 'bare/big.bin';
      measured.s3 = await measure(b, stack, rounds, file, size, middle, {
        upload: async () => {
          const t0 = performance.now();
          await s.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: createReadStream(file), ContentLength: size }));
          const seconds = (performance.now() - t0) / 1000;
          return { seconds, bytes: size, mbPerS: size / MB / seconds, status: 200, body: '' };
        },
        download: async (range) => download(await getSignedUrl(s.client, new GetObjectCommand({ Bucket: BUCKET, Key: key }), { expiresIn: 600 }), range),
      });
      // Where the S3 upload's time goes: the same file sent as the store sends a stream (a
      // multipart upload, 8 MiB parts, 2 at once: libs/storage's S3ObjectStore.put), straight
      // from here to s3rver, without the API. Measured, no goal.
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        await new Upload({ client: s.client, params: { Bucket: BUCKET, Key: 'bare/multipart.bin', Body: createReadStream(file) }, queueSize: 2, partSize: 8 * 1024 * 1024 }).done();
        const seconds = (performance.now() - t0) / 1000;
        s3MultipartUpload.push({ seconds, bytes: size, mbPerS: size / MB / seconds, status: 200, body: '' });
        say(`  big-s3 SDK multipart Upload (as the store sends) round ${r + 1}: ${s3MultipartUpload[r].mbPerS.toFixed(0)} MB/s`);
      }
    } finally {
      await stack.stop();
      await s.stop();
    }
  }
  await rm(work, { recursive: true, force: true });

  const mean = (xs: Timed[]) => xs.reduce((a, x) => a + x.mbPerS, 0) / xs.length;
  const sizeLabel = size >= 1024 ** 3 ? `${size / 1024 ** 3} GiB` : `${size / 1024 ** 2} MiB`;
  for (const store of ['local', 's3'] as const) {
    const m = measured[store];
    const baselineName = store === 'local' ? 'bare Fastify route' : 'SDK PutObject';
    if (!m) {
      rowsUp.push(row({ id: '9', scenario: `upload ${sizeLabel} attachment, ${store} store: not available`, unit: 'MB/s', ours: null, baseline: null, goal: '≥ 0.8×', met: null, note: notes.s3 }));
      rowsDown.push(row({ id: '10', scenario: `download ${sizeLabel} output, ${store} store: not available`, unit: 'MB/s', ours: null, baseline: null, goal: '≥ 0.8×', met: null, note: notes.s3 }));
      continue;
    }
    const up = { ours: mean(m.ours.upload), base: mean(m.baseline.upload) };
    rowsUp.push(
      row({
        id: '9',
        scenario: `upload ${sizeLabel} workflow_attachment, ${store} store (vs ${baselineName})`,
        unit: 'MB/s',
        ours: up.ours,
        baseline: up.base,
        goal: '≥ 0.8×',
        met: up.ours / up.base >= 0.8,
      }),
    );
    if (store === 's3' && s3MultipartUpload.length) {
      rowsUp.push(
        row({
          id: '9',
          scenario: `upload, s3: the SDK's multipart Upload (8 MiB parts, 2 at once, as the store sends) vs one PutObject, no API`,
          unit: 'MB/s',
          ours: mean(s3MultipartUpload),
          baseline: up.base,
          goal: '— (measured)',
          met: null,
        }),
      );
    }
    for (const kind of ['whole', 'range'] as const) {
      const d = { ours: mean(m.ours[kind]), base: mean(m.baseline[kind]) };
      rowsDown.push(
        row({
          id: '10',
          scenario: `download ${sizeLabel} output, ${store} store, ${kind === 'whole' ? 'whole' : 'Range (middle half)'} (vs ${store === 'local' ? 'bare Fastify route' : 'presigned GET'})`,
          unit: 'MB/s',
          ours: d.ours,
          baseline: d.base,
          goal: '≥ 0.8×',
          met: d.ours / d.base >= 0.8,
        }),
      );
    }
  }
  const details = { bytes: size, rounds, range: middle, measured, s3MultipartUpload, notes };
  return { upload: { rows: rowsUp, details }, download: { rows: rowsDown, details: { see: 'details of scenario 9' } } };
}

interface BaselineSide {
  upload(): Promise<Timed>;
  afterUpload?(): Promise<void>;
  download(range?: [number, number]): Promise<Timed>;
}

/** Upload and download rounds, alternating which side goes first; each upload's run is deleted after its round. */
async function measure(
  b: Bench,
  stack: WesStack,
  rounds: number,
  file: string,
  size: number,
  middle: [number, number],
  bare: BaselineSide,
): Promise<Record<Side, Record<Kind, Timed[]>>> {
  const out: Record<Side, Record<Kind, Timed[]>> = { ours: { upload: [], whole: [], range: [] }, baseline: { upload: [], whole: [], range: [] } };
  const settings = loadSettings(stack.procs.env as Record<string, string>);
  const store = createObjectStore(settings);
  for (let r = 0; r < rounds; r++) {
    const order: Side[] = r % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
    let runId = '';
    for (const side of order) {
      if (side === 'ours') {
        const t = await upload(`${stack.base}/runs`, file, size);
        if (t.status !== 200) throw new Error(`${stack.name}: POST /runs with ${size} bytes: ${t.status} ${t.body.slice(0, 300)}`);
        runId = (JSON.parse(t.body) as { run_id: string }).run_id;
        out.ours.upload.push(t);
      } else {
        const t = await bare.upload();
        if (t.status !== 200) throw new Error(`${stack.name} baseline upload: ${t.status} ${t.body.slice(0, 300)}`);
        out.baseline.upload.push(t);
        await bare.afterUpload?.();
      }
    }
    say(`  ${stack.name} upload round ${r + 1}: ours ${out.ours.upload[r].mbPerS.toFixed(0)} MB/s, baseline ${out.baseline.upload[r].mbPerS.toFixed(0)} MB/s`);
    // The output, where a worker would have put it.
    await store.putFile(runObjectKeys.output(runId, OUTPUT), file);
    const url = `${stack.base}/runs/${runId}/outputs/${OUTPUT}`;
    for (const kind of ['whole', 'range'] as const) {
      const range = kind === 'range' ? middle : undefined;
      const want = kind === 'range' ? middle[1] - middle[0] + 1 : size;
      for (const side of order) {
        const t = side === 'ours' ? await download(url, range) : await bare.download(range);
        if (t.bytes !== want || t.status !== (range ? 206 : 200)) throw new Error(`${stack.name} ${side} download ${kind}: status ${t.status}, ${t.bytes} bytes (want ${want})`);
        out[side][kind].push(t);
      }
      say(`  ${stack.name} download ${kind} round ${r + 1}: ours ${out.ours[kind][r].mbPerS.toFixed(0)} MB/s, baseline ${out.baseline[kind][r].mbPerS.toFixed(0)} MB/s`);
    }
    // Free the disk: the run (cancel, then delete) and its objects.
    await fetch(`${stack.base}/runs/${runId}/cancel`, { method: 'POST' }).catch(() => undefined);
    await deleteRun(stack.base, runId).catch(() => store.deletePrefix(runObjectKeys.run(runId)));
  }
  return out;
}
