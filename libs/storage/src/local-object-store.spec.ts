import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from './local-object-store';
import { ObjectNotFoundError, downloadToFile } from './object-store';
import { PathTooLongError, UnsafePathError } from './safe-path';

/** The folder object store keeps to the same contract as the S3 one, and never leaves its folder. */
let tmp: string;
let root: string;
let store: LocalObjectStore;

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wes-local-store-'));
  root = path.join(tmp, 'store');
  store = new LocalObjectStore(root);
  // A sibling folder whose name starts with the store's name, holding something private.
  mkdirSync(path.join(tmp, 'store-private'));
  writeFileSync(path.join(tmp, 'store-private', 'secret.txt'), 'secret');
  writeFileSync(path.join(tmp, 'outside.txt'), 'outside');
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('LocalObjectStore', () => {
  it('puts streams, buffers and strings; gets them whole or by range; leaves no temporary file', async () => {
    const data = randomBytes(200_000);
    expect(await store.put('runs/r1/outputs/a.bin', Readable.from([data.subarray(0, 1000), data.subarray(1000)]))).toBe(data.length);
    expect(await store.put('runs/r1/outputs/t.txt', 'hello')).toBe(5);
    expect(await store.put('runs/r1/outputs/e', '')).toBe(0);
    expect((await readAll((await store.get('runs/r1/outputs/a.bin')).body)).equals(data)).toBe(true);
    const r = await store.get('runs/r1/outputs/a.bin', { start: 10, end: 19 });
    expect(r.size).toBe(data.length);
    expect((await readAll(r.body)).equals(data.subarray(10, 20))).toBe(true);
    expect(readdirSync(path.join(root, 'runs/r1/outputs')).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it('putFile and downloadToFile copy files', async () => {
    const src = path.join(tmp, 'src.bin');
    writeFileSync(src, 'file body');
    expect(await store.putFile('runs/r1/attachments/sub/f.txt', src)).toBe(9);
    const dst = path.join(tmp, 'out', 'deep', 'f.txt');
    await downloadToFile(store, 'runs/r1/attachments/sub/f.txt', dst);
    expect(readFileSync(dst, 'utf8')).toBe('file body');
    // downloadToFile takes the store's one-call copy; an aborted signal stops it first.
    const big = randomBytes(300_000);
    await store.put('runs/r1/attachments/big.bin', big);
    await store.copyToFile('runs/r1/attachments/big.bin', path.join(tmp, 'out', 'big.bin'));
    expect(readFileSync(path.join(tmp, 'out', 'big.bin')).equals(big)).toBe(true);
    // Both ways of putFile (synchronous calls up to 256 KiB, asynchronous above) give the same object, and no temporary file.
    for (const bytes of [randomBytes(262_144), randomBytes(262_145)]) {
      writeFileSync(src, bytes);
      expect(await store.putFile('runs/r1/logs/stderr', src)).toBe(bytes.length);
      expect(readFileSync(path.join(root, 'runs/r1/logs/stderr')).equals(bytes)).toBe(true);
      expect(readdirSync(path.join(root, 'runs/r1/logs'))).toEqual(['stderr']);
    }
    const aborted = new AbortController();
    aborted.abort();
    await expect(downloadToFile(store, 'runs/r1/attachments/big.bin', path.join(tmp, 'out', 'never.bin'), aborted.signal)).rejects.toThrow();
    expect(existsSync(path.join(tmp, 'out', 'never.bin'))).toBe(false);
  });

  it('a failed put leaves neither the object nor a temporary file', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('source failed'));
      },
    });
    await expect(store.put('runs/r1/outputs/failed.bin', failing)).rejects.toThrow('source failed');
    expect(await store.stat('runs/r1/outputs/failed.bin')).toBeNull();
    expect(readdirSync(path.join(root, 'runs/r1/outputs')).filter((n) => n.startsWith('failed.bin'))).toEqual([]);
  });

  it('create writes a new object in place (folders made, no temporary file) and never over an object or through a link', async () => {
    expect(await store.create('runs/c1/attachments/sub/hello.cwl', Buffer.from('cwlVersion: v1.2'))).toBe(16);
    expect(await store.create('runs/c1/attachments/empty', '')).toBe(0);
    expect(readFileSync(path.join(root, 'runs/c1/attachments/sub/hello.cwl'), 'utf8')).toBe('cwlVersion: v1.2');
    expect(readdirSync(path.join(root, 'runs/c1/attachments/sub'))).toEqual(['hello.cwl']);
    await expect(store.create('runs/c1/attachments/sub/hello.cwl', 'other')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(path.join(root, 'runs/c1/attachments/sub/hello.cwl'), 'utf8')).toBe('cwlVersion: v1.2');
    // A link planted under the name is not followed: the file outside stays as it was.
    symlinkSync(path.join(tmp, 'outside.txt'), path.join(root, 'runs/c1/attachments/link'));
    await expect(store.create('runs/c1/attachments/link', 'overwritten')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(path.join(tmp, 'outside.txt'), 'utf8')).toBe('outside');
    await expect(store.create('../outside.txt', 'x')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(store.create(`runs/c1/attachments/${'a'.repeat(230)}`, 'x')).rejects.toBeInstanceOf(PathTooLongError);
  });

  it('missing objects: stat null, get ObjectNotFoundError', async () => {
    expect(await store.stat('runs/none/x')).toBeNull();
    await expect(store.get('runs/none/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.copyToFile('runs/none/x', path.join(tmp, 'out', 'x'))).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(downloadToFile(store, 'runs/r1/outputs', path.join(tmp, 'out', 'y'))).rejects.toBeInstanceOf(ObjectNotFoundError);
    // A folder is not an object.
    expect(await store.stat('runs/r1/outputs')).toBeNull();
  });

  it.each([
    ['a 5,000-character key', `runs/r1/outputs/${'a'.repeat(5000)}`],
    ['a key with a 230-character name', `runs/r1/outputs/${'a'.repeat(230)}`],
  ])('a lookup of %s is "no such object", never ENAMETOOLONG; a put of it is PathTooLongError', async (_what, key) => {
    expect(await store.stat(key)).toBeNull();
    await expect(store.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.copyToFile(key, path.join(tmp, 'out', 'long'))).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.delete(key)).resolves.toBeUndefined();
    expect(await store.list(`${key}/`)).toEqual([]);
    await expect(store.put(key, 'x')).rejects.toBeInstanceOf(PathTooLongError);
  });

  it('lists under a prefix, deletes one object or a folder', async () => {
    await store.put('runs/r2/a', '1');
    await store.put('runs/r2/sub/b', '22');
    await store.put('runs/r20/c', 'sibling');
    expect(await store.list('runs/r2/')).toEqual([
      { key: 'runs/r2/a', size: 1 },
      { key: 'runs/r2/sub/b', size: 2 },
    ]);
    await store.delete('runs/r2/a');
    await store.delete('runs/r2/a');
    await store.deletePrefix('runs/r2/');
    expect(await store.list('runs/r2/')).toEqual([]);
    expect(await store.stat('runs/r20/c')).not.toBeNull();
  });

  it.each(['../outside.txt', '../store-private/secret.txt', 'a/../../outside.txt', '/etc/passwd', 'a\\b', 'a\0b', ''])(
    'refuses the key %j for every operation',
    async (key) => {
      await expect(store.put(key, 'x')).rejects.toBeInstanceOf(UnsafePathError);
      await expect(store.get(key)).rejects.toBeInstanceOf(UnsafePathError);
      await expect(store.stat(key)).rejects.toBeInstanceOf(UnsafePathError);
      await expect(store.delete(key)).rejects.toBeInstanceOf(UnsafePathError);
      expect(readFileSync(path.join(tmp, 'outside.txt'), 'utf8')).toBe('outside');
    },
  );

  it('listFolders gives the folders under a prefix in order, after a name, a bounded number at a time', async () => {
    const ids = ['0190a000-0000-7000-8000-000000000001', '0190a000-0000-7000-8000-000000000002', '0190a000-0000-7000-8000-000000000010'];
    for (const id of ids) {
      await store.put(`folders/${id}/attachments/a`, '1');
      await store.put(`folders/${id}/logs/stdout`, '2');
    }
    await store.put('folders/loose-file', 'not a folder');
    expect(await store.listFolders('folders/', undefined, 10)).toEqual(ids);
    expect(await store.listFolders('folders/', undefined, 2)).toEqual(ids.slice(0, 2));
    expect(await store.listFolders('folders/', ids[0], 10)).toEqual(ids.slice(1));
    expect(await store.listFolders('folders/', ids[1], 1)).toEqual([ids[2]]);
    expect(await store.listFolders('folders/', ids[2], 10)).toEqual([]);
    expect(await store.listFolders('nothing-here/', undefined, 10)).toEqual([]);
  });

  it('list and deletePrefix never reach outside the store folder (not even a sibling sharing its name as a prefix)', async () => {
    expect(await store.list('../')).toEqual([]);
    expect(await store.list('../store-private/')).toEqual([]);
    await store.deletePrefix('../store-private/');
    await store.deletePrefix('../');
    expect(existsSync(path.join(tmp, 'store-private', 'secret.txt'))).toBe(true);
    expect(existsSync(path.join(tmp, 'outside.txt'))).toBe(true);
  });
});
