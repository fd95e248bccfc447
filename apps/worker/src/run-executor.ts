import { Inject, Injectable } from '@nestjs/common';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { hostname } from 'node:os';
import path from 'node:path';
import { WesSettings } from '../../../libs/config/src';
import { EngineName, engineExecutable, engineNamed, EngineView, languageOf, groupMembers, launchEngine, runFolders, RunningEngine, SandboxSettings, signalGroup, stopGroup } from '../../../libs/engines/src';
import { JsonTooDeepError, stringifyJson } from '../../../libs/json/src';
import type { Logger } from '../../../libs/logging/src';
import { UrlFetcher } from '../../../libs/fetch/src';
import { LOGGER, OBJECT_STORE } from '../../../libs/platform/src';
import { RunRecovery } from '../../../libs/recovery/src';
import { encodeCommand, RunRecord, runObjectKeys, RunStore, TaskStore, TransitionOptions, WorkflowStateMachine } from '../../../libs/runs/src';
import { downloadToFile, ObjectStore, resolveInside } from '../../../libs/storage/src';
import { InputUnavailableError, stageInputs } from './input-stager';
import { LogShipper } from './log-shipper';
import { prepareSandbox, sandboxed, sandboxSettingsOf } from './engine-sandbox';
import { collectOutputs, UnusableOutputError } from './output-collector';
import { trackTasks } from './task-tracker';
import { WORKER_ID } from './worker-identity';

/** Why a run was interrupted while this worker held it. */
export type InterruptReason =
  /** The client cancelled it. */
  | 'cancel'
  /** This worker is shutting down and its drain time is over. */
  | 'shutdown'
  /** Another worker took the run over (this worker had lost its job lock). */
  | 'superseded';

/** Thrown inside a run's execution when it is interrupted; `note` says how the engine was stopped. */
class RunInterrupted extends Error {
  constructor(
    readonly reason: InterruptReason,
    readonly note: string,
  ) {
    super(note);
  }
}

/** The attempt of a run this worker holds: every message it sends names it. */
interface Held {
  runId: string;
  attempt: number;
  log: Logger;
}

/** What became of a job: done with (whatever the run's state), or to be handed back to the queue. */
export type ExecutionResult = 'done' | 'hand-back';

/** Name of the params file written at the root of the attachments (made unique if taken). */
function paramsFileName(attachments: string[]): string {
  let name = 'wes-params.json';
  for (let i = 1; attachments.includes(name); i++) name = `wes-params-${i}.json`;
  return name;
}

/** How often a running engine's new log lines are shipped to the object store. */
const LIVE_LOG_INTERVAL_MS = 1000;

const reasonOf = (signal: AbortSignal): InterruptReason =>
  signal.reason === 'shutdown' || signal.reason === 'superseded' ? signal.reason : 'cancel';

/**
 * Executes one run: initialize (stage attachments and params into a private scratch folder),
 * run (the engine in its own process group), then complete, executor_error or system_error.
 * An interruption stops the engine's whole group first: a cancel (BullMQ's abort signal, fed by
 * the cancel broadcast, or the durable mark found by polling) ends the run CANCELED; a shutdown
 * past the drain time hands it back to the queue or cancels it (shutdownPolicy); losing the run
 * to another worker leaves its state to that worker.
 */
@Injectable()
export class RunExecutor {
  private readonly host = hostname();
  /** Runs this worker holds, with the controller that interrupts each. */
  private readonly active = new Map<string, AbortController>();
  /** The execution of each run this worker holds (a second delivery waits for the first). */
  private readonly finishing = new Map<string, Promise<ExecutionResult>>();
  private readonly sandbox: SandboxSettings;

