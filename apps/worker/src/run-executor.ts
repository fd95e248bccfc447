import { Inject, Injectable } from '@nestjs/common';
import { WesSettings } from '../../../libs/config/src';
import { EngineDefinition, engineNamed, engineOptions, EngineRunFiles, EngineRunRequest, EngineView, languageOf, runFolders, SandboxSettings } from '../../../libs/engines/src';
import type { Logger } from '../../../libs/logging/src';
import { UrlFetcher } from '../../../libs/fetch/src';
import { WesMetrics } from '../../../libs/metrics/src';
import { LOGGER, OBJECT_STORE } from '../../../libs/platform/src';
import { ReplicaAck, WorkerPools } from '../../../libs/queue/src';
import { RunRecovery } from '../../../libs/recovery/src';
import { HELD_STATES, RunStore, TaskStore, WorkflowStateMachine } from '../../../libs/runs/src';
import { ObjectStore, resolveInside } from '../../../libs/storage/src';
import { sandboxSettingsOf } from './engine-sandbox';
import { InputUnavailableError } from './input-stager';
import { ClaimStep } from './run-steps/claim-step';
import { CollectStep } from './run-steps/collect-step';
import { engineRunFiles, ExecuteStep } from './run-steps/execute-step';
import { ExecutionResult, HeldAttempt, InterruptReason, reasonOf, RunInterrupted } from './run-steps/run-attempt';
import { SettleStep } from './run-steps/settle-step';
import { StageStep } from './run-steps/stage-step';
import { RunMetrics } from './run-metrics';
import { WORKER_ID } from './worker-identity';

export type { ExecutionResult, InterruptReason } from './run-steps/run-attempt';

/** One execution of a run on this worker. */
interface Execution {
  /** Settles with the attempt it claimed, or undefined once it is known to have claimed none. */
  claimed: Promise<number | undefined>;
  done: Promise<ExecutionResult>;
}

/**
 * Executes one run, step by step (run-steps/, as ARCHITECTURE.md tells a run's path): claim
 * (QUEUED → INITIALIZING), stage (scratch folder, attachments, inputs, params file), execute
 * (RUNNING: the engine in its sandbox and process group), collect (outputs, when it exited 0),
 * settle (complete, executor_error or system_error, on this attempt). An interruption stops
 * the engine's whole group first: a cancel (BullMQ's abort signal, fed by the cancel broadcast,
 * or the durable mark found by polling) ends the run CANCELED; a shutdown past the drain time
 * hands it back to the queue or cancels it (shutdownPolicy); losing the run to another worker
 * leaves its state to that worker.
 */
@Injectable()
export class RunExecutor {
  /** Runs this worker holds, with the controller that interrupts each. */
  private readonly active = new Map<string, AbortController>();
  /** The execution of each run this worker holds (a second delivery looks at it first). */
  private readonly finishing = new Map<string, Execution>();
  private readonly sandbox: SandboxSettings;
  private readonly claimStep: ClaimStep;
  private readonly stageStep: StageStep;
  private readonly executeStep: ExecuteStep;
  private readonly collectStep: CollectStep;
  private readonly settleStep: SettleStep;
  private readonly metrics: RunMetrics;
  /** The engines this worker runs (undefined until WorkerHost has detected them). */
  private runnableEngines?: ReadonlySet<string>;

  constructor(
    private readonly settings: WesSettings,
    stateMachine: WorkflowStateMachine,
    private readonly runs: RunStore,
    tasks: TaskStore,
    recovery: RunRecovery,
    fetcher: UrlFetcher,
    @Inject(OBJECT_STORE) store: ObjectStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(WORKER_ID) private readonly workerId: string,
    private readonly pools: WorkerPools,
    metrics: WesMetrics,
    replicaAck: ReplicaAck,
  ) {
    this.sandbox = sandboxSettingsOf(settings);
    this.metrics = new RunMetrics(metrics, runs);
    this.claimStep = new ClaimStep(stateMachine, runs, recovery, workerId, replicaAck);
    this.stageStep = new StageStep(settings.workDir, store, fetcher, this.sandbox);
    this.executeStep = new ExecuteStep(settings, stateMachine, runs, tasks, store, this.sandbox, this.metrics);
    this.collectStep = new CollectStep(store);
    this.settleStep = new SettleStep(settings, stateMachine, workerId, this.metrics, replicaAck);
  }

