import { Inject, Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { WesSettings } from '../../../../libs/config/src';
import {
  AttachmentIndex,
  checkEngineParameters,
  CheckedEngineParameters,
  CwlValueTooDeepError,
  defaultEngines,
  EngineDefinition,
  engineNamed,
  ENGINES,
  InputReference,
  InvalidEngineParameterError,
  LanguageDefinition,
  languageOf,
  locationOf,
  supportedWorkflowTypes,
  WorkflowType,
  workflowTypeNamed,
} from '../../../../libs/engines/src';
import type { Logger } from '../../../../libs/logging/src';
import { LOGGER, OBJECT_STORE } from '../../../../libs/platform/src';
import { WesMetrics } from '../../../../libs/metrics/src';
import { DEFAULT_POOL, POOL_PARAMETER, PoolChoiceError, ReplicaAck, RunQueues, WorkerPools, WorkerRegistry } from '../../../../libs/queue/src';
import { ActiveRunLimitError, encodeRunRequest, RUN_ID_PATTERN, RunFilter, RunRecord, RunRequest, RunHead, runObjectKeys, RunState, RunStore, TrackedRunCache, WorkflowStateMachine } from '../../../../libs/runs/src';
import { RunDeleter } from '../../../../libs/recovery/src';
import { ObjectStore, safeRelativePath, UnsafePathError } from '../../../../libs/storage/src';
import type { DocumentSource } from '../../../../libs/workflow-allow-list/src';
import type { Caller } from '../auth/caller';
import { BadRequestError, ConflictError, NotFoundError, ServiceUnavailableError } from '../common/wes-errors';
import { RawSubmission } from './multipart-submission';
import { SubmitLimits } from './submit-limits';
import { WorkflowAllowList } from './workflow-allow-list';
import { WorkflowSources } from './workflow-sources';
import { parseRunRequest, stringMap } from './run-request.dto';

const RUN_ID = RUN_ID_PATTERN;

export function newRunId(): string {
  return uuidv7();
}

/**
 * The workflow of a zip named as workflow_url: its only top-level document of the language
 * (CWL: `*.cwl`), or among several the one with a usual name (CWL: main.cwl, workflow.cwl).
 */
function mainOfZip(zip: string, files: string[], language: LanguageDefinition): string {
  const { extensions, names } = language.mainDocument;
  const top = files.filter((f) => !f.includes('/') && extensions.some((e) => f.toLowerCase().endsWith(e)));
  if (top.length === 1) return top[0];
  const named = top.find((f) => names.includes(f.toLowerCase()));
  if (named) return named;
  const kind = `${language.type} file`;
  throw new BadRequestError(
    `workflow_url: ${zip} holds ${top.length ? `several top-level ${kind}s (${top.join(', ')})` : `no top-level ${kind}`}; ` +
      `name the workflow inside it as workflow_url (e.g. "tools/${names[names.length - 1]}") and attach only the zip`,
  );
}

/** The version as given when the type has it (Snakemake `7`), else with CWL's `v` (`1.2` → `v1.2`). */
function normaliseTypeVersion(version: string, versions: readonly string[]): string {
  const v = version.trim();
  return !versions.includes(v) && /^\d/.test(v) ? `v${v}` : v;
}

/** Validates and records submissions, reads runs, cancels them. Never runs a workflow. */
@Injectable()
export class RunsService {
  /** The engine of each workflow type when a run names none (WES_DEFAULT_ENGINES; checked at start-up). */
  private readonly defaultEngines: Record<WorkflowType, string>;

  constructor(
    private readonly settings: WesSettings,
    private readonly stateMachine: WorkflowStateMachine,
    private readonly runs: RunStore,
    private readonly workers: WorkerRegistry,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly queues: RunQueues,
    private readonly pools: WorkerPools,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly sources: WorkflowSources,
    private readonly limits: SubmitLimits,
    private readonly allowList: WorkflowAllowList,
    private readonly metrics: WesMetrics,
    private readonly replicaAck: ReplicaAck,
    private readonly deleter: RunDeleter,
    private readonly runCache: TrackedRunCache,
  ) {
    this.defaultEngines = defaultEngines(settings);
  }

  /** Checks a submission against what this server runs; throws BadRequestError naming the field. */
  async validate(
    runId: string,
    raw: RawSubmission,
  ): Promise<{ request: RunRequest; engine: string; pool: string; workflowPath: string; attachments: string[]; sources: ReadonlyMap<string, DocumentSource>; systemLogs: string[] }> {
    const dto = parseRunRequest(raw.fields);
    const types = supportedWorkflowTypes();
    const type = workflowTypeNamed(dto.workflow_type) ?? dto.workflow_type.trim().toUpperCase();
    if (!types[type]) {
      throw new BadRequestError(`workflow_type: "${dto.workflow_type}" is not supported (supported: ${Object.keys(types).join(', ')})`);
    }
    const typeVersion = normaliseTypeVersion(dto.workflow_type_version, types[type]);
    if (!types[type].includes(typeVersion)) {
      throw new BadRequestError(
        `workflow_type_version: "${dto.workflow_type_version}" is not supported for ${type} (supported: ${types[type].join(', ')})`,
      );
    }
    const language = languageOf(type);
    if (!language) throw new Error(`workflow type ${type} has engines but no language`);
    const engineName = dto.workflow_engine?.trim().toLowerCase() || this.defaultEngines[language.type as WorkflowType];
    const engine = engineNamed(engineName);
    if (!engine || !engine.workflowTypes[type]) {
      const names = (Object.values(ENGINES) as EngineDefinition[])
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
    // The pool is the server's parameter, not the engine's: taken out before the engine's are checked.
    const { [POOL_PARAMETER]: requestedPool, ...engineParameters } = stringMap('workflow_engine_parameters', dto.workflow_engine_parameters);
    let pool: string;
    try {
      pool = this.pools.choose(engineName, requestedPool);
    } catch (err) {
      if (!(err instanceof PoolChoiceError)) throw err;
      throw new BadRequestError(requestedPool === undefined ? `workflow_engine: ${err.message}` : `workflow_engine_parameters: ${POOL_PARAMETER}: ${err.message}`);
    }
    let checked: CheckedEngineParameters;
    try {
      checked = checkEngineParameters(engine, engineParameters);
    } catch (err) {
      if (err instanceof InvalidEngineParameterError) throw new BadRequestError(`workflow_engine_parameters: ${err.message}`);
      throw err;
    }
    const { workflow: workflowPath, attachments, sources } = await this.resolveWorkflow(runId, dto.workflow_url, raw.attachments, language);
    this.checkInputs(dto.workflow_params ?? {}, attachments, language);
    const paramsProblem = language.checkParams?.(dto.workflow_params ?? {});
    if (paramsProblem) throw new BadRequestError(`workflow_params: ${paramsProblem}`);
    const request: RunRequest = {
      workflow_params: dto.workflow_params ?? {},
      workflow_type: type,
      workflow_type_version: typeVersion,
      tags: stringMap('tags', dto.tags),
      workflow_engine_parameters: checked.parameters,
      workflow_url: dto.workflow_url,
    };
    if (dto.workflow_engine) request.workflow_engine = engineName;
    if (dto.workflow_engine_version) request.workflow_engine_version = dto.workflow_engine_version;
    const systemLogs = checked.ignored.map((name) => `ignored client-side engine parameter ${name}`);
    return { request, engine: engineName, pool, workflowPath, attachments, sources, systemLogs };
  }

  /**
   * Finds the run's workflow among its attachments, bringing it there first when it is
   * elsewhere: an http(s)/s3/file URL is fetched; a zip (named by workflow_url, or the only
   * attachment when workflow_url names a file inside it) is unpacked. A fragment such as
   * `#main` is kept for the engine. Returns the workflow's attachment name, the attachments,
   * and where those the server fetched came from.
   */
  private async resolveWorkflow(
    runId: string,
    url: string,
    attachments: string[],
    language: LanguageDefinition,
  ): Promise<{ workflow: string; attachments: string[]; sources: ReadonlyMap<string, DocumentSource> }> {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) {
      this.sources.checkUrl('workflow_url', url);
      const { main, stored, sources } = await this.sources.importUrl(runId, url, attachments, language);
      return { workflow: main, attachments: [...attachments, ...stored], sources };
    }
    const sources = new Map<string, DocumentSource>();
    const [path, fragment] = url.split('#', 2);
    let name: string;
    try {
      name = safeRelativePath(path);
    } catch (err) {
      throw new BadRequestError(`workflow_url: ${(err as UnsafePathError).message}`);
    }
    const withFragment = (n: string) => (fragment ? `${n}#${fragment}` : n);
    const zip = name.toLowerCase().endsWith('.zip') && attachments.includes(name) ? name : attachments.length === 1 && attachments[0].toLowerCase().endsWith('.zip') && !attachments.includes(name) ? attachments[0] : undefined;
    if (zip) {
      const others = attachments.filter((a) => a !== zip);
      const unpacked = await this.sources.unpackZip(runId, zip, others);
      await this.store.delete(runObjectKeys.attachment(runId, zip)).catch(() => undefined);
      const all = [...others, ...unpacked];
      if (zip !== name) {
        if (!unpacked.includes(name)) throw new BadRequestError(`workflow_url: "${name}" is neither an attachment nor a file in ${zip}`);
        return { workflow: withFragment(name), attachments: all, sources };
      }
      return { workflow: withFragment(mainOfZip(zip, unpacked, language)), attachments: all, sources };
    }
    if (!attachments.includes(name)) {
      const known = attachments.length ? attachments.join(', ') : 'none were sent';
      throw new BadRequestError(`workflow_url: "${url}" names no workflow_attachment (attachments: ${known})`);
    }
    return { workflow: withFragment(name), attachments, sources };
  }

  /**
   * Checks the File and Directory locations of workflow_params: each must name an attachment
   * (a folder of them for a Directory) — relatively, or as a client-machine file:// URL or
   * path ending with its name (AttachmentIndex) — or be a URL the workers may fetch.
   */
  private checkInputs(params: Record<string, unknown>, attachments: string[], language: LanguageDefinition): void {
    const index = new AttachmentIndex(attachments);
    try {
      language.files.forEach(params, (obj, where) => {
        const loc = locationOf(obj);
        if (loc !== undefined) this.checkInputLocation(index, loc, obj.class, where, attachments);
      });
    } catch (err) {
      if (err instanceof CwlValueTooDeepError) throw new BadRequestError(`workflow_params: ${err.message}`);
      throw err;
    }
  }

  private checkInputLocation(index: AttachmentIndex, loc: string, kind: 'File' | 'Directory', where: string, attachments: string[]): void {
    const field = `workflow_params: input ${where}`;
    let ref: InputReference;
    try {
      ref = index.resolve(loc, kind);
    } catch (err) {
      throw new BadRequestError(`${field}: ${(err as UnsafePathError).message}`);
    }
    if (ref.kind === 'attachment') return;
    if (ref.kind === 'missing') throw new BadRequestError(`${field}: "${loc}" names no ${kind === 'File' ? 'attachment' : 'folder of attachments'}`);
    if (kind === 'Directory' && /^https?:/i.test(ref.url)) {
      throw new BadRequestError(`${field}: a Directory cannot be listed over http(s): use s3://, file:// or a folder of attachments`);
    }
    const refused = this.sources.whyRefused(ref.url);
    if (refused === undefined) return;
    if (/^file:/i.test(ref.url)) {
      // Most likely a path on the client's machine whose file was not attached.
      const shown = attachments.slice(0, 20).join(', ') + (attachments.length > 20 ? ', ...' : '');
      const known = attachments.length ? `no attachment's name ends its path (attachments: ${shown})` : 'no file was attached';
      throw new BadRequestError(`${field}: "${loc}": ${known}, and it cannot be read on the server: ${refused}`);
    }
    throw new BadRequestError(`${field}: ${refused}`);
  }

  /** Records the run (atomically, in QUEUED) and queues its id. */
  async submit(runId: string, raw: RawSubmission, caller: Caller): Promise<string> {
    let validated;
    try {
      validated = await this.validate(runId, raw);
      // Once every document of the workflow is in the store (fetched, unpacked), before the run exists.
      await this.allowList.check(runId, validated, caller);
    } catch (err) {
      await this.discardFiles(runId);
      throw err;
    }
    const { request, engine, pool, workflowPath, attachments, systemLogs } = validated;
    const fields = {
      // The tags are stored on their own (the run list reads them), not twice.
      request: encodeRunRequest(request),
      ...(Object.keys(request.tags).length ? { tags: JSON.stringify(request.tags) } : {}),
      engine,
      // Not the default pool, the workflow when it is the workflow_url itself, nor the job when
      // its id is the run's: what RunStore and the pools read when they are absent (scenario 8).
      ...(pool !== DEFAULT_POOL ? { pool } : {}),
      ...(workflowPath !== request.workflow_url ? { workflow: workflowPath } : {}),
      attachments: JSON.stringify(attachments),
      // The owner goes in the same script as the run: its index entry cannot be missed.
      ...(caller.owner ? { owner: caller.owner } : {}),
    };
    let created: boolean;
    const written = this.replicaAck.mark();
    try {
      // The active-run limit again, atomically with the record: the last slot goes to one submit.
      created = await this.stateMachine.enqueue(runId, fields, Date.now(), systemLogs, { maxActiveRuns: this.limits.limitsOf(caller).maxActiveRuns });
    } catch (err) {
      if (!(err instanceof ActiveRunLimitError)) throw err;
      await this.discardFiles(runId);
      throw this.limits.refusal(err);
    }
    if (!created) throw new Error(`run id ${runId} already exists`);
    try {
      await this.queues.of(pool).enqueue(runId);
      // WES_REDIS_MIN_REPLICAS_ACK: a 200 promises a run a failover keeps; else it ends here.
      if (!(await this.replicaAck.confirm(written))) throw new Error(this.replicaAck.shortfall);
    } catch (err) {
      this.logger.error({ runId, err }, 'run recorded but could not be queued');
      await this.stateMachine.send(runId, 'system_error', { systemLogs: [`the run could not be queued: ${(err as Error).message}`] });
      throw new ServiceUnavailableError('the run could not be queued; try again');
    }
    this.metrics.inc('runsSubmitted', { engine });
    // Audit: who submitted what (never a credential).
    this.logger.info({ action: 'submit', user: caller.name, runId, engine, pool, workflow: request.workflow_url, attachments: attachments.length }, 'run queued');
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

  /** The run's state, 404 when there is none; `known`: the AuthGuard's read of it for this request (guardRunRead). */
  async status(runId: string, known?: RunHead): Promise<RunState> {
    const state = RUN_ID.test(runId) ? await this.runCache.state(runId, known) : null;
    if (!state) throw new NotFoundError(`no run with id "${runId}"`);
    return state;
  }

  /**
   * Cancels a run. A QUEUED run is CANCELED at once and its job removed; an INITIALIZING or
   * RUNNING one goes CANCELING and its worker is told. Cancelling a run that is already
   * cancelling or finished changes nothing and is not an error.
   */
  async cancel(runId: string, caller: Caller): Promise<void> {
    if (!RUN_ID.test(runId)) throw new NotFoundError(`no run with id "${runId}"`);
    const result = await this.stateMachine.send(runId, 'cancel');
    if (!result.applied) {
      if (result.state === null) throw new NotFoundError(`no run with id "${runId}"`);
      this.logger.info({ action: 'cancel', user: caller.name, runId, state: result.state }, 'cancel ignored: run already past it');
      return;
    }
    this.logger.info({ action: 'cancel', user: caller.name, runId, from: result.from, to: result.to }, 'cancel');
    if (result.to === 'CANCELED') {
      // A worker that took the job meanwhile finds the run CANCELED and leaves it.
      // The job is in the queue of the run's pool.
      const { jobId, pool } = await this.runs.jobOf(runId);
      try {
        await this.queues.of(pool).remove(jobId);
      } catch (err) {
        this.logger.warn({ runId, pool, err }, 'queued job not removed');
      }
    }
  }

  /**
   * Deletes a finished run: its Redis record and index entries, then its files (RunDeleter).
   * A run not finished is a 409 (cancel it first); none, a 404.
   */
  async delete(runId: string, caller: Caller): Promise<void> {
    if (!RUN_ID.test(runId)) throw new NotFoundError(`no run with id "${runId}"`);
    const outcome = await this.deleter.delete(runId, 'request', caller.name);
    if (outcome.deleted) return;
    if (outcome.state === null) throw new NotFoundError(`no run with id "${runId}"`);
    throw new ConflictError(`run ${runId} is ${outcome.state}: only a finished run can be deleted; cancel it first (POST /runs/${runId}/cancel)`);
  }

  /**
   * A page of runs: every run, or only `owner`'s; with conditions (states, tags), those that
   * meet them all (RunStore.listFiltered: the cost of a page, not of all runs).
   */
  async page(pageSize: number, after: string | undefined, owner: string | undefined, filter: Omit<RunFilter, 'owner'> = {}) {
    if (!filter.states?.length && !filter.tags?.length) return this.runs.listPage(pageSize, after, owner);
    return this.runs.listFiltered(pageSize, after, { ...filter, owner });
  }

  isRunId(value: string): boolean {
    return RUN_ID.test(value);
  }
}
