import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError } from './cli-errors';
import { isJsonObject } from '../../../libs/json/src';
import { numberText } from './lossless-documents';

/** One output file to fetch: from its URL to its local place, with what the server says of it. */
export interface PlannedFile {
  url: string;
  target: string;
  /** Decimal size from the output object, when it gives one. */
  size?: string;
  /** `sha1$<hex>` from the output object, when it gives one. */
  checksum?: string;
}

export interface DownloadPlan {
  /** The output object with every location a local `file://` URL and `path` the local path. */
  outputs: unknown;
  files: PlannedFile[];
  /** Every folder to create (Directory outputs, empty ones included). */
  folders: string[];
  /** Directories the server sent without a listing: only their folder can be made. */
  unlisted: string[];
}

interface Entry {
  kind: 'File' | 'Directory';
  target: string;
  obj: Record<string, unknown>;
}

/** A name the server gave that is safe to use inside the output folder. */
function safeBasename(obj: Record<string, unknown>): string {
  let name = typeof obj.basename === 'string' ? obj.basename : undefined;
  if (name === undefined && typeof obj.location === 'string') {
    const last = obj.location.split(/[?#]/)[0].replace(/\/+$/, '').split('/').pop() ?? '';
    try {
      name = decodeURIComponent(last);
    } catch {
      name = last;
    }
  }
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new CliError(`output ${obj.class} ${JSON.stringify(obj.location ?? obj.basename)}: unusable name ${JSON.stringify(name ?? '')}`);
  }
  return name;
}

/**
 * Lays out where each output goes, as cwltool does when it moves outputs into --outdir: each
 * top-level File or Directory by its basename in `outdir`, a File's secondaryFiles beside it, a
 * Directory's listing inside it, one place per distinct location; two different files that
 * would land on the same path get `_2`, `_3`, ... appended to the later ones' names (cwltool's
 * `stage_files(fix_conflicts=True)`), and Directories of the same name share one folder.
 */
export function planDownloads(outputs: unknown, outdir: string): DownloadPlan {
  const byLocation = new Map<string, Entry>();
  const order: Entry[] = [];

  const visit = (obj: Record<string, unknown>, stagedir: string) => {
    const location = typeof obj.location === 'string' ? obj.location : undefined;
    if (location === undefined) throw new CliError(`output ${obj.class} ${JSON.stringify(obj.basename ?? '')} has no location`);
    if (byLocation.has(location)) return;
    const entry: Entry = { kind: obj.class as Entry['kind'], target: path.join(stagedir, safeBasename(obj)), obj };
    byLocation.set(location, entry);
    order.push(entry);
    const children = entry.kind === 'Directory' ? obj.listing : obj.secondaryFiles;
    const childDir = entry.kind === 'Directory' ? entry.target : stagedir;
    if (Array.isArray(children)) for (const c of children) if (isFileOrDirectory(c)) visit(c, childDir);
  };
  const collect = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(collect);
    else if (isFileOrDirectory(value)) visit(value, outdir);
    else if (isJsonObject(value)) Object.values(value).forEach(collect);
  };
  collect(outputs);

  const taken = new Map<string, Entry>();
  for (const entry of order) {
    if (entry.kind !== 'File') continue;
    if (taken.has(entry.target)) {
      let i = 2;
      while (taken.has(`${entry.target}_${i}`)) i++;
      entry.target = `${entry.target}_${i}`;
    }
    taken.set(entry.target, entry);
  }

  const files: PlannedFile[] = [];
  const folders = new Set<string>();
  const unlisted: string[] = [];
  for (const e of order) {
    if (e.kind === 'Directory') {
      folders.add(e.target);
      if (!Array.isArray(e.obj.listing)) unlisted.push(e.target);
      continue;
    }
    folders.add(path.dirname(e.target));
    const url = e.obj.location as string;
    if (!/^https?:\/\//i.test(url)) throw new CliError(`output File ${e.obj.basename ?? url}: cannot download "${url}" (not an http(s) URL)`);
    const checksum = typeof e.obj.checksum === 'string' ? e.obj.checksum : undefined;
    files.push({ url, target: e.target, size: numberText(e.obj.size), checksum });
  }

  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (!isJsonObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = rewrite(v);
    const entry = isFileOrDirectory(value) && typeof value.location === 'string' ? byLocation.get(value.location) : undefined;
    if (entry) {
      out.location = pathToFileURL(entry.target).href;
      out.path = entry.target;
    }
    return out;
  };
  return { outputs: rewrite(outputs), files, folders: [...folders], unlisted };
}

function isFileOrDirectory(value: unknown): value is Record<string, unknown> {
  return isJsonObject(value) && (value.class === 'File' || value.class === 'Directory');
}
