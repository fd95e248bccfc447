import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from './cli-errors';
import { DownloadPlan, PlannedFile, planDownloads } from './output-plan';
import type { WesApiClient } from './wes-api-client';

/** Downloads at once: enough to hide latency, few enough to be kind to the server. */
const PARALLEL_DOWNLOADS = 4;

/** Fetches one file to its target, hashing it on the way; fails when size or sha1 disagree. */
async function downloadFile(client: WesApiClient, file: PlannedFile, signal?: AbortSignal): Promise<number> {
  const hash = createHash('sha1');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const body = await client.download(file.url, signal);
  await pipeline(body, meter, createWriteStream(file.target), { signal });
  if (file.size !== undefined && file.size !== String(size)) {
    throw new CliError(`output ${file.target}: downloaded ${size} bytes, the server says ${file.size} (${file.url})`);
  }
  const sha1 = `sha1$${hash.digest('hex')}`;
  if (file.checksum !== undefined && file.checksum.toLowerCase().startsWith('sha1$') && file.checksum.toLowerCase() !== sha1) {
    throw new CliError(`output ${file.target}: checksum ${sha1} differs from the server's ${file.checksum} (${file.url})`);
  }
  return size;
}

/**
 * Downloads every File and Directory of an output object into `outdir` (see planDownloads for
 * the names), verifying each file, and returns the output object with local locations.
 */
export async function downloadOutputs(
  client: WesApiClient,
  outputs: unknown,
  outdir: string,
  signal?: AbortSignal,
): Promise<{ outputs: unknown; files: number; bytes: number; unlisted: string[] }> {
  const plan: DownloadPlan = planDownloads(outputs, outdir);
  for (const folder of plan.folders) await mkdir(folder, { recursive: true });
  let bytes = 0;
  const queue = [...plan.files];
  const worker = async () => {
    try {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const size = await downloadFile(client, file, signal);
        bytes += size;
      }
    } catch (err) {
      queue.length = 0; // the others stop after their current file
      throw err;
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_DOWNLOADS, queue.length) }, worker));
  return { outputs: plan.outputs, files: plan.files.length, bytes, unlisted: plan.unlisted };
}
