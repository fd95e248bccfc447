import os from 'node:os';
import path from 'node:path';
import { WesSettings } from '../../../../libs/config/src';
import {
  EngineDefinition,
  EngineExit,
  engineExecutable,
  EngineRunFiles,
  EngineRunRequest,
  EngineView,
  launchEngine,
  RunFolders,
  RunningEngine,
  SandboxSettings,
} from '../../../../libs/engines/src';
import { type Logger, redactCommand } from '../../../../libs/logging/src';
import { encodeCommand, RunRecord, RunStore, TaskStore, WorkflowStateMachine } from '../../../../libs/runs/src';
import { ObjectStore, resolveInside } from '../../../../libs/storage/src';
import { sandboxed } from '../engine-sandbox';
import { LogShipper } from '../log-shipper';
import type { RunMetrics } from '../run-metrics';
import { trackTasks } from '../task-tracker';
import { HeldAttempt, paramsFileName, reasonOf, RunEnding, RunInterrupted, throwIfInterrupted } from './run-attempt';

/** How often a running engine's new log lines are shipped to the object store. */
const LIVE_LOG_INTERVAL_MS = 1000;

/** What the engine left: its files, and how the run ends when it did not exit 0 (undefined: collect its outputs). */
export interface EngineRun {
  files: EngineRunFiles;
  failed?: RunEnding;
}

/**
 * Step 3, execute: `run` (INITIALIZING → RUNNING) records the command line as the engine sees
 * it; the engine starts in its sandbox and its own process group, its logs shipped live and its
 * tasks tracked. An interruption stops the whole group (the engine's stop signal, SIGKILL after
 * the grace) and throws RunInterrupted; when the engine exits, what is left of its group is
 * killed, the logs stored and the tasks written before the run may end.
 */
export class ExecuteStep {
  constructor(
    private readonly settings: WesSettings,
    private readonly stateMachine: WorkflowStateMachine,
    private readonly runs: RunStore,
    private readonly tasks: TaskStore,
    private readonly store: ObjectStore,
    private readonly sandbox: SandboxSettings,
    private readonly metrics: RunMetrics,
  ) {}

  async execute(run: RunRecord, engine: EngineDefinition, engineRun: EngineRunRequest, at: HeldAttempt, view: EngineView, signal: AbortSignal): Promise<EngineRun> {
    const { runId } = run;
    const { log } = at;
    const { folders } = view;
    const scratch = folders.root;
    throwIfInterrupted(signal, 'before the engine started');
    const [workflowFile, fragment] = run.workflow.split('#', 2);
    const workDir = folders[engine.workFolder ?? 'outputs'];
    // Paths as the engine sees them: under /wes in a sandbox.
    const command = engine.command(engineExecutable(engine, this.settings), {
      workflowPath: view.toEngine(resolveInside(folders.attachments, workflowFile)) + (fragment ? `#${fragment}` : ''),
      paramsPath: view.toEngine(path.join(folders.attachments, paramsFileName(run.attachments))),
      outDir: view.toEngine(workDir),
      tmpDir: view.toEngine(folders.tmp),
      parameters: run.request.workflow_engine_parameters,
      options: engineRun.options,
    });
    const cmd = [command.file, ...command.args];
    const launch = sandboxed(command, folders, this.sandbox, engine.environment);
    const started = await this.stateMachine.send(runId, 'run', { fields: { cmd: encodeCommand(cmd, view.root) }, attempt: at.attempt });
    if (!started.applied) {
      if (started.state === 'CANCELING' && !started.stale) throw new RunInterrupted('cancel', 'before the engine started');
      throw new RunInterrupted('superseded', `the run left INITIALIZING (now ${started.state})`);
    }
    const files = engineRunFiles(engine, view);
    const stopSignal = this.settings.cancelSignal ?? engine.stopSignal;
    const graceMs = Math.max(this.settings.cancelGraceMs, engine.minStopGraceMs);
    const engineProcess = await launchEngine(launch.command, {
      cwd: scratch,
      env: launch.env,
      stdoutFile: files.stdoutFile,
      stderrFile: files.stderrFile,
      stopSignal,
      killAfterMs: graceMs,
    });
    if (engineProcess.pid > 0) {
      this.metrics.engineStarted(runId, engine.name, log);
      const exitedOnce = () => this.metrics.engineExited(engine.name);
      void engineProcess.exited.then(exitedOnce, exitedOnce);
    }
    // Once per run, with whatever an argument may carry of a secret taken out. Said before the
    // group is recorded: the engine runs already, and the line times its start (issue 15, dispatch).
    log.info({ pid: engineProcess.pid, cmd: redactCommand(cmd) }, 'engine started');
    if (engineProcess.pid > 0) await this.runs.setFields(runId, { pgid: String(engineProcess.pid) });
    const tasks = trackTasks(
      engine,
      {
        runId,
        attempt: at.attempt,
        stderrFile: files.stderrFile,
        scratchDir: scratch,
        toHostPath: (p) => view.toHost(p),
        tasks: this.tasks,
        store: this.store,
        maxLogBytes: this.settings.taskLogMaxBytes,
        log,
      },
      engineProcess.exited,
      signal,
    );

    const shipper = new LogShipper(this.store, runId, { stdout: files.stdoutFile, stderr: files.stderrFile }, LIVE_LOG_INTERVAL_MS, log);
    shipper.start();
    const stopped = stopOnInterrupt(engineProcess, stopSignal, graceMs, signal, log);
    // Whatever the engine left behind in its group went with it (the launcher killed it).
    const exit = await engineProcess.exited;
    // What the worker spends after the engine's exit (its logs, tasks), for step traces.
    const exitedAt = Date.now();
    await shipper.finish().catch((err) => log.warn({ err }, 'logs not stored'));
    // A client that sees the run end sees its final tasks.
    await tasks.done;
    if (signal.aborted) throw new RunInterrupted(reasonOf(signal), await stopped);
    log.info({ exit, afterExitMs: Date.now() - exitedAt }, 'engine exited');
    return { files, failed: failureOf(exit) };
  }
}

