import { setTimeout as sleep } from 'node:timers/promises';
import { HttpStatusError, UnreachableError } from './cli-errors';
import { LogFollower } from './log-follower';
import type { WesApiClient } from './wes-api-client';
import { isTerminal, type RunLog, type TaskLog } from './wes-types';

/**
 * The wait before the next status poll: a twentieth of the time waited so far, between 50 ms and
 * one second. The end of a run is then noticed within ~5 % of its time (a short workflow is not
 * made 30 % longer by a fixed backoff; a status read costs the server well under a millisecond),
 * and a long run costs one cheap request a second.
 */
const MIN_POLL_MS = 50;
const MAX_POLL_MS = 1000;
export function nextPollDelay(waitedMs: number): number {
  return Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, Math.round(waitedMs / 20)));
}
/** Tasks are listed (every page) at most this often. */
const TASKS_EVERY_MS = 2000;
/** How long the server may stay unreachable (or answer 5xx) before waiting gives up. */
const OUTAGE_TOLERANCE_MS = 60_000;

export interface MonitorOptions {
  /** Progress lines (state changes, tasks): one line each, on stderr. */
  progress?: (line: string) => void;
  /** When set, the engine's live stderr goes here. */
  engineStderr?: (chunk: Buffer) => void;
}

/** A task counts as finished once it has an end time or an exit code. */
export function finishedTasks(tasks: TaskLog[]): number {
  return tasks.filter((t) => t.end_time !== undefined || (t.exit_code !== undefined && t.exit_code !== null)).length;
}

/**
 * Watches one run until it ends: reports each state change and the tasks finished, follows
 * the engine's stderr on request, rides out short outages of the server, and can cancel it.
 */
export class RunMonitor {
  private cancelSent = false;
  private outageSince: number | undefined;

  constructor(
    private readonly client: WesApiClient,
    readonly runId: string,
    private readonly options: MonitorOptions = {},
  ) {}

  /** Asks the server to cancel the run (once); the wait goes on until the run has ended. */
  async cancel(): Promise<void> {
    if (this.cancelSent) return;
    this.cancelSent = true;
    await this.retrying(() => this.client.cancel(this.runId));
  }

  /** Waits until the run is in a terminal state; returns its RunLog. */
  async waitForEnd(): Promise<RunLog> {
    const progress = this.options.progress ?? (() => undefined);
    let follower: LogFollower | undefined;
    if (this.options.engineStderr) {
      const log = await this.retrying(() => this.client.runLog(this.runId));
      if (log.run_log?.stderr) follower = new LogFollower(this.client, log.run_log.stderr, this.options.engineStderr, true);
    }
    let last = '';
    let tasksAt = 0;
    let tasksSeen = '';
    const reportTasks = async () => {
      tasksAt = Date.now();
      const tasks = await this.retrying(() => this.client.allTasks(this.runId));
      const line = tasks.length ? `${finishedTasks(tasks)}/${tasks.length} tasks finished` : '';
      if (line && line !== tasksSeen) progress(`run ${this.runId}: ${line}`);
      tasksSeen = line;
    };
    const since = Date.now();
    for (;;) {
      const { state } = await this.retrying(() => this.client.status(this.runId));
      // Read after the status: once the run has ended, this read has the whole log (the worker
      // stores it before it ends the run).
      if (follower) await this.retrying(() => follower.poll());
      if (isTerminal(state)) {
        follower?.flush();
        if (state !== 'CANCELED') await reportTasks();
        progress(`run ${this.runId}: ${state}`);
        break;
      }
      if (state !== last) progress(`run ${this.runId}: ${state}`);
      last = state;
      if (state === 'RUNNING' && Date.now() - tasksAt >= TASKS_EVERY_MS) await reportTasks();
      await sleep(nextPollDelay(Date.now() - since));
    }
    return this.retrying(() => this.client.runLog(this.runId));
  }

  /** Runs a request, retrying while the server is unreachable or answers 5xx, up to the tolerance. */
  private async retrying<T>(request: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const result = await request();
        this.outageSince = undefined;
        return result;
      } catch (err) {
        const transient = err instanceof UnreachableError || (err instanceof HttpStatusError && err.status >= 500);
        if (!transient) throw err;
        const now = Date.now();
        if (this.outageSince === undefined) {
          this.outageSince = now;
          this.options.progress?.(`${err.message}; retrying for up to ${OUTAGE_TOLERANCE_MS / 1000} s`);
        }
        if (now - this.outageSince > OUTAGE_TOLERANCE_MS) throw err;
        await sleep(1000);
      }
    }
  }
}
