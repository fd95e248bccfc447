import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalS3, startS3 } from '../../../test/helpers/s3';
import { ObjectNotFoundError, downloadToFile } from './object-store';
import { PathTooLongError, UnsafePathError } from './safe-path';
import { S3ObjectStore } from './s3-object-store';

/**
 * The S3 object store against a real S3 server (s3rver): streamed multipart uploads (part size and
 * concurrency as set), ranged reads, listing with pagination, deletes, and keys that may not
 * leave the store's prefix.
 */
const BUCKET = 'wes-spec';
const PREFIX = 'deploy/a';
let s3: LocalS3;
let store: S3ObjectStore;
let tmp: string;

function storeFor(prefix: string, upload: { uploadPartBytes?: number; uploadConcurrency?: number } = {}): S3ObjectStore {
  return new S3ObjectStore({
    bucket: BUCKET,
    prefix,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    ...upload,
  });
}

/** Records the commands a store's client sends, and the most UploadPart requests under way at once. */
function watchCommands(store: S3ObjectStore): { names: string[]; maxPartsAtOnce: () => number } {
  const names: string[] = [];
  let inFlight = 0;
  let most = 0;
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      names.push(context.commandName ?? '?');
      const part = context.commandName === 'UploadPartCommand';
      if (part) most = Math.max(most, ++inFlight);
      try {
        return await next(args);
      } finally {
        if (part) inFlight--;
      }
    },
    { step: 'initialize' },
  );
  return { names, maxPartsAtOnce: () => most };
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** The object's bytes read straight from the bucket with a plain client (not through the store). */
async function rawObject(key: string): Promise<Buffer> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/** A stream of `size` pseudo-random bytes made chunk by chunk (never held whole), and its sha256. */
function generated(size: number, seed: string): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  let counter = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(256 * 1024, size - sent);
      // Deterministic, non-repeating content: a hash chain expanded to n bytes.
      const block = Buffer.alloc(n);
      for (let o = 0; o < n; o += 32) {
        createHash('sha256').update(`${seed}:${counter++}`).digest().copy(block, o);
      }
      hash.update(block);
      sent += n;
      this.push(block);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket(BUCKET);
  store = storeFor(PREFIX);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wes-s3-spec-'));
});

