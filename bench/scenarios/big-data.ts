/**
 * Scenarios 9 (upload) and 10 (download): one big file (1 GiB in full mode, 256 MiB in quick
 * mode) in and out, MB/s (10^6 bytes per second), with the local store and with the S3 store
 * (s3rver, started as the S3 end-to-end test starts it).
 *
 *   9   POST /runs with the file as a `workflow_attachment` (multipart, streamed from disk with
 *       its Content-Length; the per-part and total limits raised for the bench), no worker (the
 *       run stays QUEUED). Baselines: a bare Fastify route streaming the same multipart body's
 *       parts to files (local); the same file put to the same s3rver with the SDK, one
 *       PutObject streamed from disk (S3), and, a second S3 baseline, the SDK's multipart
 *       `Upload` of the same file with the store's part size and concurrency: a stream of
 *       unknown length (an attachment) can only go to S3 as a multipart upload, and s3rver
 *       spends about twice the CPU on one (it writes each part, then CompleteMultipartUpload
 *       reads the parts back and writes the object again: real S3 does not). s3rver's CPU
 *       seconds per upload are recorded (details.s3rverCpu, and the rows' notes).
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
  /** s3rver's CPU seconds during the measurement (S3 uploads). */
  serverCpu?: number;
  /** CPU seconds of the sender during the measurement (S3 uploads): the API's, or this process's for the SDK's. */
  senderCpu?: number;
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

