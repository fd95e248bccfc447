import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WesSettings } from '../../config/src';
import { ByteRange, ObjectInfo, ObjectNotFoundError, ObjectStore } from './object-store';
import { PathTooLongError, safeRelativePath, STORE_KEY_LIMITS, unlessTooLong } from './safe-path';

export interface S3StoreOptions {
  bucket: string;
  /** Folder inside the bucket ("" for its root); keys go under it. */
  prefix: string;
  region: string;
  /** Endpoint of an S3-compatible server (MinIO, Ceph, s3rver); unset for AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Static credentials; unset: the SDK's default chain (environment, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Part size of the upload of a stream; unset: the default of the settings' s3UploadPartBytes. */
  uploadPartBytes?: number;
  /** Parts of one upload sent at once; unset: the default of the settings' s3UploadConcurrency. */
  uploadConcurrency?: number;
}

/** The settings' defaults, for a store made without upload options (tests). */
const DEFAULT_SETTINGS = new WesSettings();

/**
 * An S3 client for any S3-compatible server. Checksums are computed only when an operation
 * requires them, so servers that do not understand the newer checksum framing (s3rver, older
 * MinIO) store the bytes as sent.
 */
export function createS3Client(options: Omit<S3StoreOptions, 'bucket' | 'prefix'>): S3Client {
  return new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials:
      options.accessKeyId && options.secretAccessKey
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** S3's limit on a key, in UTF-8 bytes (a longer one gets a 400 answer: even a lookup). */
const MAX_S3_KEY_BYTES = 1024;

const isMissing = (err: unknown) =>
  err instanceof NoSuchKey ||
  err instanceof NotFound ||
  (err instanceof S3ServiceException && (err.$metadata?.httpStatusCode === 404 || err.name === 'NoSuchKey' || err.name === 'NotFound'));

/**
 * The object store on any S3-compatible server. Uploads stream in parts (lib-storage), downloads
 * stream; no object is held whole in memory: an upload holds at most (concurrency + 1) parts.
 */
export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly options: S3StoreOptions) {
    this.client = createS3Client(options);
    this.prefix = options.prefix ? `${options.prefix.replace(/^\/+|\/+$/g, '')}/` : '';
  }

  /** Where the store keeps its objects, as an s3:// location (what inputs must never read). */
  get location(): string {
    return `s3://${this.options.bucket}/${this.prefix}`;
  }

  /** The bucket key of a store key (checked: no key may climb out of the prefix, nor be longer than S3 takes). */
  private key(key: string): string {
    const full = this.prefix + safeRelativePath(key, STORE_KEY_LIMITS);
    if (Buffer.byteLength(full) > MAX_S3_KEY_BYTES) throw new PathTooLongError(`the key of ${key.slice(0, 60)}… is longer than S3's ${MAX_S3_KEY_BYTES} bytes`);
    return full;
  }

  /** The bucket key of a key to look up; undefined when no object can have so long a key. */
  private lookupKey(key: string): string | undefined {
    return unlessTooLong(() => this.key(key));
  }

  async put(key: string, body: Readable | Buffer | string): Promise<number> {
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      // In memory already: one PutObject request.
      const buf = Buffer.from(body);
      await this.client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: this.key(key), Body: buf, ContentLength: buf.length }));
      return buf.length;
    }
    let size = 0;
    const source = body.on('data', (chunk: Buffer) => {
      size += chunk.length;
    });
    // A stream that ends within the first part goes as one PutObject (lib-storage does that);
    // a longer one as parts sent `concurrency` at once, so that reading the stream and sending
    // parts overlap. Larger parts mean fewer requests (and fewer copies into part buffers).
    await new Upload({
      client: this.client,
      params: { Bucket: this.options.bucket, Key: this.key(key), Body: source },
      queueSize: this.options.uploadConcurrency ?? DEFAULT_SETTINGS.s3UploadConcurrency,
      partSize: this.options.uploadPartBytes ?? DEFAULT_SETTINGS.s3UploadPartBytes,
    }).done();
    return size;
  }

  /** One PutObject, as put() of a body in memory (S3 has no folders nor temporary names to spare). */
  create(key: string, body: Buffer | string): Promise<number> {
    return this.put(key, body);
  }

  putFile(key: string, file: string): Promise<number> {
    return this.put(key, createReadStream(file));
  }

  async get(key: string, range?: ByteRange): Promise<{ body: Readable; size: number }> {
    const bucketKey = this.lookupKey(key);
    if (bucketKey === undefined) throw new ObjectNotFoundError(`no object ${key}`);
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: bucketKey,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      const total = out.ContentRange ? Number(out.ContentRange.split('/')[1]) : Number(out.ContentLength ?? 0);
      return { body: out.Body as Readable, size: total };
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(`no object ${key}`);
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const bucketKey = this.lookupKey(key);
    if (bucketKey === undefined) return null;
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: bucketKey }));
      return { key, size: Number(out.ContentLength ?? 0) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) out.push({ key: o.Key.slice(this.prefix.length), size: Number(o.Size ?? 0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(key: string): Promise<void> {
    const bucketKey = this.lookupKey(key);
    if (bucketKey !== undefined) await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: bucketKey }));
  }

  async listFolders(prefix: string, after: string | undefined, limit: number): Promise<string[]> {
    const base = this.prefix + prefix;
    // Keys of folder `after` all start `after/`; `/` sorts just before `0`, so `after0` is past
    // them all (and folder names here are fixed-length ids, none a prefix of another).
    const page = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.options.bucket,
        Prefix: base,
        Delimiter: '/',
        MaxKeys: limit,
        ...(after !== undefined ? { StartAfter: `${base}${after}0` } : {}),
      }),
    );
    return (page.CommonPrefixes ?? [])
      .map((p) => (p.Prefix ?? '').slice(base.length).replace(/\/$/, ''))
      .filter((name) => name !== '' && (after === undefined || name > after))
      .slice(0, limit);
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/') || prefix === '/') return;
    const keys = (await this.list(prefix)).map((o) => this.prefix + o.key);
    for (let i = 0; i < keys.length; i += 1000) {
      await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.options.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }

  /** A time-limited URL from which a client can download the object straight from S3. */
  presignedUrl(key: string, expiresInSeconds: number, filename?: string): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.options.bucket,
        Key: this.key(key),
        ResponseContentDisposition: filename ? `attachment; filename="${filename.replace(/"/g, '')}"` : undefined,
      }),
      { expiresIn: expiresInSeconds },
    );
  }
}
