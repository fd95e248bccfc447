import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { CwlValueTooDeepError, FileObject, FileReferences } from '../../../libs/engines/src';
import { OUTPUT_LOCATION_PREFIX } from '../../../libs/runs/src';
import { safeRelativePath, UnsafePathError } from '../../../libs/storage/src';

/** Stores one file of the engine's output folder under its store path (relative to the run's outputs). */
export type UploadOutput = (storePath: string, file: string) => Promise<void>;

/** The worker's path of a path the engine names (they differ in a sandbox); undefined: outside the run. */
export type ToHostPath = (enginePath: string) => string | undefined;

/**
 * The engine's output object names something we cannot take: a file outside the run's output
 * folder, or a link leading out of it (never followed: a workflow could point one at any file
 * the worker can read), or one that does not exist (cwltool 3.1 reports a second output of the
 * same name as `name_2` without writing it). The workflow's run failed, not the server.
 */
export class UnusableOutputError extends Error {
  override name = 'UnusableOutputError';
}

/** Uploads at once, at most: many small outputs (a scatter's) go faster than one by one. */
const UPLOAD_CONCURRENCY = 8;

/** The path an output object names, as the engine named it. */
function enginePath(obj: FileObject): string | undefined {
  const location = typeof obj.location === 'string' ? obj.location : undefined;
  if (location?.startsWith('file://')) return fileURLToPath(location);
  if (typeof obj.path === 'string') return obj.path;
  return location && path.isAbsolute(location) ? location : undefined;
}

const lastSegment = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const isPlainName = (name: unknown): name is string =>
  typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');

/** Size and sha1 of a file, as cwltool writes them (`sha1$<hex>`). */
async function digest(file: string): Promise<{ size: number; checksum: string }> {
  const hash = createHash('sha1');
  let size = 0;
  await pipeline(createReadStream(file), async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      size += chunk.length;
      hash.update(chunk);
    }
  });
  return { size, checksum: `sha1$${hash.digest('hex')}` };
}

/**
 * Walks an engine's output object (with its language's walker), uploads every File and Directory it names (secondaryFiles
 * and listings included, each file once), and returns the object as the RunLog gives it: each
 * location an object-store reference (`wes-output:<store path>`), the worker-local `path`
 * removed, every File with the `size` and sha1 `checksum` of the very bytes uploaded (computed
 * here: what the RunLog says is what is served), every Directory with its complete `listing`
 * (read from the folder when the engine gave none).
 *
 * Links are never followed out of the output folder: a link to a file inside it is taken as
 * that file; one leading anywhere else fails the run (UnusableOutputError), naming it.
 *
 * Store paths are paths in the output folder, except that an output whose name there is not
 * its basename (cwltool writes a second `out.txt` as `out.txt_2`) is stored under
 * `<name>/<basename>`: every location then ends with `/<basename>`, which is how checkers
 * such as cwltest match outputs.
 */
export async function collectOutputs(walker: FileReferences, outputs: unknown, outDir: string, toHost: ToHostPath, upload: UploadOutput): Promise<unknown> {
  try {
    return await collect(walker, outputs, outDir, toHost, upload);
  } catch (err) {
    // The engine's output object, nested past what the walkers (and the RunLog's writer) take.
    if (err instanceof CwlValueTooDeepError) throw new UnusableOutputError(`output object is ${err.message}`);
    throw err;
  }
}

