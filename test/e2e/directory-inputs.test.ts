import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runForm } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { LocalS3, startS3 } from '../helpers/s3';
import type { StackOptions } from '../helpers/stack';

/**
 * Directory inputs at URLs: an s3:// prefix and a folder under WES_FILE_ALLOW_DIRS are staged,
 * sub-folders kept, into the run's scratch folder; the tool sees every file with its content.
 * A folder outside the allowed ones is refused at submit; an empty s3 prefix ends the run
 * EXECUTOR_ERROR with a system log naming the input.
 */
const BUCKET = 'dir-inputs';
const FILES: Record<string, string> = { 'a.txt': 'alpha\n', 'sub/b.txt': 'bravo\n', 'sub/deeper/c.txt': 'charlie\n' };
let s3: LocalS3;
let sandbox: string;
let allowed: string;
const options: StackOptions = { workerConcurrency: 2 };

/** Prints "<relative path>:<line>" for every line of every file of the Directory, sorted by path. */
const LIST_TOOL = `cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
inputs:
  d:
    type: Directory
arguments:
  - shellQuote: false
    valueFrom: cd $(inputs.d.path) && find . -type f | sort | xargs grep -H ''
outputs:
  listing:
    type: stdout
stdout: listing.txt
`;

const EXPECTED = Object.entries(FILES)
  .map(([p, c]) => `./${p}:${c.trim()}`)
  .sort()
  .join('\n');

beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket(BUCKET);
  for (const [p, c] of Object.entries(FILES)) await s3.put(BUCKET, `data/set1/${p}`, c);
  sandbox = mkdtempSync(path.join(os.tmpdir(), 'wes-dirs-'));
  allowed = path.join(sandbox, 'allowed');
  for (const [p, c] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(allowed, 'set2', p)), { recursive: true });
    writeFileSync(path.join(allowed, 'set2', p), c);
  }
  mkdirSync(path.join(sandbox, 'outside'));
  options.env = {
    ...s3.readerEnv(),
    WES_S3_INPUT_ALLOW: `s3://${BUCKET}`,
    WES_FILE_ALLOW_DIRS: allowed,
  };
});
afterAll(async () => {
  await s3?.stop();
  if (sandbox) rmSync(sandbox, { recursive: true, force: true });
});

const h = useStack(options);

function form(location: string) {
  return runForm({
    workflow_type: 'CWL',
    workflow_type_version: 'v1.2',
    workflow_url: 'list.cwl',
    workflow_params: { d: { class: 'Directory', location } },
    attachments: { 'list.cwl': LIST_TOOL },
  });
}

async function listingOf(runId: string): Promise<string> {
  await h.client.waitForState(runId, ['COMPLETE'], 90_000, 100);
  const log = await h.client.runLog(runId);
  const file = await h.client.fetchText(log.outputs.listing.location);
  expect(file.status).toBe(200);
  return file.text.trim();
}

describe('Directory inputs at URLs', () => {
  it('an s3:// prefix is staged with its sub-folders', async () => {
    const runId = await h.client.submitOk(form(`s3://${BUCKET}/data/set1`));
    expect(await listingOf(runId)).toBe(EXPECTED);
  });

  it('a folder under WES_FILE_ALLOW_DIRS is staged (file:// URL and absolute path)', async () => {
    const byUrl = await h.client.submitOk(form(`file://${path.join(allowed, 'set2')}`));
    const byPath = await h.client.submitOk(form(path.join(allowed, 'set2')));
    expect(await listingOf(byUrl)).toBe(EXPECTED);
    expect(await listingOf(byPath)).toBe(EXPECTED);
  });

  it('a folder outside the allowed ones is refused at submit', async () => {
    const r = await h.client.submit(form(`file://${path.join(sandbox, 'outside')}`));
    expect(r.status).toBe(400);
    expect(r.body.msg).toMatch(/input d.*outside the folders/);
  });

  it('an s3:// prefix with nothing under it ends EXECUTOR_ERROR naming the input', async () => {
    const runId = await h.client.submitOk(form(`s3://${BUCKET}/data/none`));
    await h.client.waitForState(runId, ['EXECUTOR_ERROR'], 90_000, 100);
    const log = await h.client.runLog(runId);
    expect(log.run_log.system_logs.join('\n')).toMatch(/input d \(s3:\/\/dir-inputs\/data\/none\).*no such folder/);
  });
});
