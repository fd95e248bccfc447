import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUTPUT_LOCATION_PREFIX } from '../../../libs/runs/src';

/** Stores one file of the engine's output folder under a path relative to it. */
export type UploadOutput = (relativePath: string, file: string) => Promise<void>;

/** An output that lies outside the run's output folder (it is never uploaded). */
export class OutputOutsideRunError extends Error {
  override name = 'OutputOutsideRunError';
}

function localPath(obj: Record<string, unknown>): string | undefined {
  const location = typeof obj.location === 'string' ? obj.location : undefined;
  if (location?.startsWith('file://')) return fileURLToPath(location);
  if (typeof obj.path === 'string') return obj.path;
  return location && path.isAbsolute(location) ? location : undefined;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

/**
 * Walks a CWL output object, uploads every File and Directory it names (secondaryFiles and
 * listings included, each file once), and returns the object with each location replaced by
 * an object-store reference (`wes-output:<path>`) and the worker-local `path` removed.
 */
export async function collectOutputs(outputs: unknown, outDir: string, upload: UploadOutput): Promise<unknown> {
  const root = path.resolve(outDir);
  const uploaded = new Set<string>();
  const relative = (file: string): string => {
    const rel = path.relative(root, path.resolve(file));
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new OutputOutsideRunError(`output ${file} is outside the run's output folder`);
    }
    return rel.split(path.sep).join('/');
  };
  const uploadOnce = async (file: string) => {
    const rel = relative(file);
    if (!uploaded.has(rel)) {
      uploaded.add(rel);
      await upload(rel, file);
    }
    return rel;
  };

  const walk = async (value: unknown): Promise<unknown> => {
    if (Array.isArray(value)) return Promise.all(value.map(walk));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (k !== 'path' && k !== 'location') out[k] = await walk(v);
    }
    if (obj.class === 'File' || obj.class === 'Directory') {
      const file = localPath(obj);
      if (file) {
        if (obj.class === 'File') {
          out.location = OUTPUT_LOCATION_PREFIX + (await uploadOnce(file));
        } else {
          for (const f of await filesUnder(file)) await uploadOnce(f);
          out.location = OUTPUT_LOCATION_PREFIX + relative(file);
        }
      } else if (obj.location !== undefined) {
        out.location = obj.location;
      }
    } else {
      if ('location' in obj) out.location = await walk(obj.location);
      if ('path' in obj) out.path = await walk(obj.path);
    }
    return out;
  };
  return walk(outputs);
}