  constructor(
    private readonly settings: WesSettings,
    private readonly stateMachine: WorkflowStateMachine,
    private readonly runs: RunStore,
    private readonly tasks: TaskStore,
    private readonly recovery: RunRecovery,
    private readonly fetcher: UrlFetcher,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(WORKER_ID) private readonly workerId: string,
  ) {
    this.sandbox = sandboxSettingsOf(settings);
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
      // BullMQ handed this worker the job again (its lock lapsed during a pause) while the
      // earlier execution is still winding down: let that finish, then take the run as usual.
      log.warn('job delivered again while this worker still runs it: waiting for the earlier execution');
      await earlier.catch(() => undefined);
    }
    const controller = new AbortController();
    this.active.set(runId, controller);
    const onAbort = () => controller.abort(abort.reason === 'shutdown' ? 'shutdown' : 'cancel');
    abort.addEventListener('abort', onAbort, { once: true });
    const execution = this.claimAndRun(runId, controller.signal, log);
    this.finishing.set(runId, execution);
    try {
      return await execution;
    } finally {
      abort.removeEventListener('abort', onAbort);
      if (this.finishing.get(runId) === execution) {
        this.finishing.delete(runId);
        this.active.delete(runId);
      }
    }
  }

  private async claimAndRun(runId: string, signal: AbortSignal, log: Logger): Promise<ExecutionResult> {
    const holder = { worker: this.workerId, host: this.host, wpid: String(process.pid) };
    let init = await this.stateMachine.send(runId, 'initialize', { fields: holder });
    if (!init.applied && init.state && ['INITIALIZING', 'RUNNING', 'CANCELING'].includes(init.state)) {
      // The job came back after its lock lapsed. If the worker that held the run is lost, settle
      // the run and take it; if it is alive (e.g. Redis was away longer than the lock), it still
      // runs it and will end it: this job is dropped rather than running the workflow twice.
      const [run] = await this.runs.holders([runId]);
      if (run && (await this.recovery.holderLost(run))) {
        await this.recovery.settleLostRun(run, `worker ${run.worker ?? '(none)'} stopped renewing the job's lock`);
        init = await this.stateMachine.send(runId, 'initialize', { fields: holder });
      } else if (run) {
        log.warn({ holder: run.worker, state: run.state }, 'job redelivered while its run is held by a live worker: dropped');
      }
    }
    if (!init.applied) {
      log.info({ state: init.state }, 'job skipped: run is not QUEUED');
      return 'done';
    }
    const run = await this.runs.get(runId);
    if (!run) throw new Error(`run ${runId} disappeared after initialize`);
    log.info({ attempt: run.attempt }, 'initializing');
    const at: Held = { runId, attempt: run.attempt, log };
    const watch = this.watchDurableMarks(runId, run.attempt);
    let scratch: string | undefined;
    let failed = false;
    try {
      scratch = await this.makeScratch(run.runId);
      const view = new EngineView(runFolders(scratch), this.sandbox.kind !== 'none');
      await this.prepareScratch(run, view, signal);
      await this.runEngine(run, at, view, signal);
      return 'done';
    } catch (err) {
      failed = true;
      if (err instanceof RunInterrupted || signal.aborted) {
        const reason = err instanceof RunInterrupted ? err.reason : reasonOf(signal);
        const note = err instanceof RunInterrupted ? err.note : 'before the engine started';
        return await this.afterInterrupt(at, reason, note);
      }
      if (err instanceof InputUnavailableError) {
        log.info({ err: err.message }, 'input unavailable');
        await this.end(at, 'executor_error', { systemLogs: [`${err.message} (the run's inputs could not be staged)`] });
        return 'done';
      }
      log.error({ err }, 'system error');
      await this.end(at, 'system_error', { systemLogs: [`system error on worker ${this.workerId}: ${(err as Error).message}`] });
      return 'done';
    } finally {
      watch.stop();
      if (scratch && !(this.settings.keepWorkDirs && failed)) {
        await rm(scratch, { recursive: true, force: true }).catch((err) => log.warn({ err, scratch }, 'scratch not removed'));
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
          const held = h && ['INITIALIZING', 'RUNNING', 'CANCELING'].includes(h.state);
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

  /** A new scratch folder under the work folder (made, or made again, only when it is missing). */
  private async makeScratch(runId: string): Promise<string> {
    const prefix = path.join(path.resolve(this.settings.workDir), `${runId}-`);
    try {
      return await mkdtemp(prefix);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(this.settings.workDir, { recursive: true });
      return mkdtemp(prefix);
    }
  }

  /**
   * Fills the run's scratch folder: attachments (sub-folders kept), inputs fetched from URLs, the
   * params file (its locations as the engine sees them), output and tmp folders, and what the
   * sandbox needs.
   */
  private async prepareScratch(run: RunRecord, view: EngineView, signal: AbortSignal): Promise<void> {
    const { folders } = view;
    const inputs = folders.attachments;
    await Promise.all([folders.attachments, folders.inputs, folders.outputs, folders.tmp, path.join(folders.root, 'logs')].map((d) => mkdir(d)));
    for (const name of run.attachments) {
      if (signal.aborted) throw new RunInterrupted(reasonOf(signal), 'while its inputs were being staged');
      await downloadToFile(this.store, runObjectKeys.attachment(run.runId, name), resolveInside(inputs, name), signal).catch((err) => {
        throw signal.aborted ? new RunInterrupted(reasonOf(signal), 'while its inputs were being staged') : err;
      });
    }
    const staging = { attachmentsDir: inputs, attachments: run.attachments, inputsDir: folders.inputs, toEngine: (p: string) => view.toEngine(p) };
    const language = languageOf(run.request.workflow_type);
    if (!language) throw new Error(`no language for workflow type ${run.request.workflow_type}`);
    const { params } = await stageInputs(language.files, run.request.workflow_params, staging, this.fetcher, signal).catch((err) => {
      throw signal.aborted ? new RunInterrupted(reasonOf(signal), 'while its inputs were being staged') : err;
    });
    await writeFile(path.join(inputs, paramsFileName(run.attachments)), stringifyJson(params, 2));
    await prepareSandbox(folders, this.sandbox);
  }

  private async runEngine(run: RunRecord, at: Held, view: EngineView, signal: AbortSignal): Promise<void> {
    const { runId } = run;
    const { log } = at;
    const { folders } = view;
    const scratch = folders.root;
    const engine = engineNamed(run.engine);
    if (!engine) throw new Error(`unknown engine ${run.engine}`);
    const language = languageOf(run.request.workflow_type);
    if (!language) throw new Error(`no language for workflow type ${run.request.workflow_type}`);
    if (signal.aborted) throw new RunInterrupted(reasonOf(signal), 'before the engine started');
    const [workflowFile, fragment] = run.workflow.split('#', 2);
    // Paths as the engine sees them: under /wes in a sandbox.
    const command = engine.command(engineExecutable(engine.name as EngineName, this.settings), {
      workflowPath: view.toEngine(resolveInside(folders.attachments, workflowFile)) + (fragment ? `#${fragment}` : ''),
      paramsPath: view.toEngine(path.join(folders.attachments, paramsFileName(run.attachments))),
      outDir: view.toEngine(folders.outputs),
      tmpDir: view.toEngine(folders.tmp),
      parameters: run.request.workflow_engine_parameters,
    });
    const cmd = [command.file, ...command.args];
    const launch = sandboxed(command, folders, this.sandbox, engine.environment);
    const started = await this.stateMachine.send(runId, 'run', { fields: { cmd: encodeCommand(cmd, view.root) }, attempt: at.attempt });
    if (!started.applied) {
      if (started.state === 'CANCELING' && !started.stale) throw new RunInterrupted('cancel', 'before the engine started');
      throw new RunInterrupted('superseded', `the run left INITIALIZING (now ${started.state})`);
    }
    const stdoutFile = path.join(scratch, 'logs', 'stdout');
    const stderrFile = path.join(scratch, 'logs', 'stderr');
    const stopSignal = this.settings.cancelSignal ?? engine.stopSignal;
    const engineProcess = launchEngine(launch.command, {
      cwd: scratch,
      env: launch.env,
      stdoutFile,
      stderrFile,
      parentDeathSignal: stopSignal,
      killAfterMs: Math.max(this.settings.cancelGraceMs, engine.minStopGraceMs),
    });
    if (engineProcess.pid > 0) await this.runs.setFields(runId, { pgid: String(engineProcess.pid) });
    log.info({ pid: engineProcess.pid, cmd }, 'engine started');
    const tasks = trackTasks(
      engine,
      { runId, attempt: at.attempt, stderrFile, scratchDir: scratch, toHostPath: (p) => view.toHost(p), tasks: this.tasks, store: this.store, maxLogBytes: this.settings.taskLogMaxBytes, log },
      engineProcess.exited,
      signal,
    );

    const shipper = new LogShipper(this.store, runId, { stdout: stdoutFile, stderr: stderrFile }, LIVE_LOG_INTERVAL_MS, log);
    shipper.start();
    const stopped = this.stopOnInterrupt(engineProcess, stopSignal, Math.max(this.settings.cancelGraceMs, engine.minStopGraceMs), signal, log);
    const exit = await engineProcess.exited;
    // Whatever the engine left behind in its group goes with it.
    if (!signal.aborted && engineProcess.pid > 0 && (await groupMembers(engineProcess.pid)).length > 0) {
      signalGroup(engineProcess.pid, 'SIGKILL');
    }
    await shipper.finish().catch((err) => log.warn({ err }, 'logs not stored'));
    // A client that sees the run end sees its final tasks.
    await tasks.done;
    if (signal.aborted) throw new RunInterrupted(reasonOf(signal), await stopped);
    log.info({ exit }, 'engine exited');
    if (exit.spawnError) {
      await this.end(at, 'system_error', { systemLogs: [`the engine could not be started: ${exit.spawnError}`] });
      return;
    }
    if (exit.exitCode !== 0) {
      const why = exit.signal ? `the engine was killed by ${exit.signal}` : `the engine exited with code ${exit.exitCode}`;
      // Killed by a signal: 128 + its number, as a shell reports it (clients exit with exit_code).
      const signalled = exit.signal ? os.constants.signals[exit.signal as NodeJS.Signals] : undefined;
      const code = exit.exitCode ?? (signalled === undefined ? undefined : 128 + signalled);
      const fields: Record<string, string> = code === undefined ? {} : { exit_code: String(code) };
      await this.end(at, 'executor_error', { fields, systemLogs: [why] });
      return;
    }
    const runFiles = { root: scratch, outDir: folders.outputs, tmpDir: folders.tmp, stdoutFile, stderrFile };
    let outputs: unknown;
    try {
      outputs = await engine.readOutputs(runFiles);
    } catch (err) {
      if (err instanceof JsonTooDeepError) {
        // What the workflow returned, not a failure of ours: the run failed.
        await this.end(at, 'executor_error', { systemLogs: [`the engine exited 0 but its output object is ${err.message}`] });
        return;
      }
      await this.end(at, 'system_error', {
        fields: { exit_code: '0' },
        systemLogs: [`the engine exited 0 but ${(err as Error).message}`],
      });
      return;
    }
    let stored: unknown;
    try {
      stored = await collectOutputs(language.files, outputs, folders.outputs, (p) => view.toHost(p), (rel, file) =>
        this.store.putFile(runObjectKeys.output(runId, rel), file).then(() => undefined),
      );
    } catch (err) {
      if (!(err instanceof UnusableOutputError)) throw err;
      // No exit code: clients such as toil-wes-cwl-runner exit with it, and this run failed.
      await this.end(at, 'executor_error', { systemLogs: [`the engine exited 0 but its ${err.message}`] });
      return;
    }
    await this.end(at, 'complete', { fields: { exit_code: '0', outputs: stringifyJson(stored) } });
  }

  /**
   * On interruption: the stop signal to the engine's whole group, SIGKILL after the grace
   * period. Resolves, once the group is gone, with a note for system_logs saying how it went.
   */
  private stopOnInterrupt(engineProcess: RunningEngine, signal: NodeJS.Signals, grace: number, interrupt: AbortSignal, log: Logger): Promise<string> {
    return new Promise((resolve) => {
      const stop = async () => {
        log.info({ pid: engineProcess.pid, signal, graceMs: grace, reason: interrupt.reason }, 'stopping the engine group');
        const started = Date.now();
        const gone = engineProcess.pid > 0 ? await stopGroup(engineProcess.pid, signal, grace) : true;
        const ms = Date.now() - started;
        if (!gone) log.error({ pid: engineProcess.pid }, 'engine group still alive after SIGKILL');
        const how = ms >= grace && signal !== 'SIGKILL' ? `${signal}, then SIGKILL after the ${grace} ms grace period` : signal;
        resolve(`the engine's process group was stopped with ${how} in ${ms} ms`);
      };
      if (interrupt.aborted) void stop();
      else interrupt.addEventListener('abort', () => void stop(), { once: true });
      void engineProcess.exited.then(() => {
        if (!interrupt.aborted) resolve('the engine had exited');
      });
    });
  }

  /** Settles the run's state after an interruption (the engine is already gone). */
  private async afterInterrupt(at: Held, reason: InterruptReason, note: string): Promise<ExecutionResult> {
    const { runId, attempt, log } = at;
    if (reason === 'superseded') {
      log.warn({ note }, 'run taken over by another worker: left to it');
      return 'done';
    }
    if (reason === 'shutdown') {
      if (this.settings.shutdownPolicy === 'requeue') {
        const r = await this.stateMachine.send(runId, 'preempt', {
          attempt,
          fields: { pgid: '', worker: '' },
          systemLogs: [`attempt ${attempt}: worker ${this.workerId} shut down (${note}); handed back to the queue`],
        });
        if (r.applied) return 'hand-back';
        if (r.state !== 'CANCELING' || r.stale) return 'done';
      } else {
        await this.stateMachine.send(runId, 'cancel', { attempt });
      }
      await this.finishCancel(at, `canceled: worker ${this.workerId} shut down; ${note}`);
      return 'done';
    }
    await this.finishCancel(at, `canceled by request: ${note}`);
    return 'done';
  }

  /** Ends the run with a message; if a cancel got in first, the run ends CANCELED instead. */
  private async end(at: Held, message: 'complete' | 'executor_error' | 'system_error', options: TransitionOptions) {
    const { log } = at;
    const result = await this.stateMachine.send(at.runId, message, { ...options, attempt: at.attempt });
    if (result.applied) {
      log.info({ state: result.to }, 'run ended');
    } else if (result.stale) {
      log.warn({ message, state: result.state }, 'end refused: the run has moved on to another attempt');
    } else if (result.state === 'CANCELING') {
      await this.finishCancel(at, 'canceled by request as the engine finished');
    } else {
      log.warn({ message, state: result.state }, 'end refused');
    }
  }

  private async finishCancel(at: Held, note: string): Promise<void> {
    const { log } = at;
    const result = await this.stateMachine.send(at.runId, 'canceled', { systemLogs: [note], attempt: at.attempt });
    log.info({ applied: result.applied, state: result.applied ? result.to : result.state }, 'run canceled');
  }
}
