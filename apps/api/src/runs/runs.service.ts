import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { v7 as uuidv7 } from 'uuid';
import { WesSettings } from '../../../../libs/config/src';
import {
  checkEngineParameters,
  DEFAULT_ENGINE_FOR_TYPE,
  ENGINES,
  InvalidEngineParameterError,
  supportedWorkflowTypes,
} from '../../../../libs/engines/src';
import type { Logger } from '../../../../libs/logging/src';
import { LOGGER, OBJECT_STORE, RUN_QUEUE } from '../../../../libs/platform/src';
import { RUN_JOB_NAME, RUN_JOB_OPTIONS, RunJobData, WorkerRegistry } from '../../../../libs/queue/src';
import { RunRecord, RunRequest, runObjectKeys, RunState, RunStore, WorkflowStateMachine } from '../../../../libs/runs/src';
import { ObjectStore, safeRelativePath, UnsafePathError } from '../../../../libs/storage/src';
import { BadRequestError, NotFoundError, ServiceUnavailableError } from '../common/wes-errors';
import { RawSubmission } from './multipart-submission';
import { parseRunRequest, stringMap } from './run-request.dto';


/** Run ids are UUIDv7: time-ordered, so the run index sorts by age. */
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function newRunId(): string {
  return uuidv7();
}

function normaliseTypeVersion(version: string): string {
  const v = version.trim();
  return /^\d/.test(v) ? `v${v}` : v;
}

