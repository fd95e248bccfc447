import { UnsafePathError } from './safe-path';

/** Two paths of one set where one would be a file inside the other: a file cannot also be a folder. */
export class PathClashError extends UnsafePathError {
  override name = 'PathClashError';
}

/**
 * The file paths (relative, already checked by safeRelativePath) that will make one folder:
 * `x` and `x/y` cannot both be files of it, in whichever order they come. Checked before
 * anything is written, so neither store sees the clash (a folder store would fail to make the
 * folder, S3 would keep both keys and the worker fail to stage them).
 */
export class PathSet {
  private readonly files = new Set<string>();
  /** Each folder the files make, with the first file under it (for messages). */
  private readonly folders = new Map<string, string>();

  constructor(paths: Iterable<string> = []) {
    for (const p of paths) this.add(p);
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  get size(): number {
    return this.files.size;
  }

  values(): string[] {
    return [...this.files];
  }

  /** Throws PathClashError when a file path is a folder of the set's, or lies under one of its files. */
  check(path: string): void {
    if (this.files.has(path)) return;
    const under = this.folders.get(path);
    if (under !== undefined) throw clash(path, under);
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
      const folder = path.slice(0, i);
      if (this.files.has(folder)) throw clash(folder, path);
    }
  }

  /** Adds a file path, once `check` accepts it. */
  add(path: string): void {
    this.check(path);
    this.files.add(path);
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
      const folder = path.slice(0, i);
      if (!this.folders.has(folder)) this.folders.set(folder, path);
    }
  }
}

function clash(file: string, inside: string): PathClashError {
  return new PathClashError(`"${file}" and "${inside}" clash: "${file}" cannot be both a file and a folder`);
}
