import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { ByteRange, ObjectInfo, ObjectNotFoundError, ObjectStore } from '../../../../libs/storage/src';
import { NotFoundError, WesHttpError } from '../common/wes-errors';

/** Content type of the logs served (the engine's and its tasks'). */
export const LOG_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** The log a URL names: stdout or stderr (404 for anything else). */
export function logStream(name: string): 'stdout' | 'stderr' {
  if (name !== 'stdout' && name !== 'stderr') throw new NotFoundError(`no log "${name}" (logs: stdout, stderr)`);
  return name;
}

/** Parses a single `bytes=a-b` range; null when absent. Multi-range requests get the whole file. */
function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) throw new WesHttpError(416, `Range "${header}" is outside the ${size} bytes of the file`);
  return { start, end };
}

/**
 * Streams an object of the store to the client (a Range honoured); false when there is no such
 * object. The store's stream (for S3, GetObject's body, the Range passed on) goes to the reply
 * as it is: no stage between them.
 */
export async function sendObject(store: ObjectStore, req: FastifyRequest, reply: FastifyReply, key: string, contentType: string): Promise<boolean> {
  const info = await store.stat(key);
  if (!info) return false;
  const range = info.size > 0 ? parseRange(req.headers.range, info.size) : null;
  let body: Readable | string = '';
  if (info.size > 0) {
    try {
      ({ body } = await store.get(key, range ?? undefined));
    } catch (err) {
      // Deleted since the stat.
      if (err instanceof ObjectNotFoundError) return false;
      throw err;
    }
  }
  sendHeaders(reply, contentType, info.size, range);
  reply.send(body);
  return true;
}

/** Status and headers of a whole object or a range of `size` bytes. */
function sendHeaders(reply: FastifyReply, contentType: string, size: number, range: ByteRange | null): void {
  reply.header('accept-ranges', 'bytes').header('content-type', contentType);
  if (range) reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
  reply.header('content-length', size === 0 ? 0 : range ? range.end - range.start + 1 : size);
}

/**
 * Streams the concatenation of objects (a whole file is one part), honouring a Range header.
 * `wholeKey`: the object that may replace the parts while they are read (a live log's chunks
 * replaced by the whole log once the run ended): same bytes, same offsets.
 */
export function sendObjectParts(
  store: ObjectStore,
  req: FastifyRequest,
  reply: FastifyReply,
  parts: ObjectInfo[],
  contentType: string,
  wholeKey?: string,
): void {
  const size = parts.reduce((n, p) => n + p.size, 0);
  const range = size > 0 ? parseRange(req.headers.range, size) : null;
  const first = range?.start ?? 0;
  const last = range?.end ?? size - 1;
  async function* bytes() {
    let offset = 0;
    for (const part of parts) {
      const from = Math.max(first, offset);
      const to = Math.min(last, offset + part.size - 1);
      if (from <= to) {
        let body;
        try {
          ({ body } = await store.get(part.key, { start: from - offset, end: to - offset }));
        } catch (err) {
          if (!(err instanceof ObjectNotFoundError) || !wholeKey) throw err;
          yield* (await store.get(wholeKey, { start: from, end: last })).body;
          return;
        }
        yield* body;
      }
      offset += part.size;
    }
  }
  sendHeaders(reply, contentType, size, range);
  reply.send(size === 0 ? '' : Readable.from(bytes()));
}
