import { isJsonObject } from '../../../../json/src';

/** A CWL File or Directory object (in workflow params or in an engine's output object). */
export type FileObject = Record<string, unknown> & { class: 'File' | 'Directory' };

export function isFileObject(value: unknown): value is FileObject {
  return isJsonObject(value) && (value.class === 'File' || value.class === 'Directory');
}

/** Where a File or Directory is: its `location`, else its `path` (CWL lets either name it). */
export function locationOf(obj: FileObject): string | undefined {
  if (typeof obj.location === 'string') return obj.location;
  return typeof obj.path === 'string' ? obj.path : undefined;
}

const child = (where: string, key: string | number) => (typeof key === 'number' ? `${where}[${key}]` : where ? `${where}.${key}` : key);

/**
 * Calls `visit` for every File and Directory object of a CWL value (params or outputs), parents
 * before what they hold (secondaryFiles, listing). `where` names the place, e.g.
 * `reads[2].secondaryFiles[0]`. Numbers kept exact by libs/json are leaves.
 */
export function forEachFileObject(value: unknown, visit: (obj: FileObject, where: string) => void, where = ''): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => forEachFileObject(v, visit, child(where, i)));
    return;
  }
  if (!isJsonObject(value)) return;
  if (isFileObject(value)) visit(value, where);
  for (const [k, v] of Object.entries(value)) forEachFileObject(v, visit, child(where, k));
}

/**
 * Rebuilds a CWL value with every File and Directory object replaced by what `replace` makes
 * of it. What an object holds (secondaryFiles, listing) is rebuilt first, so `replace` sees
 * its new contents; objects are handled one at a time, in document order. Everything else is
 * copied as it is (kept numbers stay leaves).
 */
export async function mapFileObjects(
  value: unknown,
  replace: (obj: FileObject, where: string) => Promise<unknown> | unknown,
  where = '',
): Promise<unknown> {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) out.push(await mapFileObjects(value[i], replace, child(where, i)));
    return out;
  }
  if (!isJsonObject(value)) return value;
  const out: Record<string, unknown> = {};
  // Every value is walked, whatever its key: a record field may be named `location` or `path`
  // and hold a File, which the engine reads like any other.
  for (const [k, v] of Object.entries(value)) out[k] = await mapFileObjects(v, replace, child(where, k));
  return isFileObject(out) ? replace(out, where) : out;
}
