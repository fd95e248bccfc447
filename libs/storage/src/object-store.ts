import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** No object under that key. */
export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError';
}

/**
 * Where the API and the workers exchange files (attachments, logs, outputs); they share
 * nothing else. Keys are relative paths such as `runs/<id>/outputs/x.txt`. Everything streams.
 */
export interface ObjectStore {
  /** Writes a stream; returns the bytes written. */
  put(key: string, body: Readable | Buffer | string): Promise<number>;
  putFile(key: string, file: string): Promise<number>;
  /** Opens an object (or a byte range of it) for reading. Throws ObjectNotFoundError. */
  get(key: string, range?: ByteRange): Promise<{ body: Readable; size: number }>;
  stat(key: string): Promise<ObjectInfo | null>;
  /** Copies an object to a local file; an abort signal stops the copy. */
  getToFile(key: string, file: string, signal?: AbortSignal): Promise<void>;
  /** Objects whose key starts with prefix (a folder ending in `/`). */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes one object (no error when there is none). */
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<void>;
}
