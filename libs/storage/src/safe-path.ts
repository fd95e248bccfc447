import path from 'node:path';

/** A relative path that would read or write outside its folder, or is otherwise unusable. */
export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
}

/**
 * A path longer than a file system or an object store can hold. Its own class: a lookup of
 * such a key is answered "no such object", where any other unsafe key is an error.
 */
export class PathTooLongError extends UnsafePathError {
  override name = 'PathTooLongError';
}

/**
 * What `resolve` makes of a key to look up, or undefined when the key is too long to name
 * anything (PathTooLongError): the stores answer such a lookup "no such object".
 */
export function unlessTooLong<T>(resolve: () => T): T | undefined {
  try {
    return resolve();
  } catch (err) {
    if (err instanceof PathTooLongError) return undefined;
    throw err;
  }
}

/** How long a relative path may be, in UTF-8 bytes: the whole of it, and each of its segments. */
export interface PathLimits {
  maxBytes: number;
  maxSegmentBytes: number;
}

/**
 * Paths clients name (attachments, zip entries, output paths, relative input locations). A
 * segment is a file or folder name: file systems allow 255 bytes, and the local store first
 * writes `<name>.<uuid>.part` (42 bytes more). The whole path leaves room, under S3's
 * 1,024-byte keys, for the store's prefix and `runs/<id>/attachments/`.
 */
export const CLIENT_PATH_LIMITS: PathLimits = { maxBytes: 768, maxSegmentBytes: 200 };

/** Object-store keys: a client path under a run's folder (`runs/<id>/outputs/` is 54 bytes). */
export const STORE_KEY_LIMITS: PathLimits = { maxBytes: 1024, maxSegmentBytes: CLIENT_PATH_LIMITS.maxSegmentBytes };

/** A name as a message shows it: NUL bytes made visible, and no more than its first 60 characters. */
function shown(name: string): string {
  const visible = name.replace(/\0/g, '\\0');
  return visible.length > 60 ? `"${visible.slice(0, 60)}…" (${Buffer.byteLength(name)} bytes)` : `"${visible}"`;
}

/**
 * Normalises a client-given relative path (attachment name, output path) and refuses any that
 * could leave its folder: empty, absolute, with a NUL byte, a backslash, a drive letter, or a
 * `..` segment; and any longer than `limits` (PathTooLongError). Sub-folders are kept.
 */
export function safeRelativePath(name: string, limits: PathLimits = CLIENT_PATH_LIMITS): string {
  if (typeof name !== 'string' || name.length === 0) throw new UnsafePathError('the name is empty');
  if (name.includes('\0')) throw new UnsafePathError(`${shown(name)} contains a NUL byte`);
  if (name.includes('\\')) throw new UnsafePathError(`${shown(name)} contains a backslash`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new UnsafePathError(`${shown(name)} is an absolute path`);
  const segments = name.split('/');
  if (segments.includes('..')) throw new UnsafePathError(`${shown(name)} contains a ".." segment`);
  const normal = path.posix.normalize(name).replace(/^(\.\/)+/, '');
  if (normal === '.' || normal === '' || normal.endsWith('/')) throw new UnsafePathError(`${shown(name)} names a folder, not a file`);
  if (Buffer.byteLength(normal) > limits.maxBytes) {
    throw new PathTooLongError(`${shown(normal)} is longer than the ${limits.maxBytes} bytes (UTF-8) a path may have`);
  }
  const long = normal.split('/').find((s) => Buffer.byteLength(s) > limits.maxSegmentBytes);
  if (long !== undefined) {
    throw new PathTooLongError(
      `${shown(normal)} has a file or folder name of ${Buffer.byteLength(long)} bytes, longer than the ${limits.maxSegmentBytes} bytes (UTF-8) a name may have`,
    );
  }
  return normal;
}

/** Joins a checked relative path onto a folder and proves the result stays inside it. */
export function resolveInside(root: string, relative: string, limits: PathLimits = CLIENT_PATH_LIMITS): string {
  const base = path.resolve(root);
  const full = path.resolve(base, safeRelativePath(relative, limits));
  if (full !== base && !full.startsWith(base + path.sep)) {
    throw new UnsafePathError(`${shown(relative)} resolves outside its folder`);
  }
  return full;
}
