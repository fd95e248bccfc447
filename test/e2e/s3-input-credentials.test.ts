import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runForm } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { LocalS3, S3RVER_KEY, startS3 } from '../helpers/s3';
import type { StackOptions } from '../helpers/stack';

/**
 * User inputs read with an S3 client of their own (WES_S3_INPUT_*): the object store is on one
 * s3rver, which knows only the store's key; the inputs are on another, which knows only the
 * input reader's key. A run whose workflow_url (fetched by the API) and File and Directory
 * inputs (staged by the worker) are on the input server completes and stores its outputs in the
 * store: each server was sent its own key, as neither accepts the other's.
 */
const STORE_BUCKET = 'wes-store';
const INPUT_BUCKET = 'user-data';
const READER = { accessKeyId: 'wes-input-reader', secretAccessKey: `reader-${randomBytes(12).toString('hex')}` };
let store: LocalS3;
let inputs: LocalS3;
const options: StackOptions = { workerConcurrency: 1 };

/** Prints the File, then every file of the Directory in path order. */
const TOOL = `cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
inputs:
  f:
    type: File
  d:
    type: Directory
arguments:
  - shellQuote: false
    valueFrom: cat $(inputs.f.path) && cd $(inputs.d.path) && find . -type f | sort | xargs cat
outputs:
  out:
    type: stdout
stdout: out.txt
`;

beforeAll(async () => {
  [store, inputs] = await Promise.all([startS3(), startS3(READER)]);
  await store.createBucket(STORE_BUCKET);
  await inputs.createBucket(INPUT_BUCKET);
  await inputs.put(INPUT_BUCKET, 'tools/cat.cwl', TOOL);
  await inputs.put(INPUT_BUCKET, 'in/file.txt', 'from the input server\n');
  await inputs.put(INPUT_BUCKET, 'in/set/a.txt', 'alpha\n');
  await inputs.put(INPUT_BUCKET, 'in/set/sub/b.txt', 'bravo\n');
  options.env = {
    ...store.env(STORE_BUCKET, 'p'),
    WES_S3_INPUT_ALLOW: `s3://${INPUT_BUCKET}`,
    WES_S3_INPUT_ENDPOINT: inputs.endpoint,
    WES_S3_INPUT_ACCESS_KEY_ID: READER.accessKeyId,
    WES_S3_INPUT_SECRET_ACCESS_KEY: READER.secretAccessKey,
  };
});
afterAll(async () => {
  await Promise.all([store?.stop(), inputs?.stop()]);
});

const h = useStack(options);

/** Whether the server at `endpoint` answers a GetObject signed with `key` (false: it refused the key id). */
async function accepts(endpoint: string, key: { accessKeyId: string; secretAccessKey: string }, bucket: string, objectKey: string): Promise<string> {
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: key });
  try {
    await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
    return 'accepted';
  } catch (err) {
    return (err as Error).name;
  } finally {
    client.destroy();
  }
}

describe('separate S3 credentials for user inputs', () => {
  it("has two servers that each refuse the other's key (so only the right key could have read each)", async () => {
    expect(await accepts(inputs.endpoint, { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY }, INPUT_BUCKET, 'in/file.txt')).toBe('InvalidAccessKeyId');
    expect(await accepts(inputs.endpoint, READER, INPUT_BUCKET, 'in/file.txt')).toBe('accepted');
    expect(await accepts(store.endpoint, READER, STORE_BUCKET, 'nothing')).toBe('InvalidAccessKeyId');
  });

  it('runs a workflow whose workflow_url, File and Directory inputs are on the input server, its outputs going to the store', async () => {
    const runId = await h.client.submitOk(
      runForm({
        workflow_type: 'CWL',
        workflow_type_version: 'v1.2',
        workflow_url: `s3://${INPUT_BUCKET}/tools/cat.cwl`,
        workflow_params: {
          f: { class: 'File', location: `s3://${INPUT_BUCKET}/in/file.txt` },
          d: { class: 'Directory', location: `s3://${INPUT_BUCKET}/in/set` },
        },
      }),
    );
    await h.client.waitForState(runId, ['COMPLETE'], 90_000, 200);
    const log = await h.client.runLog(runId);
    const out = await h.client.fetchText(log.outputs.out.location);
    expect(out.status).toBe(200);
    expect(out.text).toBe('from the input server\nalpha\nbravo\n');
    expect(store.storedKeys(STORE_BUCKET).some((k) => k.startsWith(`p/runs/${runId}/outputs/`))).toBe(true);
    expect(inputs.storedKeys(INPUT_BUCKET).some((k) => k.includes(runId))).toBe(false);
  });

  it("refuses, at submit, an input outside WES_S3_INPUT_ALLOW and the store's own bucket", async () => {
    const refused = async (location: string) =>
      h.client.submit(
        runForm({
          workflow_type: 'CWL',
          workflow_type_version: 'v1.2',
          workflow_url: `s3://${INPUT_BUCKET}/tools/cat.cwl`,
          workflow_params: { f: { class: 'File', location }, d: { class: 'Directory', location: `s3://${INPUT_BUCKET}/in/set` } },
        }),
      );
    const outside = await refused('s3://another-bucket/x.txt');
    expect(outside.status).toBe(400);
    expect(outside.body.msg).toContain('outside the s3:// locations inputs may be read from');
    const own = await refused(`s3://${STORE_BUCKET}/p/runs/x/outputs/out.txt`);
    expect(own.status).toBe(400);
  });

  it("writes neither secret in any log line of the API or the worker", () => {
    const logs = [h.stack.api.logFile, ...h.stack.workers.map((w) => w.logFile)].map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(READER.secretAccessKey);
  });
});
