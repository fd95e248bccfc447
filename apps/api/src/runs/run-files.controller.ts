import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WesSettings } from '../../../../libs/config/src';
import { OBJECT_STORE } from '../../../../libs/platform/src';
import { runObjectKeys } from '../../../../libs/runs/src';
import { ByteRange, ObjectStore, safeRelativePath } from '../../../../libs/storage/src';
import { encodePath, wesBaseUrl } from '../common/base-url';
import { BadRequestError, NotFoundError, WesHttpError } from '../common/wes-errors';
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
    const range = parseRange(req.headers.range, info.size);
    const { body } = await this.store.get(key, range ?? undefined);
    reply.header('accept-ranges', 'bytes').header('content-type', contentType);
    if (range) {
      reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
      reply.header('content-length', range.end - range.start + 1);
    } else {
      reply.header('content-length', info.size);
    }
    reply.send(body);
    return true;
  }

  /** stdout or stderr of the engine; empty until the worker has stored it. */
  @Get('runs/:run_id/logs/:stream')
  async log(@Param('run_id') runId: string, @Param('stream') stream: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    if (stream !== 'stdout' && stream !== 'stderr') throw new NotFoundError(`no log "${stream}" (logs: stdout, stderr)`);
    await this.runs.status(runId);
    if (!(await this.send(req, reply, runObjectKeys.log(runId, stream), 'text/plain; charset=utf-8'))) {
      reply.header('content-type', 'text/plain; charset=utf-8').send('');
    }
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
    if (!(await this.send(req, reply, runObjectKeys.output(runId, path), 'application/octet-stream'))) {
      throw new NotFoundError(`run ${runId} has no output file "${path}"`);
    }
  }
}
