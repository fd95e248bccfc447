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

/**
 * How deep a CWL value (params, an output object) may nest, arrays and objects, the value
 * itself counting one. The walkers below keep their own stack, so no depth overflows ours;
 * the limit is for what reads the value after them (the recursive JSON writer, the engine:
 * Python stops at 1,000 frames). A real workflow's values nest a few levels.
 */
export const MAX_CWL_VALUE_DEPTH = 256;

/** A CWL value nested deeper than MAX_CWL_VALUE_DEPTH. */
export class CwlValueTooDeepError extends Error {
  override name = 'CwlValueTooDeepError';
  constructor(
    readonly maxDepth: number,
    /** The place that goes one level too deep, e.g. `a.b[0].c...`. */
    readonly where: string,
  ) {
    super(`nested deeper than ${maxDepth} levels (arrays and objects)${where ? ` at ${where.length > 60 ? `${where.slice(0, 60)}…` : where}` : ''}`);
  }
}

const child = (where: string, key: string | number) => (typeof key === 'number' ? `${where}[${key}]` : where ? `${where}.${key}` : key);

type Container = unknown[] | Record<string, unknown>;

const isContainer = (value: unknown): value is Container => Array.isArray(value) || isJsonObject(value);

/** What a container holds, in document order (a kept number is a leaf, never a container). */
const entriesOf = (value: Container): [string | number, unknown][] => (Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value));

/** Sets a key of a copy as an own property (`__proto__` included: lossless JSON keeps it an ordinary key). */
function setEntry(out: Container, key: string | number, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else (out as Record<string | number, unknown>)[key] = value;
}

/**
 * Calls `visit` for every File and Directory object of a CWL value (params or outputs), parents
 * before what they hold (secondaryFiles, listing), in document order. Every value is walked,
 * whatever its key. `where` names the place, e.g. `reads[2].secondaryFiles[0]`. Numbers kept
 * exact by libs/json are leaves. Throws CwlValueTooDeepError past MAX_CWL_VALUE_DEPTH.
 */
export function forEachFileObject(value: unknown, visit: (obj: FileObject, where: string) => void, where = ''): void {
  if (!isContainer(value)) return;
  const stack: { value: Container; where: string; depth: number }[] = [{ value, where, depth: 1 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (isFileObject(item.value)) visit(item.value, item.where);
    const entries = entriesOf(item.value);
    // Pushed last to first, so the first is taken next: document order, depth first.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, v] = entries[i];
      if (!isContainer(v)) continue;
      if (item.depth >= MAX_CWL_VALUE_DEPTH) throw new CwlValueTooDeepError(MAX_CWL_VALUE_DEPTH, child(item.where, key));
      stack.push({ value: v, where: child(item.where, key), depth: item.depth + 1 });
    }
  }
}

/** A File or Directory to replace: the walk resumes with what its replacement is. */
interface Replacing {
  obj: FileObject;
  where: string;
}

/**
 * Rebuilds a value, yielding each File and Directory object once what it holds is rebuilt,
 * and putting what it is sent back in its place. Its own stack of open containers (one per
 * level), so the async and the sync walk share it and neither recurses.
 */
function* rebuild(value: unknown, where: string): Generator<Replacing, unknown, unknown> {
  if (!isContainer(value)) return value;
  const open = (v: Container, at: string, key?: string | number) => ({
    entries: entriesOf(v),
    next: 0,
    out: (Array.isArray(v) ? [] : {}) as Container,
    where: at,
    key,
  });
  const frames = [open(value, where)];
  for (;;) {
    const top = frames[frames.length - 1];
    if (top.next < top.entries.length) {
      const [key, v] = top.entries[top.next++];
      if (!isContainer(v)) {
        setEntry(top.out, key, v);
      } else {
        if (frames.length >= MAX_CWL_VALUE_DEPTH) throw new CwlValueTooDeepError(MAX_CWL_VALUE_DEPTH, child(top.where, key));
        frames.push(open(v, child(top.where, key), key));
      }
      continue;
    }
    frames.pop();
    const done = isFileObject(top.out) ? yield { obj: top.out, where: top.where } : top.out;
    if (frames.length === 0) return done;
    setEntry(frames[frames.length - 1].out, top.key!, done);
  }
}

/**
 * Rebuilds a CWL value with every File and Directory object replaced by what `replace` makes
 * of it. What an object holds (secondaryFiles, listing) is rebuilt first, so `replace` sees
 * its new contents; objects are handled one at a time, in document order. Every value is
 * walked, whatever its key (a record field may be named `location` and hold a File, which the
 * engine reads like any other). Everything else is copied as it is (kept numbers stay
 * leaves). Throws CwlValueTooDeepError past MAX_CWL_VALUE_DEPTH.
 */
export async function mapFileObjects(
  value: unknown,
  replace: (obj: FileObject, where: string) => Promise<unknown> | unknown,
  where = '',
): Promise<unknown> {
  const walk = rebuild(value, where);
  let step = walk.next();
  while (!step.done) step = walk.next(await replace(step.value.obj, step.value.where));
  return step.value;
}

/** mapFileObjects for a `replace` that does not wait. */
export function mapFileObjectsSync(value: unknown, replace: (obj: FileObject, where: string) => unknown, where = ''): unknown {
  const walk = rebuild(value, where);
  let step = walk.next();
  while (!step.done) step = walk.next(replace(step.value.obj, step.value.where));
  return step.value;
}
