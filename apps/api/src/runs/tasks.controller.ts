import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WesSettings } from '../../../../libs/config/src';
import { OBJECT_STORE } from '../../../../libs/platform/src';
import { isTaskId, runObjectKeys, RunState, StoredTask, TaskStore } from '../../../../libs/runs/src';
import { ObjectStore } from '../../../../libs/storage/src';
import { RunFileUrl, wesBaseUrl } from '../common/base-url';
import { guardRunRead } from '../auth/guard-run-read';
import { LinkSigner } from '../auth/link-signer';
import { SignedLinkRoute } from '../auth/signed-link.decorator';
import { decodePageToken, encodePageToken, parsePageSize } from '../common/pagination';
import { NotFoundError } from '../common/wes-errors';
import { LOG_CONTENT_TYPE, logStream, sendObject } from './object-response';
import { RunsService } from './runs.service';
import { toTaskLog } from './task-log.mapper';

/**
 * The tasks of a run (the jobs its engine ran, learnt by the worker as the engine runs): a
 * list in start order, paginated like the runs (a token is the last task id of a page, so it
 * stays valid while the list grows), one task, and what a task captured of its stdout/stderr.
 */
@Controller()
export class TasksController {
  constructor(
    private readonly runs: RunsService,
    private readonly tasks: TaskStore,
    private readonly settings: WesSettings,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly links: LinkSigner,
  ) {}

  @Get('runs/:run_id/tasks')
  async listTasks(
    @Param('run_id') runId: string,
    @Req() req: FastifyRequest,
    @Query('page_size') pageSize?: string,
    @Query('page_token') pageToken?: string,
  ) {
    const size = parsePageSize(pageSize, this.settings.defaultPageSize, this.settings.maxPageSize);
    const after = decodePageToken(pageToken, isTaskId);
    const state = await this.runs.status(runId, guardRunRead(req, runId));
    const page = await this.tasks.page(runId, size, after);
    const fileUrl = await this.fileUrl(req, runId);
    return { task_logs: page.tasks.map((t) => toTaskLog(t, fileUrl, state)), next_page_token: page.more ? encodePageToken(page.tasks.at(-1)?.id) : '' };
  }

  @Get('runs/:run_id/tasks/:task_id')
  async getTask(@Param('run_id') runId: string, @Param('task_id') taskId: string, @Req() req: FastifyRequest) {
    const { task, state } = await this.find(req, runId, taskId);
    return toTaskLog(task, await this.fileUrl(req, runId), state);
  }

  /** What a task captured of its stdout or stderr (the URLs of its TaskLog); a single Range is honoured. */
  @Get('runs/:run_id/tasks/:task_id/logs/:stream')
  @SignedLinkRoute()
  async taskLog(
    @Param('run_id') runId: string,
    @Param('task_id') taskId: string,
    @Param('stream') name: string,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const stream = logStream(name);
    const { task } = await this.find(req, runId, taskId);
    const key = runObjectKeys.taskLog(runId, task.attempt, task.id, stream);
    if (!task[stream] || !(await sendObject(this.store, req, reply, key, LOG_CONTENT_TYPE))) {
      throw new NotFoundError(`task ${taskId} of run ${runId} has no stored ${stream} (it captured none, has not ended, or it was too large)`);
    }
  }

  private async find(req: FastifyRequest, runId: string, taskId: string): Promise<{ task: StoredTask; state: RunState }> {
    const state = await this.runs.status(runId, guardRunRead(req, runId));
    const task = await this.tasks.get(runId, taskId);
    if (!task) throw new NotFoundError(`run ${runId} has no task "${taskId}"`);
    return { task, state };
  }

  private fileUrl(req: FastifyRequest, runId: string): Promise<RunFileUrl> {
    return this.links.urls(wesBaseUrl(this.settings, req), runId);
  }
}