/** CPU seconds (user + system) a process has used so far; undefined where /proc is not there. */
function processCpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
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
  let s3Upload = { partBytes: 0, concurrency: 0 };

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
    const env = { ...limits, ...s.env(BUCKET, 'bench') };
    const stack = await b.startWes('big-s3', { env });
    // The store's upload settings (the API's, as the stack's environment gives them).
    const settings = loadSettings(env);
    s3Upload = { partBytes: settings.s3UploadPartBytes, concurrency: settings.s3UploadConcurrency };
    const timedPut = async (send: () => Promise<unknown>): Promise<Timed> => {
      const t0 = performance.now();
      await send();
      const seconds = (performance.now() - t0) / 1000;
      return { seconds, bytes: size, mbPerS: size / MB / seconds, status: 200, body: '' };
    };
    try {
      const key = 'bare/big.bin';
      measured.s3 = await measure(b, stack, rounds, file, size, middle, {
        upload: () => timedPut(() => s.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: createReadStream(file), ContentLength: size }))),
        // The same file sent as the store sends a stream (libs/storage's S3ObjectStore.put: a
        // multipart upload with the store's part size and concurrency), straight to s3rver.
        alsoUpload: async () => {
          const t = await timedPut(() =>
            new Upload({
              client: s.client,
              params: { Bucket: BUCKET, Key: 'bare/multipart.bin', Body: createReadStream(file) },
              queueSize: s3Upload.concurrency,
              partSize: s3Upload.partBytes,
            }).done(),
          );
          s3MultipartUpload.push(t);
          return t;
        },
        serverCpu: () => processCpuSeconds(s.pid),
        download: async (range) => download(await getSignedUrl(s.client, new GetObjectCommand({ Bucket: BUCKET, Key: key }), { expiresIn: 600 }), range),
      });
    } finally {
      await stack.stop();
      await s.stop();
    }
  }
  await rm(work, { recursive: true, force: true });

  const mean = (xs: Timed[]) => xs.reduce((a, x) => a + x.mbPerS, 0) / xs.length;
  const meanOf = (xs: Timed[], field: 'serverCpu' | 'senderCpu') =>
    xs.every((x) => x[field] !== undefined) ? (xs.reduce((a, x) => a + x[field]!, 0) / xs.length).toFixed(2) : '?';
  const meanCpu = (xs: Timed[]) => meanOf(xs, 'serverCpu');
  const s3rverCpu = measured.s3
    ? { api: meanCpu(measured.s3.ours.upload), putObject: meanCpu(measured.s3.baseline.upload), multipartUpload: meanCpu(s3MultipartUpload) }
    : undefined;
  const senderCpu = measured.s3
    ? { api: meanOf(measured.s3.ours.upload, 'senderCpu'), putObject: meanOf(measured.s3.baseline.upload, 'senderCpu'), multipartUpload: meanOf(s3MultipartUpload, 'senderCpu') }
    : undefined;
  const cpuNote = s3rverCpu
    ? `s3rver CPU per upload: ${s3rverCpu.api} s (API), ${s3rverCpu.putObject} s (PutObject), ${s3rverCpu.multipartUpload} s (SDK multipart Upload)`
    : undefined;
  const mib = (n: number) => `${n / 1024 / 1024} MiB`;
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
        ...(store === 's3' ? { note: cpuNote } : {}),
      }),
    );
    if (store === 's3' && s3MultipartUpload.length) {
      const multipart = mean(s3MultipartUpload);
      rowsUp.push(
        row({
          id: '9',
          scenario: `upload ${sizeLabel} workflow_attachment, s3 store (vs the SDK's multipart Upload of the file, ${mib(s3Upload.partBytes)} parts, ${s3Upload.concurrency} at once, as the store sends a stream)`,
          unit: 'MB/s',
          ours: up.ours,
          baseline: multipart,
          goal: '≥ 0.8×',
          met: up.ours / multipart >= 0.8,
          note: cpuNote,
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
  const details = { bytes: size, rounds, range: middle, measured, s3MultipartUpload, s3Upload, s3rverCpu, senderCpu, notes };
  return { upload: { rows: rowsUp, details }, download: { rows: rowsDown, details: { see: 'details of scenario 9' } } };
}

interface BaselineSide {
  upload(): Promise<Timed>;
  /** A second upload baseline, measured right after the first in each round. */
  alsoUpload?(): Promise<Timed>;
  /** CPU seconds the object server has used so far (recorded per upload). */
  serverCpu?(): number | undefined;
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
    let also: Timed | undefined;
    const ownCpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    /** Records s3rver's CPU seconds, and the sender's (`sender`: the API's; else this process's), over a measurement. */
    const withServerCpu = async (measure: () => Promise<Timed>, sender: () => number | undefined = ownCpu): Promise<Timed> => {
      const before = bare.serverCpu?.();
      const senderBefore = sender();
      const t = await measure();
      const after = bare.serverCpu?.();
      const senderAfter = sender();
      if (before !== undefined && after !== undefined) {
        t.serverCpu = after - before;
        if (senderBefore !== undefined && senderAfter !== undefined) t.senderCpu = senderAfter - senderBefore;
      }
      return t;
    };
    for (const side of order) {
      if (side === 'ours') {
        const t = await withServerCpu(() => upload(`${stack.base}/runs`, file, size), () => processCpuSeconds(stack.api.pid));
        if (t.status !== 200) throw new Error(`${stack.name}: POST /runs with ${size} bytes: ${t.status} ${t.body.slice(0, 300)}`);
        runId = (JSON.parse(t.body) as { run_id: string }).run_id;
        out.ours.upload.push(t);
      } else {
        const t = await withServerCpu(() => bare.upload());
        if (t.status !== 200) throw new Error(`${stack.name} baseline upload: ${t.status} ${t.body.slice(0, 300)}`);
        out.baseline.upload.push(t);
        await bare.afterUpload?.();
        if (bare.alsoUpload) {
          const alsoUpload = bare.alsoUpload;
          also = await withServerCpu(() => alsoUpload());
        }
      }
    }
    say(
      `  ${stack.name} upload round ${r + 1}: ours ${out.ours.upload[r].mbPerS.toFixed(0)} MB/s, baseline ${out.baseline.upload[r].mbPerS.toFixed(0)} MB/s` +
        (also ? `, second baseline ${also.mbPerS.toFixed(0)} MB/s` : ''),
    );
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