/** Validates and records submissions, reads runs, cancels them. Never runs a workflow. */
@Injectable()
export class RunsService {
  constructor(
    private readonly settings: WesSettings,
    private readonly stateMachine: WorkflowStateMachine,
    private readonly runs: RunStore,
    private readonly workers: WorkerRegistry,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(RUN_QUEUE) private readonly queue: Queue<RunJobData>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Checks a submission against what this server runs; throws BadRequestError naming the field. */
  async validate(raw: RawSubmission): Promise<{ request: RunRequest; engine: string; workflowPath: string }> {
    const dto = parseRunRequest(raw.fields);
    const types = supportedWorkflowTypes();
    const type = dto.workflow_type.trim().toUpperCase();
    if (!types[type]) {
      throw new BadRequestError(`workflow_type: "${dto.workflow_type}" is not supported (supported: ${Object.keys(types).join(', ')})`);
    }
    const typeVersion = normaliseTypeVersion(dto.workflow_type_version);
    if (!types[type].includes(typeVersion)) {
      throw new BadRequestError(
        `workflow_type_version: "${dto.workflow_type_version}" is not supported for ${type} (supported: ${types[type].join(', ')})`,
      );
    }
    const engineName = dto.workflow_engine?.trim().toLowerCase() || DEFAULT_ENGINE_FOR_TYPE[type];
    const engine = ENGINES[engineName];
    if (!engine || !engine.workflowTypes[type]) {
      const names = Object.values(ENGINES)
        .filter((e) => e.workflowTypes[type])
        .map((e) => e.name);
      throw new BadRequestError(`workflow_engine: "${dto.workflow_engine}" does not run ${type} here (available: ${names.join(', ')})`);
    }
    if (dto.workflow_engine_version) {
      const versions = (await this.workers.engineVersions())[engineName];
      if (versions && !versions.includes(dto.workflow_engine_version)) {
        throw new BadRequestError(
          `workflow_engine_version: ${engineName} "${dto.workflow_engine_version}" is not available (available: ${versions.join(', ')})`,
        );
      }
    }
    let parameters: Record<string, string>;
    try {
      parameters = checkEngineParameters(engine, stringMap('workflow_engine_parameters', dto.workflow_engine_parameters));
    } catch (err) {
      if (err instanceof InvalidEngineParameterError) throw new BadRequestError(`workflow_engine_parameters: ${err.message}`);
      throw err;
    }
    const workflowPath = this.resolveWorkflowUrl(dto.workflow_url, raw.attachments);
    const request: RunRequest = {
      workflow_params: dto.workflow_params ?? {},
      workflow_type: type,
      workflow_type_version: typeVersion,
      tags: stringMap('tags', dto.tags),
      workflow_engine_parameters: parameters,
      workflow_url: dto.workflow_url,
    };
    if (dto.workflow_engine) request.workflow_engine = engineName;
    if (dto.workflow_engine_version) request.workflow_engine_version = dto.workflow_engine_version;
    return { request, engine: engineName, workflowPath };
  }

  /**
   * The attachment a workflow_url names (a fragment such as `#main` is kept for the engine).
   * Fetching absolute URLs is not supported yet: their scheme is refused by name.
   */
  private resolveWorkflowUrl(url: string, attachments: string[]): string {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
    if (scheme) {
      throw new BadRequestError(
        `workflow_url: the "${scheme}" scheme is not supported; attach the workflow and give its attachment name as workflow_url`,
      );
    }
    const [path, fragment] = url.split('#', 2);
    let name: string;
    try {
      name = safeRelativePath(path);
    } catch (err) {
      throw new BadRequestError(`workflow_url: ${(err as UnsafePathError).message}`);
    }
    if (!attachments.includes(name)) {
      const known = attachments.length ? attachments.join(', ') : 'none were sent';
      throw new BadRequestError(`workflow_url: "${url}" names no workflow_attachment (attachments: ${known})`);
    }
    return fragment ? `${name}#${fragment}` : name;
  }

  /** Records the run (atomically, in QUEUED) and queues its id. */
  async submit(runId: string, raw: RawSubmission): Promise<string> {
    let validated;
    try {
      validated = await this.validate(raw);
    } catch (err) {
      await this.discardFiles(runId);
      throw err;
    }
    const { request, engine, workflowPath } = validated;
    const created = await this.stateMachine.enqueue(runId, {
      request: JSON.stringify(request),
      tags: JSON.stringify(request.tags),
      engine,
      workflow: workflowPath,
      attachments: JSON.stringify(raw.attachments),
    });
    if (!created) throw new Error(`run id ${runId} already exists`);
    try {
      await this.queue.add(RUN_JOB_NAME, { runId }, { ...RUN_JOB_OPTIONS, jobId: runId });
    } catch (err) {
      this.logger.error({ runId, err }, 'run recorded but could not be queued');
      await this.stateMachine.send(runId, 'system_error', { systemLogs: [`the run could not be queued: ${(err as Error).message}`] });
      throw new ServiceUnavailableError('the run could not be queued; try again');
    }
    this.logger.info({ runId, engine, workflow: request.workflow_url, attachments: raw.attachments.length }, 'run queued');
    return runId;
  }

  async discardFiles(runId: string): Promise<void> {
    await this.store.deletePrefix(runObjectKeys.run(runId)).catch((err) => this.logger.warn({ runId, err }, 'cleanup failed'));
  }

  async get(runId: string): Promise<RunRecord> {
    const run = RUN_ID.test(runId) ? await this.runs.get(runId) : null;
    if (!run) throw new NotFoundError(`no run with id "${runId}"`);
    return run;
  }

  async status(runId: string): Promise<RunState> {
    const state = RUN_ID.test(runId) ? await this.stateMachine.getState(runId) : null;
    if (!state) throw new NotFoundError(`no run with id "${runId}"`);
    return state;
  }

  /**
   * Cancels a run. A QUEUED run is CANCELED at once and its job removed; an INITIALIZING or
   * RUNNING one goes CANCELING and its worker is told. Cancelling a run that is already
   * cancelling or finished changes nothing and is not an error.
   */
  async cancel(runId: string): Promise<void> {
    if (!RUN_ID.test(runId)) throw new NotFoundError(`no run with id "${runId}"`);
    const result = await this.stateMachine.send(runId, 'cancel');
    if (!result.applied) {
      if (result.state === null) throw new NotFoundError(`no run with id "${runId}"`);
      this.logger.info({ runId, state: result.state }, 'cancel ignored: run already past it');
      return;
    }
    this.logger.info({ runId, from: result.from, to: result.to }, 'cancel');
    if (result.to === 'CANCELED') {
      // A worker that took the job meanwhile finds the run CANCELED and leaves it.
      await this.queue.remove(runId).catch((err) => this.logger.warn({ runId, err }, 'queued job not removed'));
    }
  }

  async page(pageSize: number, after?: string) {
    return this.runs.listPage(pageSize, after);
  }

  isRunId(value: string): boolean {
    return RUN_ID.test(value);
  }
}
