import { Inject, Injectable } from '@nestjs/common';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WesSettings } from '../../../libs/config/src';
import { ENGINES, groupMembers, launchEngine, RunningEngine, signalGroup, stopGroup } from '../../../libs/engines/src';
import type { Logger } from '../../../libs/logging/src';
import { LOGGER, OBJECT_STORE } from '../../../libs/platform/src';
import { RunRecord, runObjectKeys, RunStore, TransitionOptions, WorkflowStateMachine } from '../../../libs/runs/src';
import { ObjectStore, resolveInside } from '../../../libs/storage/src';
import { collectOutputs } from './output-collector';
import { WORKER_ID } from './worker-identity';

/** The run was cancelled while this worker held it. */
class RunCancelled extends Error {
  constructor(readonly note = 'canceled by request before the engine started') {
    super(note);
  }
}

/** Name of the params file written at the root of the attachments (made unique if taken). */
function paramsFileName(attachments: string[]): string {
  let name = 'wes-params.json';
  for (let i = 1; attachments.includes(name); i++) name = `wes-params-${i}.json`;
  return name;
}

/**
 * Executes one run: initialize (stage attachments and params into a private scratch folder),
 * run (the engine in its own process group), then complete, executor_error or system_error.
 * A cancel (BullMQ's abort signal, fed by the cancel broadcast, or the durable mark found by
 * polling) stops the engine's whole group and ends the run CANCELED.
 */
@Injectable()
export class RunExecutor {
  constructor(
    private readonly settings: WesSettings,
    private readonly stateMachine: WorkflowStateMachine,
    private readonly runs: RunStore,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(WORKER_ID) private readonly workerId: string,
  ) {}

  async execute(runId: string, abort: AbortSignal): Promise<void> {
    const log = this.logger.child({ runId });
    const init = await this.stateMachine.send(runId, 'initialize', { fields: { worker: this.workerId } });
    if (!init.applied) {
      if (init.state === 'CANCELING') await this.finishCancel(runId, log);
      else log.info({ state: init.state }, 'job skipped: run is not QUEUED');
      return;
    }
    log.info('initializing');
    const cancel = this.watchCancelMark(runId, abort);
    let scratch: string | undefined;
    let failed = false;
    try {
      const run = await this.runs.get(runId);
      if (!run) throw new Error('the run record disappeared');
      scratch = await this.prepareScratch(run);
      await this.runEngine(run, scratch, cancel.signal, log);
    } catch (err) {
      failed = true;
      if (err instanceof RunCancelled || cancel.signal.aborted) {
        await this.finishCancel(runId, log, err instanceof RunCancelled ? err.note : undefined);
      } else {
        log.error({ err }, 'system error');
        await this.end(runId, 'system_error', { systemLogs: [`system error on worker ${this.workerId}: ${(err as Error).message}`] }, log);
      }
    } finally {
      cancel.stop();
      if (scratch && !(this.settings.keepWorkDirs && failed)) {
        await rm(scratch, { recursive: true, force: true }).catch((err) => log.warn({ err, scratch }, 'scratch not removed'));
      }
    }
  }

  /** Aborts when BullMQ's signal fires or when the run's durable cancel mark appears. */
  private watchCancelMark(runId: string, abort: AbortSignal) {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    abort.addEventListener('abort', onAbort, { once: true });
    if (abort.aborted) controller.abort();
    const timer = setInterval(() => {
      this.runs
        .isCancelRequested(runId)
        .then((yes) => yes && controller.abort())
        .catch(() => undefined);
    }, this.settings.cancelPollMs);
    return {
      signal: controller.signal,
      stop: () => {
        clearInterval(timer);
        abort.removeEventListener('abort', onAbort);
      },
    };
  }

  /** Makes the run's scratch folder: attachments (sub-folders kept), params file, output and tmp folders. */
  private async prepareScratch(run: RunRecord): Promise<string> {
    await mkdir(this.settings.workDir, { recursive: true });
    const scratch = await mkdtemp(path.join(path.resolve(this.settings.workDir), `${run.runId}-`));
    const inputs = path.join(scratch, 'attachments');
    await Promise.all(['attachments', 'outputs', 'tmp', 'logs'].map((d) => mkdir(path.join(scratch, d))));
    for (const name of run.attachments) {
      await this.store.getToFile(runObjectKeys.attachment(run.runId, name), resolveInside(inputs, name));
    }
    await writeFile(path.join(inputs, paramsFileName(run.attachments)), JSON.stringify(run.request.workflow_params, null, 2));
    return scratch;
  }

