import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { stringifyJson } from '../../../../libs/json/src';
import { WesSettings } from '../../../../libs/config/src';
import { callerOf } from '../auth/caller';
import { guardRunRead } from '../auth/guard-run-read';
import { LinkSigner } from '../auth/link-signer';
import { wesBaseUrl } from '../common/base-url';
import { decodePageToken, encodePageToken, parsePageSize } from '../common/pagination';
import { BadRequestError } from '../common/wes-errors';
import { readMultipartSubmission, RawSubmission } from './multipart-submission';
import { parseRunFilter } from './run-filter';
import { RUN_REQUEST_FIELDS } from './run-request.dto';
import { OutputUrl, outputPaths, toRunLog, toRunSummary } from './run-log.mapper';
import { runObjectKeys, TaskStore } from '../../../../libs/runs/src';
import { newRunId, RunsService } from './runs.service';
import { SubmitLimits } from './submit-limits';
import { OBJECT_STORE } from '../../../../libs/platform/src';
import { ObjectStore, S3ObjectStore } from '../../../../libs/storage/src';

@Controller()
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly tasks: TaskStore,
    private readonly settings: WesSettings,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly limits: SubmitLimits,
    private readonly links: LinkSigner,
  ) {}

  /** RunWorkflow: multipart/form-data as the spec says, or a JSON RunRequest (no attachments). */
  @Post('runs')
  @HttpCode(200)
  async runWorkflow(@Req() req: FastifyRequest, @Body() body: unknown) {
    // Per-user limits first: the multipart body of a refused submit is not read, let alone
    // stored (a JSON body, without attachments, was parsed by Fastify within its body limit).
    await this.limits.admit(callerOf(req));
    const runId = newRunId();
    let raw: RawSubmission;
    if (req.isMultipart()) {
      try {
        raw = await readMultipartSubmission(req, runId, this.store, this.settings);
      } catch (err) {
        await this.runs.discardFiles(runId);
        throw err;
      }
    } else if (body && typeof body === 'object' && !Array.isArray(body)) {
      const fields = Object.fromEntries(RUN_REQUEST_FIELDS.filter((f) => f in body).map((f) => [f, (body as Record<string, unknown>)[f]]));
      raw = { fields, attachments: [] };
    } else {
      throw new BadRequestError('the request body must be multipart/form-data (or a JSON RunRequest object)');
    }
    return { run_id: await this.runs.submit(runId, raw, callerOf(req)) };
  }

  @Get('runs')
  async listRuns(
    @Req() req: FastifyRequest,
    @Query('page_size') pageSize?: string,
    @Query('page_token') pageToken?: string,
    @Query('state') state?: string | string[],
    @Query('tag') tag?: string | string[],
  ) {
    const size = parsePageSize(pageSize, this.settings.defaultPageSize, this.settings.maxPageSize);
    const after = decodePageToken(pageToken, (k) => this.runs.isRunId(k));
    const filter = parseRunFilter(state, tag);
    // An admin (everyone with authMode none) lists every run; a user, its own.
    const caller = callerOf(req);
    const page = await this.runs.page(size, after, caller.admin ? undefined : caller.owner, filter);
    return { runs: page.rows.map(toRunSummary), next_page_token: page.more ? encodePageToken(page.last) : '' };
  }

  @Get('runs/:run_id')
  async getRunLog(@Param('run_id') runId: string, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    // RunLog.task_logs is deprecated (clients are to page task_logs_url): null beyond 100 tasks.
    const [run, tasks] = await Promise.all([this.runs.get(runId), this.tasks.allUpTo(runId, 100)]);
    let urlOf: OutputUrl | undefined;
    if (this.settings.outputUrls === 'presigned' && this.store instanceof S3ObjectStore) {
      const store = this.store;
      const paths = [...new Set(outputPaths(run))];
      const urls = await Promise.all(
        paths.map((p) => store.presignedUrl(runObjectKeys.output(runId, p), this.settings.presignExpirySeconds, p.split('/').pop())),
      );
      const byPath = new Map(paths.map((p, i) => [p, urls[i]]));
      urlOf = (p) => byPath.get(p)!;
    }
    // Written by libs/json: params and outputs keep their numbers exactly as they came.
    reply.header('content-type', 'application/json; charset=utf-8');
    const base = wesBaseUrl(this.settings, req);
    return stringifyJson(toRunLog(run, base, tasks, await this.links.urls(base, runId), urlOf));
  }

  @Get('runs/:run_id/status')
  async getRunStatus(@Param('run_id') runId: string, @Req() req: FastifyRequest) {
    return { run_id: runId, state: await this.runs.status(runId, guardRunRead(req, runId)) };
  }

  /** DeleteRun (an extension of WES 1.1): a finished run and its files are removed; 409 for a run not finished. */
  @Delete('runs/:run_id')
  @HttpCode(200)
  async deleteRun(@Param('run_id') runId: string, @Req() req: FastifyRequest) {
    await this.runs.delete(runId, callerOf(req));
    return { run_id: runId };
  }

  @Post('runs/:run_id/cancel')
  @HttpCode(200)
  async cancelRun(@Param('run_id') runId: string, @Req() req: FastifyRequest) {
    await this.runs.cancel(runId, callerOf(req));
    return { run_id: runId };
  }
}