  get activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  holds(runId: string): boolean {
    return this.active.has(runId);
  }

  /** Interrupts a run this worker holds; false when it holds no such run. */
  interrupt(runId: string, reason: InterruptReason): boolean {
    const controller = this.active.get(runId);
    if (!controller) return false;
    controller.abort(reason);
    return true;
  }

  async execute(runId: string, abort: AbortSignal): Promise<ExecutionResult> {
    const log = this.logger.child({ runId });
    const earlier = this.finishing.get(runId);
    if (earlier) {
      // BullMQ handed this worker the job again (its lock lapsed during a pause, and this
      // worker's other slot took it) while the earlier execution still runs.
      const attempt = await this.attemptStillHeld(runId, earlier);
      if (attempt !== undefined) {
        // The same attempt, still this worker's: the earlier execution owns the run and ends it
        // through the state machine. This delivery frees its slot at once rather than hold it
        // for the whole run (the job is done with; the earlier execution's own completion of it
        // then finds its lock gone, which the queue worker logs as a warning: isJobLockLost).
        log.warn({ attempt }, 'job delivered again while this worker still runs the same attempt: answered as done, the earlier execution owns the run');
        return 'done';
      }
      // The run moved on (another attempt is queued) while the earlier execution winds down:
      // let that finish, so that the two never share the run's folder, then take the run as usual.
      log.warn('job delivered again while this worker still winds down an earlier attempt: waiting for the earlier execution');
      await earlier.done.catch(() => undefined);
    }
    const controller = new AbortController();
    this.active.set(runId, controller);
    const onAbort = () => controller.abort(abort.reason === 'shutdown' ? 'shutdown' : 'cancel');
    abort.addEventListener('abort', onAbort, { once: true });
    let claimed!: (attempt: number | undefined) => void;
    const claimedAttempt = new Promise<number | undefined>((resolve) => (claimed = resolve));
    const done = this.claimAndRun(runId, controller.signal, log, claimed).finally(() => claimed(undefined));
    const execution: Execution = { claimed: claimedAttempt, done };
    this.finishing.set(runId, execution);
    try {
      return await execution.done;
    } finally {
      abort.removeEventListener('abort', onAbort);
      if (this.finishing.get(runId) === execution) {
        this.finishing.delete(runId);
        this.active.delete(runId);
      }
    }
  }

  /**
   * The attempt the earlier execution of a run claimed, if the run record still shows it held by
   * this worker on that attempt (undefined: it claimed nothing, has ended, or the run moved on).
   */
  private async attemptStillHeld(runId: string, earlier: Execution): Promise<number | undefined> {
    const attempt = await earlier.claimed;
    if (attempt === undefined) return undefined;
    const [h] = await this.runs.holders([runId]);
    const held = h && (HELD_STATES as readonly string[]).includes(h.state) && h.attempt === attempt && h.worker === this.workerId;
    return held && this.finishing.get(runId) === earlier ? attempt : undefined;
  }

  /**
   * The engines this worker detected at start (WorkerHost sets them before taking jobs); until
   * then, any engine is taken as runnable.
   */
  setRunnableEngines(engines: readonly string[]): void {
    this.runnableEngines = new Set(engines);
  }

