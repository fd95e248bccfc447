import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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
  /**
   * Writes a new object held in memory (a few hundred KiB at most) under a key nobody reads
   * before the caller is done with it, such as a submission's attachments before its run is
   * recorded: no temporary name is needed. An object already there is an error (on a local store;
   * S3 overwrites). Returns the bytes written.
   */
  create(key: string, body: Buffer | string): Promise<number>;
  /** Opens an object (or a byte range of it) for reading. Throws ObjectNotFoundError. */
  get(key: string, range?: ByteRange): Promise<{ body: Readable; size: number }>;
  stat(key: string): Promise<ObjectInfo | null>;
  /** Objects whose key starts with prefix (a folder ending in `/`). */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes one object (no error when there is none). */
  delete(key: string): Promise<void>;
  /** Removes every object under a folder (a prefix ending in `/`); none there is no error. */
  deletePrefix(prefix: string): Promise<void>;
  /**
   * Names of the folders directly under `prefix` (a folder ending in `/`), in lexical order,
   * those after `after` only, at most `limit`: a sweep of the store in bounded steps.
   */
  listFolders(prefix: string, after: string | undefined, limit: number): Promise<string[]>;
  /**
   * Copies an object to a local file in one call, for a store whose objects are local files
   * already (downloadToFile uses it when present). Throws ObjectNotFoundError.
   */
  copyToFile?(key: string, file: string): Promise<void>;
}

/** Copies an object of any store to a local file; an abort signal stops the copy. */
export async function downloadToFile(store: ObjectStore, key: string, file: string, signal?: AbortSignal): Promise<void> {
  if (store.copyToFile) {
    signal?.throwIfAborted();
    return store.copyToFile(key, file);
  }
  const { body } = await store.get(key);
  await mkdir(path.dirname(file), { recursive: true });
  await pipeline(body, createWriteStream(file), { signal });
}
