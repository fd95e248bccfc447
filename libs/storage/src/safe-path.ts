import path from 'node:path';

/** A relative path that would read or write outside its folder, or is otherwise unusable. */
export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
}

/**
 * Normalises a client-given relative path (attachment name, output path) and refuses any that
 * could leave its folder: empty, absolute, with a NUL byte, a backslash, a drive letter, or a
 * `..` segment. Sub-folders are kept.
 */
export function safeRelativePath(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new UnsafePathError('the name is empty');
  if (name.includes('\0')) throw new UnsafePathError(`"${name.replace(/\0/g, '\\0')}" contains a NUL byte`);
  if (name.includes('\\')) throw new UnsafePathError(`"${name}" contains a backslash`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new UnsafePathError(`"${name}" is an absolute path`);
  const segments = name.split('/');
  if (segments.includes('..')) throw new UnsafePathError(`"${name}" contains a ".." segment`);
  const normal = path.posix.normalize(name).replace(/^(\.\/)+/, '');
  if (normal === '.' || normal === '' || normal.endsWith('/')) throw new UnsafePathError(`"${name}" names a folder, not a file`);
  return normal;
}

/** Joins a checked relative path onto a folder and proves the result stays inside it. */
export function resolveInside(root: string, relative: string): string {
  const base = path.resolve(root);
  const full = path.resolve(base, safeRelativePath(relative));
  if (full !== base && !full.startsWith(base + path.sep)) {
    throw new UnsafePathError(`"${relative}" resolves outside its folder`);
  }
  return full;
}