  /** The steps of one run, in order; whatever happens, the run is settled and its scratch folder removed. */
  private async claimAndRun(runId: string, signal: AbortSignal, log: Logger, claimed: (attempt: number | undefined) => void): Promise<ExecutionResult> {
    const engineName = this.runnableEngines && (await this.runs.engineOf(runId));
    if (engineName && !this.runnableEngines?.has(engineName)) {
      // A pool whose workers differ (the implicit default pool runs every engine some worker has):
      // leave the run QUEUED for a worker that has its engine. Its job waits delayed (the queue's
      // pass-on), so that a pool with no such worker does not spin, and without holding this
      // worker's slot: while a slot slept on it, the job could be delivered again to the other
      // slot, and two slots passing one job to each other starved every other run.
      log.info({ engine: engineName }, 'run for an engine this worker does not run: handed back');
      return 'pass-on';
    }
    const run = await this.claimStep.claim(runId, log);
    claimed(run?.attempt);
    if (!run) return 'done';
    this.metrics.claimed(runId, run.engine);
    const at: HeldAttempt = { runId, attempt: run.attempt, engine: run.engine, log };
    const watch = this.watchDurableMarks(runId, run.attempt);
    let scratch: string | undefined;
    let engine: EngineDefinition | undefined;
    let engineFiles: EngineRunFiles | undefined;
    let engineRun: EngineRunRequest | undefined;
    let failed = false;
    try {
      scratch = this.stageStep.makeScratch(run.runId);
      const view = new EngineView(runFolders(scratch), this.sandbox.kind !== 'none');
      const language = languageOf(run.request.workflow_type);
      if (!language) throw new Error(`no language for workflow type ${run.request.workflow_type}`);
      await this.stageStep.stage(run, language, view, signal);
      engine = engineNamed(run.engine);
      if (!engine) throw new Error(`unknown engine ${run.engine}`);
      engineRun = {
        params: run.request.workflow_params,
        // The worker's options for the engine, and over them those of the run's pool.
        options: { ...engineOptions(engine, this.settings), ...this.pools.ofRun(run.pool)?.engineOptions[engine.name] },
        workflowFile: resolveInside(view.folders.attachments, run.workflow.split('#', 1)[0]),
      };
      // Known before the engine starts: an interrupted run is cleaned up too.
      engineFiles = engineRunFiles(engine, view);
      const ran = await this.executeStep.execute(run, engine, engineRun, at, view, signal);
      const ending = ran.failed ?? (await this.collectStep.collect(runId, engine, engineRun, language, ran.files, view));
      await this.settleStep.end(at, ending);
      return 'done';
    } catch (err) {
      failed = true;
      if (err instanceof RunInterrupted || signal.aborted) {
        const reason = err instanceof RunInterrupted ? err.reason : reasonOf(signal);
        const note = err instanceof RunInterrupted ? err.note : 'before the engine started';
        return await this.settleStep.afterInterrupt(at, reason, note);
      }
      if (err instanceof InputUnavailableError) {
        log.info({ err: err.message }, 'input unavailable');
        await this.settleStep.end(at, { message: 'executor_error', options: { systemLogs: [`${err.message} (the run's inputs could not be staged)`] } });
        return 'done';
      }
      log.error({ err }, 'system error');
      await this.settleStep.end(at, { message: 'system_error', options: { systemLogs: [`system error on worker ${this.workerId}: ${(err as Error).message}`] } });
      return 'done';
    } finally {
      watch.stop();
      this.metrics.released(runId, log);
      if (engine?.cleanUp && engineFiles && engineRun) await engine.cleanUp(engineFiles, engineRun).catch((err) => log.warn({ err }, 'engine clean-up failed'));
      if (scratch && !(this.settings.keepWorkDirs && failed)) {
        await this.stageStep.removeScratch(scratch).catch((err) => log.warn({ err, scratch }, 'scratch not removed'));
      }
    }
  }

  /**
   * Polls what a missed broadcast would have said: the durable cancel mark, and the attempt
   * number (if it moved on, another worker owns the run now).
   */
  private watchDurableMarks(runId: string, attempt: number) {
    const timer = setInterval(() => {
      this.runs
        .holders([runId])
        .then(([h]) => {
          const held = h && (HELD_STATES as readonly string[]).includes(h.state);
          if (!h || !held || h.attempt !== attempt || h.worker !== this.workerId) this.interrupt(runId, 'superseded');
          else if (h.cancelRequestedAt !== undefined && !this.active.get(runId)?.signal.aborted) {
            this.logger.info({ runId }, 'cancel mark found by polling (its broadcast was missed)');
            this.interrupt(runId, 'cancel');
          }
        })
        .catch(() => undefined);
    }, this.settings.cancelPollMs);
    return { stop: () => clearInterval(timer) };
  }
}
