import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WesSettings } from '../../../../libs/config/src';
import { stringifyJson } from '../../../../libs/json/src';
import { OBJECT_STORE } from '../../../../libs/platform/src';
import { runObjectKeys } from '../../../../libs/runs/src';
import { ObjectStore, safeRelativePath } from '../../../../libs/storage/src';
import { wesBaseUrl } from '../common/base-url';
import { guardRunRead } from '../auth/guard-run-read';
import { LinkSigner } from '../auth/link-signer';
import { SignedLinkRoute } from '../auth/signed-link.decorator';
import { BadRequestError, NotFoundError } from '../common/wes-errors';
import { LOG_CONTENT_TYPE, logStream, sendObject, sendObjectParts } from './object-response';
import { filesOf, findOutputDirectory, outputsForClient } from './run-log.mapper';
import { RunsService } from './runs.service';

/** Serves a run's logs and output files from the object store, streamed, with Range support. */
@Controller()
export class RunFilesController {
  constructor(
    private readonly runs: RunsService,
    private readonly settings: WesSettings,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly links: LinkSigner,
  ) {}

  /**
   * stdout or stderr of the engine. While the run goes on, the chunks the worker has shipped so
   * far (follow a live log with `Range: bytes=<bytes already read>-`); afterwards the whole log;
   * empty before the engine starts.
   */
  @Get('runs/:run_id/logs/:stream')
  @SignedLinkRoute()
  async log(@Param('run_id') runId: string, @Param('stream') name: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const stream = logStream(name);
    await this.runs.status(runId, guardRunRead(req, runId));
    if (await sendObject(this.store, req, reply, runObjectKeys.log(runId, stream), LOG_CONTENT_TYPE)) return;
    const parts = await this.store.list(runObjectKeys.logPartsPrefix(runId, stream));
    // The whole log may have replaced the chunks between the two reads.
    if (parts.length === 0 && (await sendObject(this.store, req, reply, runObjectKeys.log(runId, stream), LOG_CONTENT_TYPE))) return;
    sendObjectParts(this.store, req, reply, parts, LOG_CONTENT_TYPE, runObjectKeys.log(runId, stream));
  }

  /** The run's output files: path, size and download URL of each. */
  @Get('runs/:run_id/outputs')
  async listOutputs(@Param('run_id') runId: string, @Req() req: FastifyRequest) {
    await this.runs.status(runId, guardRunRead(req, runId));
    const prefix = runObjectKeys.output(runId, '');
    const fileUrl = await this.links.urls(wesBaseUrl(this.settings, req), runId);
    const files = (await this.store.list(prefix)).map((o) => {
      const path = o.key.slice(prefix.length);
      return { path, size: o.size, url: fileUrl(`outputs/${path}`) };
    });
    return { run_id: runId, files };
  }

  @Get('runs/:run_id/outputs/*')
  @SignedLinkRoute()
  async output(@Param('run_id') runId: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    await this.runs.status(runId, guardRunRead(req, runId));
    const raw = (req.params as Record<string, string>)['*'] ?? '';
    let path: string;
    try {
      path = safeRelativePath(raw);
    } catch (err) {
      throw new BadRequestError(`output path: ${(err as Error).message}`);
    }
    if (await sendObject(this.store, req, reply, runObjectKeys.output(runId, path), 'application/octet-stream')) return;
    // A Directory output has no object of its own: its location answers with its listing.
    const run = await this.runs.get(runId);
    const dir = findOutputDirectory(run, path);
    if (!dir) throw new NotFoundError(`run ${runId} has no output "${path}"`);
    const fileUrl = await this.links.urls(wesBaseUrl(this.settings, req), runId, req);
    reply.header('content-type', 'application/json; charset=utf-8');
    reply.send(stringifyJson(outputsForClient(filesOf(run), dir, (p) => fileUrl(`outputs/${p}`))));
  }
}