afterAll(async () => {
  await s3?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('S3ObjectStore (against s3rver)', () => {
  it('puts a stream in parts of the set size, that many at once; one that ends within the first part is one PutObject', async () => {
    const MiB = 1024 * 1024;
    const partStore = storeFor(PREFIX, { uploadPartBytes: 5 * MiB, uploadConcurrency: 3 });
    const sent = watchCommands(partStore);
    // A source faster than any upload (1 MiB blocks in memory): the parts queue up, so the store's concurrency is what limits them.
    const block = randomBytes(MiB);
    const blocks = (n: number) => Readable.from(Array.from({ length: n }, () => block));
    expect(await partStore.put('k/parts', blocks(23))).toBe(23 * MiB);
    expect(sent.names.filter((n) => n === 'UploadPartCommand')).toHaveLength(5);
    expect(sent.names).toContain('CompleteMultipartUploadCommand');
    expect(sent.maxPartsAtOnce()).toBe(3);
    const stored = await rawObject(`${PREFIX}/k/parts`);
    expect(stored.length).toBe(23 * MiB);
    for (let i = 0; i < 23; i++) expect(stored.subarray(i * MiB, (i + 1) * MiB).equals(block)).toBe(true);

    sent.names.length = 0;
    expect(await partStore.put('k/one-part', blocks(4))).toBe(4 * MiB);
    expect(sent.names).toEqual(['PutObjectCommand']);
    expect((await rawObject(`${PREFIX}/k/one-part`)).equals(Buffer.concat([block, block, block, block]))).toBe(true);
  }, 60_000);

  it('puts a 20 MiB stream (parts of the default size) and gets back the same bytes', async () => {
    const size = 20 * 1024 * 1024 + 12345;
    const { stream, sha256 } = generated(size, 'big');
    const written = await store.put('runs/r1/outputs/big.bin', stream);
    const sent = sha256();
    expect(written).toBe(size);
    expect((await store.stat('runs/r1/outputs/big.bin'))?.size).toBe(size);
    const { body, size: total } = await store.get('runs/r1/outputs/big.bin');
    expect(total).toBe(size);
    const got = createHash('sha256');
    let n = 0;
    for await (const c of body) {
      got.update(c as Buffer);
      n += (c as Buffer).length;
    }
    expect(n).toBe(size);
    expect(got.digest('hex')).toBe(sent);
  }, 60_000);

  it('puts a Buffer, a string and an empty body; the stored bytes are exactly those sent (no aws-chunked framing)', async () => {
    const bin = randomBytes(70_000);
    expect(await store.put('k/bin', bin)).toBe(bin.length);
    expect(await store.put('k/text', 'héllo\nworld\n')).toBe(Buffer.byteLength('héllo\nworld\n'));
    expect(await store.put('k/empty', '')).toBe(0);
    // Read with a plain client, under the prefix: what S3 holds, not what the store makes of it.
    expect((await rawObject(`${PREFIX}/k/bin`)).equals(bin)).toBe(true);
    expect((await rawObject(`${PREFIX}/k/text`)).toString('utf8')).toBe('héllo\nworld\n');
    expect((await rawObject(`${PREFIX}/k/empty`)).length).toBe(0);
    // And on s3rver's disk (a server that kept chunk signatures would show them here).
    const onDisk = readFileSync(path.join(s3.directory, BUCKET, PREFIX, 'k', 'bin._S3rver_object'));
    expect(onDisk.equals(bin)).toBe(true);
    expect(await store.stat('k/empty')).toEqual({ key: 'k/empty', size: 0 });
    // create (a submission's attachments) is one PutObject too.
    expect(await store.create('k/created', Buffer.from('attached'))).toBe(8);
    expect((await rawObject(`${PREFIX}/k/created`)).toString('utf8')).toBe('attached');
  });

  it('puts a stream that starts only later (no chunk lost to an early reader)', async () => {
    const parts = ['first line\n', 'second line\n', 'third line\n'];
    let i = 0;
    const slow = new Readable({
      read() {
        setTimeout(() => this.push(i < parts.length ? parts[i++] : null), 20);
      },
    });
    expect(await store.put('k/slow', slow)).toBe(parts.join('').length);
    expect((await rawObject(`${PREFIX}/k/slow`)).toString()).toBe(parts.join(''));
  });

  it('putFile stores a file, downloadToFile copies it back', async () => {
    const src = path.join(tmp, 'src.bin');
    const data = randomBytes(300_000);
    writeFileSync(src, data);
    expect(await store.putFile('runs/r1/attachments/tools/a.bin', src)).toBe(data.length);
    const dst = path.join(tmp, 'deep', 'er', 'dst.bin');
    await downloadToFile(store, 'runs/r1/attachments/tools/a.bin', dst);
    expect(readFileSync(dst).equals(data)).toBe(true);
  });

  it('gets a byte range (and reports the whole size)', async () => {
    await store.put('k/range', '0123456789abcdef');
    const r = await store.get('k/range', { start: 3, end: 7 });
    expect((await readAll(r.body)).toString()).toBe('34567');
    expect(r.size).toBe(16);
    const last = await store.get('k/range', { start: 15, end: 15 });
    expect((await readAll(last.body)).toString()).toBe('f');
    const whole = await store.get('k/range', { start: 0, end: 15 });
    expect((await readAll(whole.body)).toString()).toBe('0123456789abcdef');
  });

  it('stat of a missing key is null; get and downloadToFile of one throw ObjectNotFoundError', async () => {
    expect(await store.stat('no/such/key')).toBeNull();
    await expect(store.get('no/such/key')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.get('no/such/key', { start: 0, end: 3 })).rejects.toBeInstanceOf(ObjectNotFoundError);
    const dst = path.join(tmp, 'missing.out');
    await expect(downloadToFile(store, 'no/such/key', dst)).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(existsSync(dst)).toBe(false);
  });

  it.each([
    ['a 5,000-character key', `runs/r1/outputs/${'a'.repeat(5000)}`],
    ['a key with a 230-character name', `runs/r1/outputs/${'a'.repeat(230)}`],
    // Within the store's key limit (1,024 bytes), past S3's with the store's prefix: S3 would answer 400.
    ['a key of 1,020 bytes', `runs/r1/outputs/${Array.from({ length: 6 }, () => 'a'.repeat(160)).join('/')}/${'b'.repeat(38)}`],
  ])('a lookup of %s is "no such object" (S3 is not asked); a put of it is PathTooLongError', async (_what, key) => {
    const before = s3.storedKeys(BUCKET);
    expect(await store.stat(key)).toBeNull();
    await expect(store.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(downloadToFile(store, key, path.join(tmp, 'long.out'))).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.delete(key)).resolves.toBeUndefined();
    await expect(store.put(key, 'x')).rejects.toBeInstanceOf(PathTooLongError);
    expect(s3.storedKeys(BUCKET)).toEqual(before);
  });

  it('lists the objects under a prefix with their sizes, keys relative to the store prefix', async () => {
    await store.put('runs/r2/outputs/a.txt', 'a');
    await store.put('runs/r2/outputs/sub/b.txt', 'bb');
    await store.put('runs/r2/logs/stderr', 'ccc');
    await store.put('runs/r20/outputs/x.txt', 'not r2');
    expect(await store.list('runs/r2/outputs/')).toEqual([
      { key: 'runs/r2/outputs/a.txt', size: 1 },
      { key: 'runs/r2/outputs/sub/b.txt', size: 2 },
    ]);
    expect((await store.list('runs/r2/')).map((o) => o.key)).toEqual(['runs/r2/logs/stderr', 'runs/r2/outputs/a.txt', 'runs/r2/outputs/sub/b.txt']);
    expect(await store.list('runs/none/')).toEqual([]);
  });

  it('lists more than one page (1000 keys) of objects', async () => {
    const n = 1100;
    // Written with a plain client, 50 at a time: the listing is what is under test.
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, (_, j) =>
          s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/many/${String(i + j).padStart(5, '0')}`, Body: 'x' })),
        ),
      );
    }
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/many/` }));
    expect(page.IsTruncated).toBe(true); // the server does page: the store must follow the token
    const listed = await store.list('many/');
    expect(listed).toHaveLength(n);
    expect(new Set(listed.map((o) => o.key)).size).toBe(n);
    expect(listed[0].key).toBe('many/00000');
    expect(listed[n - 1].key).toBe(`many/${String(n - 1).padStart(5, '0')}`);
    // deletePrefix goes past one page too (DeleteObjects takes 1000 keys at a time).
    await store.deletePrefix('many/');
    expect(await store.list('many/')).toEqual([]);
  }, 60_000);

  it('delete removes one object and does not fail on a missing one', async () => {
    await store.put('k/del', 'x');
    await store.delete('k/del');
    expect(await store.stat('k/del')).toBeNull();
    await expect(store.delete('k/del')).resolves.toBeUndefined();
  });

  it('deletePrefix removes a folder of objects and nothing beside it', async () => {
    await store.put('runs/r3/attachments/a', '1');
    await store.put('runs/r3/attachments/sub/b', '2');
    await store.put('runs/r3/logs/stdout', '3');
    await store.put('runs/r30/attachments/a', 'sibling with the same leading characters');
    await store.deletePrefix('runs/r3/');
    expect(await store.list('runs/r3/')).toEqual([]);
    expect(await store.stat('runs/r30/attachments/a')).not.toBeNull();
  });

  it('listFolders gives the folders under a prefix in order, after a name, a bounded number at a time', async () => {
    const ids = ['0190a000-0000-7000-8000-000000000001', '0190a000-0000-7000-8000-000000000002', '0190a000-0000-7000-8000-000000000010'];
    for (const id of ids) {
      await store.put(`folders/${id}/attachments/a`, '1');
      await store.put(`folders/${id}/logs/stdout`, '2');
      // s3rver does not walk below a folder it lists with a delimiter (S3 and MinIO do), so
      // each folder here also holds an object of its own.
      await store.put(`folders/${id}/x`, '3');
    }
    await store.put('folders/loose-file', 'not a folder');
    expect(await store.listFolders('folders/', undefined, 10)).toEqual(ids);
    expect(await store.listFolders('folders/', undefined, 2)).toEqual(ids.slice(0, 2));
    expect(await store.listFolders('folders/', ids[0], 10)).toEqual(ids.slice(1));
    expect(await store.listFolders('folders/', ids[1], 1)).toEqual([ids[2]]);
    expect(await store.listFolders('folders/', ids[2], 10)).toEqual([]);
    expect(await store.listFolders('nothing-here/', undefined, 10)).toEqual([]);
  });

  it('deletePrefix refuses a prefix that is not a folder (or the whole store)', async () => {
    await store.put('runs/r4/x', '1');
    await store.deletePrefix('runs/r4'); // no trailing slash: would also match runs/r40...
    await store.deletePrefix('/');
    await store.deletePrefix('');
    expect(await store.stat('runs/r4/x')).not.toBeNull();
  });

  it.each(['../x', '../../etc/passwd', 'a/../../x', '/etc/passwd', 'a\\b', 'a\0b', '', 'runs/'])(
    'refuses the key %j (put, putFile, get, stat, downloadToFile, delete) and writes nothing',
    async (key) => {
      const before = s3.storedKeys(BUCKET);
      await expect(store.put(key, 'evil')).rejects.toBeInstanceOf(UnsafePathError);
      const src = path.join(tmp, 'evil.txt');
      writeFileSync(src, 'evil');
      await expect(store.putFile(key, src)).rejects.toBeInstanceOf(UnsafePathError);
      await expect(store.get(key)).rejects.toBeInstanceOf(UnsafePathError);
      await expect(store.stat(key)).rejects.toBeInstanceOf(UnsafePathError);
      await expect(downloadToFile(store, key, path.join(tmp, 'evil.out'))).rejects.toBeInstanceOf(UnsafePathError);
      await expect(store.delete(key)).rejects.toBeInstanceOf(UnsafePathError);
      expect(s3.storedKeys(BUCKET)).toEqual(before);
    },
  );

  it('does not see or delete objects outside its prefix', async () => {
    const other = storeFor('deploy/b');
    await other.put('runs/r5/x', 'b');
    await store.put('runs/r5/x', 'a');
    expect(await store.list('runs/r5/')).toEqual([{ key: 'runs/r5/x', size: 1 }]);
    await store.deletePrefix('runs/r5/');
    expect((await readAll((await other.get('runs/r5/x')).body)).toString()).toBe('b');
    // A prefix given with slashes around it is the same folder.
    const slashed = storeFor('/deploy/b/');
    expect((await readAll((await slashed.get('runs/r5/x')).body)).toString()).toBe('b');
  });

  it('presigns a GET URL that serves the bytes without credentials', async () => {
    const data = randomBytes(5000);
    await store.put('runs/r6/outputs/p.bin', data);
    const url = await store.presignedUrl('runs/r6/outputs/p.bin', 60, 'p.bin');
    expect(url.startsWith(`${s3.endpoint}/${BUCKET}/${PREFIX}/runs/r6/outputs/p.bin?`)).toBe(true);
    expect(url).toMatch(/X-Amz-Signature=/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    await expect(Promise.resolve().then(() => store.presignedUrl('../x', 60))).rejects.toBeInstanceOf(UnsafePathError);
  });
});
