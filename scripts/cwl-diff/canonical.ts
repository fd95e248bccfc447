/**
 * An output object made comparable: what two runs of the same workflow must agree on, with
 * what differs by nature left out. Locations and paths name where each run put its files, so
 * they are dropped; in their place each File carries the sha1 of the bytes found there and each
 * Directory what is on disk under it, and both their place relative to the run's --outdir
 * (`wes run` lays files out as cwltool does: `out.txt`, then `out.txt_2`, ...). Numbers keep
 * their JSON text (lossless parse): 1 and 1.0 are different CWL values (int, double), and
 * 2^53 + 1 must not become 2^53.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isJsonNumber, isJsonObject, parseJson } from '../../libs/json/src';

/** What was found on disk for a File: its bytes' sha1 and size, or why there was nothing to read. */
export type FileProbe = { sha1: string; size: number } | { unreadable: string };

/** One entry found on disk under a Directory, its children sorted by name. */
export interface DiskEntry {
  name: string;
  kind: 'file' | 'directory' | 'other';
  size?: number;
  sha1?: string;
  children?: DiskEntry[];
}

export type Canon =
  | { t: 'null' }
  | { t: 'boolean'; v: boolean }
  | { t: 'string'; v: string }
  | { t: 'number'; text: string }
  | { t: 'array'; items: Canon[] }
  | { t: 'object'; fields: Record<string, Canon> }
  | CanonFile
  | CanonDirectory;

export interface CanonFile {
  t: 'File';
  /** Every key of the File but location, path, dirname and secondaryFiles (basename, size, checksum, format, contents, ...). */
  fields: Record<string, Canon>;
  /** Sorted by basename: a set of files, not a sequence. */
  secondaryFiles?: Canon[];
  content: FileProbe;
  /** Where the file is, relative to the run's --outdir. */
  place: string;
}

export interface CanonDirectory {
  t: 'Directory';
  /** Every key of the Directory but location, path, dirname and listing. */
  fields: Record<string, Canon>;
  /** The listing the output object gives, sorted by basename (a directory has no order). */
  listing?: Canon[];
  /** What is on disk under it, recursively; a string says why it could not be read. */
  disk: DiskEntry[] | string;
  /** Where the folder is, relative to the run's --outdir. */
  place: string;
}

/** Keys that name where a run put a file; they differ between any two runs. */
const PLACE_KEYS = new Set(['location', 'path', 'dirname']);

/** Parses an output object keeping every number's text. */
export function parseOutputObject(text: string): unknown {
  return parseJson(text);
}

function sha1Of(file: string): { sha1: string; size: number } {
  const bytes = readFileSync(file);
  return { sha1: `sha1$${createHash('sha1').update(bytes).digest('hex')}`, size: bytes.length };
}

/** The local file a File or Directory names (path, else a file:// location); undefined when none. */
function localPath(obj: Record<string, unknown>): string | undefined {
  if (typeof obj.path === 'string' && obj.path.startsWith('/')) return obj.path;
  if (typeof obj.location === 'string' && obj.location.startsWith('file://')) {
    try {
      return fileURLToPath(obj.location);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function probeFile(obj: Record<string, unknown>): FileProbe {
  const file = localPath(obj);
  if (file === undefined) return { unreadable: `no local path (location ${JSON.stringify(obj.location ?? null)})` };
  try {
    return sha1Of(file);
  } catch (err) {
    return { unreadable: `${(err as NodeJS.ErrnoException).code ?? 'error'} reading it` };
  }
}

/** Lists a folder recursively (symbolic links followed, as cwltool's outputs may be links). */
export function readDisk(dir: string): DiskEntry[] {
  return readdirSync(dir)
    .sort()
    .map((name): DiskEntry => {
      const full = path.join(dir, name);
      const st = statSync(full);
      if (st.isDirectory()) return { name, kind: 'directory', children: readDisk(full) };
      if (st.isFile()) return { name, kind: 'file', ...sha1Of(full) };
      return { name, kind: 'other' };
    });
}

function probeDirectory(obj: Record<string, unknown>): DiskEntry[] | string {
  const dir = localPath(obj);
  if (dir === undefined) return `no local path (location ${JSON.stringify(obj.location ?? null)})`;
  try {
    return readDisk(dir);
  } catch (err) {
    return `${(err as NodeJS.ErrnoException).code ?? 'error'} reading it`;
  }
}

const byBasename = (items: Canon[]) =>
  [...items].sort((a, b) => {
    const key = (c: Canon) => {
      const f = c.t === 'File' || c.t === 'Directory' ? c.fields.basename : undefined;
      return f?.t === 'string' ? f.v : '';
    };
    return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  });

/** A local path relative to `outdir` ('/'-separated), or why it has none there. */
function placeIn(outdir: string | undefined, obj: Record<string, unknown>): string {
  const p = localPath(obj);
  if (p === undefined) return '(no local path)';
  if (outdir === undefined) return '(not checked)';
  const rel = path.relative(outdir, p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? '(outside --outdir)' : rel.split(path.sep).join('/');
}

/**
 * The canonical form of an output value, reading each File and Directory from the local path
 * its object names (the direct run's --outdir, or where `wes run` downloaded it); `outdir`
 * is that --outdir.
 */
export function canonicalize(value: unknown, outdir?: string): Canon {
  const again = (v: unknown) => canonicalize(v, outdir);
  if (value === null || value === undefined) return { t: 'null' };
  if (typeof value === 'boolean') return { t: 'boolean', v: value };
  if (typeof value === 'string') return { t: 'string', v: value };
  if (typeof value === 'number') return { t: 'number', text: String(value) };
  if (isJsonNumber(value)) return { t: 'number', text: value.toString() };
  if (Array.isArray(value)) return { t: 'array', items: value.map(again) };
  if (!isJsonObject(value)) return { t: 'string', v: String(value) };
  const fields: Record<string, Canon> = {};
  const isFile = value.class === 'File';
  const isDirectory = value.class === 'Directory';
  for (const [k, v] of Object.entries(value)) {
    if ((isFile || isDirectory) && PLACE_KEYS.has(k)) continue;
    if (isFile && k === 'secondaryFiles') continue;
    if (isDirectory && k === 'listing') continue;
    fields[k] = again(v);
  }
  if (isFile) {
    const file: CanonFile = { t: 'File', fields, content: probeFile(value), place: placeIn(outdir, value) };
    if (Array.isArray(value.secondaryFiles)) file.secondaryFiles = byBasename(value.secondaryFiles.map(again));
    return file;
  }
  if (isDirectory) {
    const dir: CanonDirectory = { t: 'Directory', fields, disk: probeDirectory(value), place: placeIn(outdir, value) };
    if (Array.isArray(value.listing)) dir.listing = byBasename(value.listing.map(again));
    return dir;
  }
  return { t: 'object', fields };
}