async function collect(walker: FileReferences, outputs: unknown, outDir: string, toHost: ToHostPath, upload: UploadOutput): Promise<unknown> {
  const root = path.resolve(outDir);
  const realRoot = await realpath(root);
  const relative = (file: string): string => {
    const rel = path.relative(root, path.resolve(file));
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new UnusableOutputError(`output ${file} is outside the run's output folder`);
    }
    return rel.split(path.sep).join('/');
  };
  const hostPathOf = (obj: FileObject, where: string): string | undefined => {
    const named = enginePath(obj);
    if (named === undefined) return undefined;
    const host = toHost(named);
    if (host === undefined) throw new UnusableOutputError(`output ${where} (${named}) is outside the run's output folder`);
    return host;
  };
  /** The real file behind a path of the output folder, refusing links that lead out of it. */
  const insideTarget = async (file: string, rel: string): Promise<{ real: string; kind: 'file' | 'folder' | 'missing' | 'other' }> => {
    let s;
    try {
      s = await lstat(file);
    } catch {
      return { real: file, kind: 'missing' };
    }
    let real = file;
    if (s.isSymbolicLink()) {
      try {
        real = await realpath(file);
      } catch {
        return { real: file, kind: 'missing' };
      }
      if (real !== realRoot && !real.startsWith(`${realRoot}/`)) {
        throw new UnusableOutputError(`output ${rel} is a link leading outside the run's output folder (links are not followed out of it)`);
      }
      s = await lstat(real);
    }
    return { real, kind: s.isFile() ? 'file' : s.isDirectory() ? 'folder' : 'other' };
  };

  const renamed = new Map<string, string>();
  walker.forEach(outputs, (obj, where) => {
    const file = hostPathOf(obj, where);
    if (!file) return;
    const rel = relative(file);
    if (isPlainName(obj.basename) && obj.basename !== lastSegment(rel)) renamed.set(rel, `${rel}/${obj.basename}`);
  });
  const storePath = (rel: string): string => {
    for (let cut = rel.length; cut > 0; cut = rel.lastIndexOf('/', cut - 1)) {
      const prefix = renamed.get(rel.slice(0, cut));
      if (prefix !== undefined) return prefix + rel.slice(cut);
    }
    return rel;
  };

  /** Files to upload by store path, and the digest of each real file (one read per file). */
  const files = new Map<string, string>();
  /** Registers a file for upload, once its store path is one clients can name (path limits). */
  const addFile = (key: string, real: string) => {
    try {
      safeRelativePath(key);
    } catch (err) {
      if (err instanceof UnsafePathError) throw new UnusableOutputError(`output ${err.message}, so it cannot be stored`);
      throw err;
    }
    files.set(key, real);
  };
  const digests = new Map<string, Promise<{ size: number; checksum: string }>>();
  const digestOf = (real: string) => {
    let d = digests.get(real);
    if (!d) digests.set(real, (d = digest(real)));
    return d;
  };

  /** Registers every file under a folder for upload; builds its listing when `describe` is set. */
  const walkFolder = async (dir: string, describe: boolean): Promise<FileObject[]> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const out: FileObject[] = [];
    for (const e of entries) {
      const full = path.join(dir, e.name);
      const rel = relative(full);
      const key = storePath(rel);
      const location = OUTPUT_LOCATION_PREFIX + key;
      const { real, kind } = await insideTarget(full, rel);
      if (kind === 'file') {
        addFile(key, real);
        if (describe) out.push({ class: 'File', location, basename: e.name, ...(await digestOf(real)) });
      } else if (kind === 'folder') {
        const listing = await walkFolder(real === full ? full : real, describe);
        if (describe) out.push({ class: 'Directory', location, basename: e.name, listing });
      }
    }
    return out;
  };

  const stored = await walker.map(outputs, async (obj, where) => {
    const file = hostPathOf(obj, where);
    if (!file) return obj;
    const rel = relative(file);
    const key = storePath(rel);
    const out: Record<string, unknown> = { ...obj, location: OUTPUT_LOCATION_PREFIX + key };
    delete out.path;
    if (!isPlainName(out.basename)) out.basename = lastSegment(key);
    const { real, kind } = await insideTarget(file, rel);
    if (obj.class === 'File') {
      if (kind !== 'file') throw new UnusableOutputError(`output ${where} (${rel}) does not exist`);
      addFile(key, real);
      Object.assign(out, await digestOf(real));
    } else {
      if (kind !== 'folder') throw new UnusableOutputError(`output ${where} (${rel}) does not exist`);
      const listing = await walkFolder(real, !Array.isArray(obj.listing));
      if (!Array.isArray(obj.listing)) out.listing = listing;
    }
    return out;
  });

  const queue = [...files.entries()];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await upload(next[0], next[1]);
  };
  await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, queue.length) }, worker));
  return stored;
}
