import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WesSettings } from '../../../../libs/config/src';
import { stringifyJson } from '../../../../libs/json/src';
import { OBJECT_STORE } from '../../../../libs/platform/src';
import { runObjectKeys } from '../../../../libs/runs/src';
import { Readable } from 'node:stream';
import { ByteRange, ObjectInfo, ObjectNotFoundError, ObjectStore, safeRelativePath } from '../../../../libs/storage/src';
import { encodePath, wesBaseUrl } from '../common/base-url';
import { BadRequestError, NotFoundError, WesHttpError } from '../common/wes-errors';
import { findOutputDirectory, outputsForClient } from './run-log.mapper';
import { RunsService } from './runs.service';

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

/** Serves a run's logs and output files from the object store, streamed, with Range support. */
@Controller()
export class RunFilesController {
  constructor(
    private readonly runs: RunsService,
    private readonly settings: WesSettings,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  /** Streams an object to the client; false when there is no such object. */
  private async send(req: FastifyRequest, reply: FastifyReply, key: string, contentType: string): Promise<boolean> {
    const info = await this.store.stat(key);
    if (!info) return false;
    this.sendParts(req, reply, [info], contentType);
    return true;
  }

  /** Streams the concatenation of objects (a whole file is one part), honouring a Range header. */
  private sendParts(req: FastifyRequest, reply: FastifyReply, parts: ObjectInfo[], contentType: string, wholeKey?: string): void {
    const size = parts.reduce((n, p) => n + p.size, 0);
    const range = size > 0 ? parseRange(req.headers.range, size) : null;
    const first = range?.start ?? 0;
    const last = range?.end ?? size - 1;
    const store = this.store;
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
            // The run ended meanwhile and the whole log replaced the chunks: same bytes, same offsets.
            if (!(err instanceof ObjectNotFoundError) || !wholeKey) throw err;
            yield* (await store.get(wholeKey, { start: from, end: last })).body;
            return;
          }
          yield* body;
        }
        offset += part.size;
      }
    }
    reply.header('accept-ranges', 'bytes').header('content-type', contentType);
    if (range) reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
    reply.header('content-length', size === 0 ? 0 : last - first + 1);
    reply.send(size === 0 ? '' : Readable.from(bytes()));
  }

  /**
   * stdout or stderr of the engine. While the run goes on, the chunks the worker has shipped so
   * far (follow a live log with `Range: bytes=<bytes already read>-`); afterwards the whole log;
   * empty before the engine starts.
   */
  @Get('runs/:run_id/logs/:stream')
  async log(@Param('run_id') runId: string, @Param('stream') stream: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    if (stream !== 'stdout' && stream !== 'stderr') throw new NotFoundError(`no log "${stream}" (logs: stdout, stderr)`);
    await this.runs.status(runId);
    const contentType = 'text/plain; charset=utf-8';
    if (await this.send(req, reply, runObjectKeys.log(runId, stream), contentType)) return;
    const parts = await this.store.list(runObjectKeys.logPartsPrefix(runId, stream));
    // The whole log may have replaced the chunks between the two reads.
    if (parts.length === 0 && (await this.send(req, reply, runObjectKeys.log(runId, stream), contentType))) return;
    this.sendParts(req, reply, parts, contentType, runObjectKeys.log(runId, stream));
  }

  /** The run's output files: path, size and download URL of each. */
  @Get('runs/:run_id/outputs')
  async listOutputs(@Param('run_id') runId: string, @Req() req: FastifyRequest) {
    await this.runs.status(runId);
    const prefix = runObjectKeys.output(runId, '');
    const base = `${wesBaseUrl(this.settings, req)}/runs/${runId}/outputs`;
    const files = (await this.store.list(prefix)).map((o) => {
      const path = o.key.slice(prefix.length);
      return { path, size: o.size, url: `${base}/${encodePath(path)}` };
    });
    return { run_id: runId, files };
  }

  @Get('runs/:run_id/outputs/*')
  async output(@Param('run_id') runId: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    await this.runs.status(runId);
    const raw = (req.params as Record<string, string>)['*'] ?? '';
    let path: string;
    try {
      path = safeRelativePath(raw);
    } catch (err) {
      throw new BadRequestError(`output path: ${(err as Error).message}`);
    }
    if (await this.send(req, reply, runObjectKeys.output(runId, path), 'application/octet-stream')) return;
    // A Directory output has no object of its own: its location answers with its listing.
    const run = await this.runs.get(runId);
    const dir = findOutputDirectory(run.outputs, path);
    if (!dir) throw new NotFoundError(`run ${runId} has no output "${path}"`);
    const base = `${wesBaseUrl(this.settings, req)}/runs/${runId}/outputs`;
    reply.header('content-type', 'application/json; charset=utf-8');
    reply.send(stringifyJson(outputsForClient(dir, (p) => `${base}/${encodePath(p)}`)));
  }
}