  private async runEngine(run: RunRecord, scratch: string, cancel: AbortSignal, log: Logger): Promise<void> {
    const { runId } = run;
    const engine = ENGINES[run.engine];
    if (!engine) throw new Error(`unknown engine ${run.engine}`);
    if (cancel.aborted) throw new RunCancelled();
    const inputs = path.join(scratch, 'attachments');
    const [workflowFile, fragment] = run.workflow.split('#', 2);
    const command = engine.command(this.settings.cwltoolPath, {
      workflowPath: resolveInside(inputs, workflowFile) + (fragment ? `#${fragment}` : ''),
      paramsPath: path.join(inputs, paramsFileName(run.attachments)),
      outDir: path.join(scratch, 'outputs'),
      tmpDir: path.join(scratch, 'tmp'),
      parameters: run.request.workflow_engine_parameters,
    });
    const cmd = [command.file, ...command.args];
    const started = await this.stateMachine.send(runId, 'run', { fields: { cmd: JSON.stringify(cmd) } });
    if (!started.applied) {
      if (started.state === 'CANCELING') throw new RunCancelled();
      log.warn({ state: started.state }, 'run refused: run left INITIALIZING');
      return;
    }
    const stdoutFile = path.join(scratch, 'logs', 'stdout');
    const stderrFile = path.join(scratch, 'logs', 'stderr');
    const engineProcess = launchEngine(command, { cwd: scratch, stdoutFile, stderrFile });
    log.info({ pid: engineProcess.pid, cmd }, 'engine started');

    const stopped = this.stopOnCancel(engineProcess, engine.stopSignal, cancel, log);
    const exit = await engineProcess.exited;
    // Whatever the engine left behind in its group goes with it.
    if (!cancel.aborted && engineProcess.pid > 0 && (await groupMembers(engineProcess.pid)).length > 0) {
      signalGroup(engineProcess.pid, 'SIGKILL');
    }
    await this.storeLogs(runId, stdoutFile, stderrFile, log);
    if (cancel.aborted) throw new RunCancelled(await stopped);
    log.info({ exit }, 'engine exited');
    if (exit.spawnError) {
      await this.end(runId, 'system_error', { systemLogs: [`the engine could not be started: ${exit.spawnError}`] }, log);
      return;
    }
    if (exit.exitCode !== 0) {
      const why = exit.signal ? `the engine was killed by ${exit.signal}` : `the engine exited with code ${exit.exitCode}`;
      const fields: Record<string, string> = exit.exitCode === undefined ? {} : { exit_code: String(exit.exitCode) };
      await this.end(runId, 'executor_error', { fields, systemLogs: [why] }, log);
      return;
    }
    let outputs: unknown;
    try {
      outputs = JSON.parse((await readFile(stdoutFile, 'utf8')) || '{}');
    } catch (err) {
      await this.end(runId, 'system_error', {
        fields: { exit_code: '0' },
        systemLogs: [`the engine exited 0 but its output object is not JSON: ${(err as Error).message}`],
      }, log);
      return;
    }
    const stored = await collectOutputs(outputs, path.join(scratch, 'outputs'), (rel, file) =>
      this.store.putFile(runObjectKeys.output(runId, rel), file).then(() => undefined),
    );
    await this.end(runId, 'complete', { fields: { exit_code: '0', outputs: JSON.stringify(stored) } }, log);
  }

  /** On cancel: the engine's stop signal to its whole group, SIGKILL after the grace period. */
  /** Resolves, once the engine's group is gone, with a note for system_logs saying how it went. */
  private stopOnCancel(engineProcess: RunningEngine, engineSignal: NodeJS.Signals, cancel: AbortSignal, log: Logger): Promise<string> {
    return new Promise((resolve) => {
      const stop = async () => {
        const signal = this.settings.cancelSignal ?? engineSignal;
        const grace = this.settings.cancelGraceMs;
        log.info({ pid: engineProcess.pid, signal, graceMs: grace }, 'cancel: stopping the engine group');
        const started = Date.now();
        const gone = await stopGroup(engineProcess.pid, signal, grace);
        const ms = Date.now() - started;
        if (!gone) log.error({ pid: engineProcess.pid }, 'engine group still alive after SIGKILL');
        const how = ms >= grace && signal !== 'SIGKILL' ? `${signal}, then SIGKILL after the ${grace} ms grace period` : signal;
        resolve(`canceled by request: the engine's process group was stopped with ${how} in ${ms} ms`);
      };
      if (cancel.aborted) void stop();
      else cancel.addEventListener('abort', () => void stop(), { once: true });
      void engineProcess.exited.then(() => {
        if (!cancel.aborted) resolve('the engine had exited');
      });
    });
  }

  private async storeLogs(runId: string, stdoutFile: string, stderrFile: string, log: Logger): Promise<void> {
    await Promise.all(
      (
        [
          ['stdout', stdoutFile],
          ['stderr', stderrFile],
        ] as const
      ).map(([stream, file]) =>
        this.store.putFile(runObjectKeys.log(runId, stream), file).catch((err) => log.warn({ err, stream }, 'log not stored')),
      ),
    );
  }

  /** Ends the run with a message; if a cancel got in first, the run ends CANCELED instead. */
  private async end(runId: string, message: 'complete' | 'executor_error' | 'system_error', options: TransitionOptions, log: Logger) {
    const result = await this.stateMachine.send(runId, message, options);
    if (result.applied) {
      log.info({ state: result.to }, 'run ended');
    } else if (result.state === 'CANCELING') {
      await this.finishCancel(runId, log);
    } else {
      log.warn({ message, state: result.state }, 'end refused');
    }
  }

  private async finishCancel(runId: string, log: Logger, note?: string): Promise<void> {
    const result = await this.stateMachine.send(runId, 'canceled', note ? { systemLogs: [note] } : {});
    log.info({ applied: result.applied, state: result.applied ? result.to : result.state }, 'run canceled');
  }
}
