import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Multipart } from '@fastify/multipart';
import { WesSettings } from '../../../../libs/config/src';
import { runObjectKeys } from '../../../../libs/runs/src';
import { ObjectStore, PathSet, UnsafePathError, safeRelativePath } from '../../../../libs/storage/src';
import { BadRequestError, PayloadTooLargeError } from '../common/wes-errors';
import { RUN_REQUEST_FIELDS, RunRequestField } from './run-request.dto';

/** The raw parts of a submission: text of each RunRequest field, and the attachments stored. */
export interface RawSubmission {
  fields: Partial<Record<RunRequestField, string | object>>;
  attachments: string[];
}

const isRunRequestField = (name: string): name is RunRequestField => (RUN_REQUEST_FIELDS as readonly string[]).includes(name);

async function readCapped(part: Multipart & { type: 'file' }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of part.file) {
    size += chunk.length;
    if (size > max) {
      part.file.resume();
      throw new PayloadTooLargeError(`${part.fieldname}: larger than the ${max} bytes a field may hold (WES_MAX_FIELD_BYTES)`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Longest multipart boundary taken, in bytes: the parser (busboy) searches the body for
 * `\r\n--<boundary>` and takes a needle of 256 bytes at most. RFC 2046 allows 70.
 */
export const MAX_BOUNDARY_BYTES = 252;

/**
 * The boundary of a multipart/form-data Content-Type, checked before the body is read: the
 * parser throws as it starts on a missing or too long one (a 500 before).
 */
export function multipartBoundary(contentType: string | undefined): string {
  const m = /;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/i.exec(contentType ?? '');
  // The parser also reads RFC 2231's `boundary*=utf-8''<percent-encoded>`.
  const extended = /;\s*boundary\*\s*=\s*[^']*'[^']*'([^;\s]*)/i.exec(contentType ?? '');
  const boundary = m ? (m[1]?.replace(/\\(.)/g, '$1') ?? m[2]) : extended ? percentDecoded(extended[1]) : '';
  if (!boundary) {
    throw new BadRequestError('Content-Type: multipart/form-data without a boundary (e.g. "multipart/form-data; boundary=----x1")');
  }
  const bytes = Buffer.byteLength(boundary);
  if (bytes > MAX_BOUNDARY_BYTES) {
    throw new BadRequestError(`Content-Type: a multipart boundary of ${bytes} bytes, more than the ${MAX_BOUNDARY_BYTES} taken (RFC 2046 allows 70)`);
  }
  return boundary;
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Attachments up to this size are read whole and stored in one write; larger ones stream. */
const IN_MEMORY_ATTACHMENT_BYTES = 256 * 1024;

/**
 * Stores one attachment part. Most attachments are small workflow files: those are collected and
 * written in one step (ObjectStore.create: in place, no stream plumbing per file); past
 * IN_MEMORY_ATTACHMENT_BYTES the part streams on into the store. `count` sees every chunk
 * first and throws to refuse the part (limits): the part's stream is then released, so the
 * request fails and never the process.
 */
async function storeAttachment(part: Multipart & { type: 'file' }, key: string, store: ObjectStore, count: (bytes: number) => void): Promise<void> {
  const chunks = part.file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await chunks.next();
      if (done) {
        // A new run's attachment: nobody reads it before the run is recorded (ObjectStore.create).
        await store.create(key, Buffer.concat(head, size));
        return;
      }
      count(value.length);
      head.push(value);
      size += value.length;
      if (size > IN_MEMORY_ATTACHMENT_BYTES) break;
    }
  } catch (err) {
    await chunks.return?.();
    throw err;
  }
  async function* whole(): AsyncGenerator<Buffer> {
    yield* head;
    for (;;) {
      const { value, done } = await chunks.next();
      if (done) return;
      count(value.length);
      yield value;
    }
  }
  try {
    await store.put(key, Readable.from(whole()));
  } finally {
    await chunks.return?.();
  }
}

async function sha256(chunks: AsyncIterable<Buffer>, count: (bytes: number) => void = () => undefined): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of chunks) {
    count(chunk.length);
    hash.update(chunk);
  }
  return hash.digest('hex');
}

/**
 * Whether a repeated attachment part holds the bytes already stored under its name. Both are
 * hashed as they stream, so a repeat costs one read of the stored copy, and only repeats pay.
 */
async function sameBytes(part: Multipart & { type: 'file' }, key: string, store: ObjectStore, count: (bytes: number) => void): Promise<boolean> {
  let incoming: string;
  try {
    incoming = await sha256(part.file as AsyncIterable<Buffer>, count);
  } catch (err) {
    part.file.resume();
    throw err;
  }
  const { body } = await store.get(key);
  return (await sha256(body as AsyncIterable<Buffer>)) === incoming;
}

/**
 * Reads a multipart/form-data RunWorkflow request. JSON fields may come as text fields or as
 * file parts (clients differ); every workflow_attachment part is streamed into the object store
 * under the run's attachment folder, keeping sub-folders of its file name, once its name is
 * proven not to leave that folder.
 */
export async function readMultipartSubmission(
  request: FastifyRequest,
  runId: string,
  store: ObjectStore,
  settings: WesSettings,
): Promise<RawSubmission> {
  multipartBoundary(request.headers['content-type']);
  const fields: RawSubmission['fields'] = {};
  const attachments = new PathSet();
  let total = 0;
  const parts = request.parts({
    preservePath: true,
    limits: {
      fileSize: settings.maxAttachmentBytes,
      files: settings.maxAttachments + RUN_REQUEST_FIELDS.length,
      fieldSize: settings.maxFieldBytes,
      fields: 100,
      parts: settings.maxAttachments + 100,
    },
  });
  for await (const part of parts) {
    if (part.type === 'file') {
      if (part.fieldname === 'workflow_attachment') {
        let name: string;
        try {
          name = safeRelativePath(part.filename);
          // Before a byte is stored: `x` and `x/y` cannot both be files, in either order.
          attachments.check(name);
        } catch (err) {
          part.file.resume();
          throw new BadRequestError(`workflow_attachment: ${(err as UnsafePathError).message}`);
        }
        if (attachments.size >= settings.maxAttachments) {
          part.file.resume();
          throw new PayloadTooLargeError(`workflow_attachment: more than ${settings.maxAttachments} attachments (WES_MAX_ATTACHMENTS)`);
        }
        const key = runObjectKeys.attachment(runId, name);
        const count = (n: number) => {
          total += n;
          if (total > settings.maxTotalAttachmentBytes) {
            throw new PayloadTooLargeError(`workflow_attachment: more than ${settings.maxTotalAttachmentBytes} bytes in all (WES_MAX_TOTAL_ATTACHMENT_BYTES)`);
          }
        };
        if (attachments.has(name)) {
          // toil-wes-cwl-runner attaches a file the tool and the job both name twice: same bytes, kept once.
          if (!(await sameBytes(part, key, store, count))) {
            throw new BadRequestError(`workflow_attachment: "${name}" is attached twice with different contents`);
          }
        } else {
          attachments.add(name);
          await storeAttachment(part, key, store, count);
        }
        if (part.file.truncated) {
          throw new PayloadTooLargeError(
            `workflow_attachment "${name}": larger than ${settings.maxAttachmentBytes} bytes (WES_MAX_ATTACHMENT_BYTES)`,
          );
        }
      } else if (isRunRequestField(part.fieldname)) {
        fields[part.fieldname] = await readCapped(part, settings.maxFieldBytes);
      } else {
        part.file.resume();
      }
    } else if (isRunRequestField(part.fieldname)) {
      if (part.valueTruncated) {
        throw new PayloadTooLargeError(`${part.fieldname}: larger than ${settings.maxFieldBytes} bytes (WES_MAX_FIELD_BYTES)`);
      }
      fields[part.fieldname] = String(part.value);
    }
  }
  return { fields, attachments: attachments.values() };
}
