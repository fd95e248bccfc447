import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const S3RVER_KEY = 'S3RVER';

export interface LocalS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** s3rver's process (the bench reads its CPU time). */
  pid: number;
  /** The folder s3rver keeps its buckets in (each object is `<bucket>/<key>._S3rver_object`). */
  directory: string;
  /** A client for this server (path style, checksums only when required). */
  client: S3Client;
  createBucket(name: string): Promise<void>;
  put(bucket: string, key: string, body: string | Uint8Array): Promise<void>;
  /** The settings that point the WES server's s3:// reader at this server. */
  readerEnv(): Record<string, string>;
  /** The same, plus the object store in a bucket of this server. */
  env(bucket: string, prefix?: string): Record<string, string>;
  /** Keys stored in a bucket, read from s3rver's folder (not through S3). */
  storedKeys(bucket: string): string[];
  stop(): Promise<void>;
}

/**
 * Starts s3rver on a free 127.0.0.1 port with a private folder, in a process of its own
 * (see s3rver-main.js: it needs OpenSSL's legacy provider to page listings). With `key`, the
 * server knows that access key only (s3rver checks the key id, not the v4 signature).
 */
export async function startS3(key: { accessKeyId: string; secretAccessKey: string } = { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY }): Promise<LocalS3> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'wes-s3rver-'));
  const keyArgs = key.accessKeyId === S3RVER_KEY ? [] : [key.accessKeyId, key.secretAccessKey];
  const child = spawn(process.execPath, ['--openssl-legacy-provider', path.join(__dirname, 's3rver-main.js'), directory, ...keyArgs], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    // Loading s3rver takes a few seconds of CPU; generous for a CI machine busy with other test files.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('s3rver did not start within 60 s'));
    }, 60_000);
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before it listened`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line).port);
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: key,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const walk = (dir: string, rel = ''): string[] => {
    const out: string[] = [];
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return out;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) out.push(...walk(path.join(dir, e.name), r));
      else if (e.name.endsWith('._S3rver_object')) out.push(r.slice(0, -'._S3rver_object'.length));
    }
    return out;
  };
  const readerEnv = () => ({
    WES_S3_REGION: 'us-east-1',
    WES_S3_ENDPOINT: endpoint,
    WES_S3_FORCE_PATH_STYLE: 'true',
    WES_S3_ACCESS_KEY_ID: key.accessKeyId,
    WES_S3_SECRET_ACCESS_KEY: key.secretAccessKey,
  });
  return {
    endpoint,
    pid: child.pid!,
    directory,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    readerEnv,
    env(bucket, prefix = '') {
      return { WES_OBJECT_STORE: 's3', WES_S3_BUCKET: bucket, WES_S3_PREFIX: prefix, ...readerEnv() };
    },
    storedKeys: (bucket) => walk(path.join(directory, bucket)).sort(),
    async stop() {
      client.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
