import { closeSync, copyFileSync, createReadStream, createWriteStream, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { ByteRange, ObjectInfo, ObjectNotFoundError, ObjectStore } from './object-store';
import { resolveInside, STORE_KEY_LIMITS, unlessTooLong } from './safe-path';

/** Errors of a lookup that mean "no such object": a name too long for the file system is one. */
const isMissing = (err: unknown) => ['ENOENT', 'ENOTDIR', 'ENAMETOOLONG'].includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * Files up to this size are copied in and out (putFile, copyToFile) with synchronous calls: a
 * run's logs, params and small attachments and outputs cost a few microseconds of the kernel
 * each, not the thread-pool round trips (mkdir, copy, stat, rename) of the asynchronous calls,
 * which cost the worker more CPU than the copy (issue 15). Larger files go the asynchronous way,
 * so that a big copy does not hold up the process.
 */
const SMALL_FILE_BYTES = 256 * 1024;

/** The size of a file, or undefined when it cannot be read (the asynchronous path then reports why). */
function sizeOf(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

/** The single-machine object store: a folder. Writes land under a temporary name, then are renamed. */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private file(key: string): string {
    return resolveInside(this.root, key, STORE_KEY_LIMITS);
  }

  /** The file of a key to look up; undefined when no object can have so long a name. */
  private lookupFile(key: string): string | undefined {
    return unlessTooLong(() => this.file(key));
  }

  /** Writes under a temporary name, then renames; `write` returns the bytes it wrote. */
  private async writeAtomically(key: string, write: (tmp: string) => Promise<number>): Promise<number> {
    const target = this.file(key);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomUUID()}.part`;
    try {
      const size = await write(tmp);
      await rename(tmp, target);
      return size;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  put(key: string, body: Readable | Buffer | string): Promise<number> {
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      // In memory already: one write, and the size is known.
      return this.writeAtomically(key, async (tmp) => {
        await writeFile(tmp, body);
        return Buffer.byteLength(body);
      });
    }
    return this.writeAtomically(key, async (tmp) => {
      const out = createWriteStream(tmp);
      await pipeline(body, out);
      return out.bytesWritten;
    });
  }

  /**
   * Written in place (O_CREAT|O_EXCL: never over an object, nor through a link planted there) and
   * with synchronous calls: the folders, open, write and close of a small body cost the kernel a
   * few microseconds each, while each thread-pool round trip of the asynchronous calls costs
   * more CPU than the call itself (about 90 µs against 220–300 µs per attachment on the bench
   * machine). Bodies past a few hundred KiB go through put().
   */
  async create(key: string, body: Buffer | string): Promise<number> {
    const target = this.file(key);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    mkdirSync(path.dirname(target), { recursive: true });
    const fd = openSync(target, 'wx');
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    } catch (err) {
      rmSync(target, { force: true });
      throw err;
    } finally {
      closeSync(fd);
    }
    return bytes.length;
  }

  async putFile(key: string, file: string): Promise<number> {
    const size = sizeOf(file);
    if (size !== undefined && size <= SMALL_FILE_BYTES) {
      // As writeAtomically, with synchronous calls (SMALL_FILE_BYTES).
      const target = this.file(key);
      mkdirSync(path.dirname(target), { recursive: true });
      const tmp = `${target}.${randomUUID()}.part`;
      try {
        copyFileSync(file, tmp);
        const copied = statSync(tmp).size;
        renameSync(tmp, target);
        return copied;
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    }
    return this.writeAtomically(key, async (tmp) => {
      await copyFile(file, tmp);
      return (await stat(tmp)).size;
    });
  }

  async get(key: string, range?: ByteRange): Promise<{ body: Readable; size: number }> {
    const info = await this.stat(key);
    if (!info) throw new ObjectNotFoundError(`no object ${key}`);
    const body = createReadStream(this.file(key), range ? { start: range.start, end: range.end } : {});
    return { body, size: info.size };
  }

  /** One kernel-side copy (no streams): what staging a run's attachments costs per file. */
  async copyToFile(key: string, file: string): Promise<void> {
    const source = this.lookupFile(key);
    if (!source) throw new ObjectNotFoundError(`no object ${key}`);
    const size = sizeOf(source);
    const small = size !== undefined && size <= SMALL_FILE_BYTES;
    if (small) mkdirSync(path.dirname(file), { recursive: true });
    else await mkdir(path.dirname(file), { recursive: true });
    try {
      if (small) copyFileSync(source, file);
      else await copyFile(source, file);
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') throw new ObjectNotFoundError(`no object ${key}`);
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const file = this.lookupFile(key);
    if (!file) return null;
    try {
      const s = await stat(file);
      return s.isFile() ? { key, size: s.size } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const dir = path.resolve(this.root, prefix);
    if (dir !== this.root && !dir.startsWith(this.root + path.sep)) return [];
    let entries;
    try {
      entries = await readdir(dir, { recursive: true, withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const out: ObjectInfo[] = [];
    for (const e of entries) {
      if (!e.isFile() || e.name.endsWith('.part')) continue;
      const full = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      const key = path.relative(this.root, full).split(path.sep).join('/');
      out.push({ key, size: (await stat(full)).size });
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(key: string): Promise<void> {
    const file = this.lookupFile(key);
    if (file) await rm(file, { force: true });
  }

  async listFolders(prefix: string, after: string | undefined, limit: number): Promise<string[]> {
    const dir = path.resolve(this.root, prefix);
    if (dir !== this.root && !dir.startsWith(this.root + path.sep)) return [];
    let entries;
    try {
      // A folder's names are read whole (no paged readdir): names only, no stat.
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const names = entries.filter((e) => e.isDirectory() && (after === undefined || e.name > after)).map((e) => e.name);
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, limit);
  }

  async deletePrefix(prefix: string): Promise<void> {
    const dir = path.join(this.root, prefix);
    if (dir === this.root || !dir.startsWith(this.root + path.sep)) return;
    await rm(dir, { recursive: true, force: true });
  }
}