/** The files of a run the engine writes, as the worker sees them (its outputs and clean-up read them). */
export function engineRunFiles(engine: EngineDefinition, view: EngineView): EngineRunFiles {
  const { folders } = view;
  const workDir = folders[engine.workFolder ?? 'outputs'];
  return {
    root: folders.root,
    outDir: workDir,
    engineOutDir: view.toEngine(workDir),
    tmpDir: folders.tmp,
    stdoutFile: path.join(folders.root, 'logs', 'stdout'),
    stderrFile: path.join(folders.root, 'logs', 'stderr'),
  };
}

/** How a run ends whose engine did not exit 0 (undefined when it did). */
function failureOf(exit: EngineExit): RunEnding | undefined {
  if (exit.lost) return { message: 'system_error', options: { systemLogs: [`the engine was lost: ${exit.lost}; its process group was killed`] } };
  if (exit.spawnError) return { message: 'system_error', options: { systemLogs: [`the engine could not be started: ${exit.spawnError}`] } };
  if (exit.exitCode === 0) return undefined;
  const why = exit.signal ? `the engine was killed by ${exit.signal}` : `the engine exited with code ${exit.exitCode}`;
  // Killed by a signal: 128 + its number, as a shell reports it (clients exit with exit_code).
  const signalled = exit.signal ? os.constants.signals[exit.signal as NodeJS.Signals] : undefined;
  const code = exit.exitCode ?? (signalled === undefined ? undefined : 128 + signalled);
  const fields: Record<string, string> = code === undefined ? {} : { exit_code: String(code) };
  return { message: 'executor_error', options: { fields, systemLogs: [why] } };
}

/**
 * On interruption: the stop signal to the engine's whole group, SIGKILL after the grace
 * period. Resolves, once the group is gone, with a note for system_logs saying how it went.
 */
function stopOnInterrupt(engineProcess: RunningEngine, signal: NodeJS.Signals, grace: number, interrupt: AbortSignal, log: Logger): Promise<string> {
  return new Promise((resolve) => {
    const stop = async () => {
      log.info({ pid: engineProcess.pid, signal, graceMs: grace, reason: interrupt.reason }, 'stopping the engine group');
      const started = Date.now();
      const gone = await engineProcess.stop(signal, grace);
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
