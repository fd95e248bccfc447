import { EngineTask, TaskEvent } from '../../engine-tasks';
import { LineTaskParser } from '../../log-lines';
import { parseCommandRecord } from '../cwltool/cwltool-tasks';

/*
 * The leader's log of toil-cwl-runner 5.9 (stderr, INFO, run with --disableChaining and
 * --retryCount 0) as read here:
 *
 *   [<ISO time>] [MainThread] [I] [toil.leader] Issued job 'CWLJob' <name> kind-CWLJob/instance-<id> v1 with job batch system ID: ...
 *   [...] [W] [toil.leader] Job failed with exit value 1: 'CWLJob' <name> kind-CWLJob/instance-<id> v1
 *   [...] [W] [toil.leader] Log from job "kind-CWLJob/instance-<id>" follows:
 *   =========>
 *   <TAB>[...] [I] [cwltool] [job <name>] <outdir>$ arg \<NL><TAB>    arg...       the command record
 *   <TAB>[...] [W] [cwltool] [job <name>] exited with status: N
 *   <=========
 *   [...] [W] [toil.leader] Job 'CWLJob' <name> kind-CWLJob/instance-<id> v3 is completely failed
 *   [...] [I] [toil.leader] Finished toil run successfully.  |  Finished toil run with N failed jobs.
 *
 * A job's start is when the leader issues it (Toil logs no start of its own at INFO), its end
 * when it failed or, for every other job, when the run finished: with --retryCount 0 the leader
 * ends once no job is issued, so every issued job that did not fail completed. A run stopped
 * before that leaves its open jobs without an end. Only CWLJob jobs run a step's tool (an
 * ExpressionTool too); Toil's own jobs (CWLWorkflow, CWLScatter, CWLGather, ResolveIndirect)
 * run on the leader and are no tasks (which jobs are tasks: ToilJobKinds; toil-wdl's differ). The command line is known only for a failed job (its log
 * is printed); the others list none.
 */

const ISSUED = /\[toil\.leader\] Issued job '(\w+)' (?:(.+?) )?(kind-\S+?\/instance-\S+) v\d+ with job batch system ID/;
const JOB_FAILED = /\[toil\.leader\] Job failed with exit value (-?\d+): '\w+' .*?(kind-\S+?\/instance-\S+) v\d+/;
const COMPLETELY_FAILED = /\[toil\.leader\] Job '\w+' .*?(kind-\S+?\/instance-\S+) v\d+ is completely failed/;
const LOG_FOLLOWS = /\[toil\.leader\] Log from job "(?:.*?)(kind-\S+?\/instance-[^\s"]+)(?: v\d+)?" follows:/;
const LOG_END = '<=========';
const FINISHED = /\[toil\.leader\] Finished toil run /;
/** A line of a job's log as the leader prints it: a tab, then the worker's own log line. */
const CWLTOOL_LINE = /^\t\[[^\]]*\] \[[^\]]*\] \[\w\] \[cwltool\] \[job (.+?)\] (.*)$/;
const COMMAND = /^(\/.*?)\$ (.*)$/;
const STATUS = /^exited with status: (-?\d+)$/;
/** Longest line kept whole (a tool's output printed into a job's log may hold none). */
const MAX_LINE = 1024 * 1024;
const MAX_COMMAND_LINES = 10_000;

/** Which of Toil's jobs are a workflow's tasks, and what their end says. */
export interface ToilJobKinds {
  /** The task an issued job is (its name), or undefined when it is one of Toil's own jobs. */
  taskName(jobClass: string, jobName: string | undefined): string | undefined;
  /** Whether a job that did not fail ran its tool with exit code 0 (toil-wdl 5.9 never checks it). */
  successMeansExitZero: boolean;
}

/** toil-cwl-runner: each CWLJob is a step's tool (an ExpressionTool's too), named by Toil. */
export const CWL_JOBS: ToilJobKinds = {
  taskName: (jobClass, jobName) => (jobClass === 'CWLJob' ? jobName : undefined),
  successMeansExitZero: true,
};

interface Tracked extends EngineTask {
  instance: string;
  failedWith?: number;
}

export class ToilTaskParser extends LineTaskParser {
  constructor(private readonly kinds: ToilJobKinds = CWL_JOBS) {
    super(MAX_LINE);
  }

  private nextKey = 0;
  /** Tasks not ended, by Toil job instance. */
  private readonly open = new Map<string, Tracked>();
  /** The job whose log the leader is printing, and the command record being read from it. */
  private logOf?: Tracked;
  private command?: string[];
  private events: TaskEvent[] = [];

  protected ended(): void {
    this.endCommand(true);
  }

  protected line(line: string): void {
    if (this.logOf) {
      if (line.startsWith(LOG_END)) {
        this.endCommand(true);
        this.logOf = undefined;
      } else {
        this.logLine(this.logOf, line);
      }
      return;
    }
    let m: RegExpExecArray | null;
    if ((m = ISSUED.exec(line))) {
      const name = this.kinds.taskName(m[1], m[2]);
      if (name === undefined || this.open.has(m[3])) return;
      const task: Tracked = { key: this.nextKey++, name, instance: m[3], cmd: [], start: this.now, systemLogs: [] };
      this.open.set(task.instance, task);
      this.emit('started', task);
    } else if ((m = JOB_FAILED.exec(line))) {
      const task = this.open.get(m[2]);
      if (!task) return;
      task.failedWith = Number(m[1]);
      task.systemLogs.push(`Toil job failed with exit value ${m[1]}`);
      this.emit('updated', task);
    } else if ((m = LOG_FOLLOWS.exec(line))) {
      this.logOf = this.open.get(m[1]);
    } else if ((m = COMPLETELY_FAILED.exec(line))) {
      const task = this.open.get(m[1]);
      if (task) this.end(task, task.exitCode ?? task.failedWith ?? 1);
    } else if (FINISHED.test(line)) {
      for (const task of [...this.open.values()]) this.end(task, task.failedWith ?? (this.kinds.successMeansExitZero ? 0 : undefined));
    }
  }

  /** A line of the log of a job that failed: its command record and its tool's exit status. */
  private logLine(task: Tracked, line: string): void {
    if (this.command) {
      if (line.startsWith('\t    ') && this.command.length < MAX_COMMAND_LINES) {
        this.command.push(line.slice(1));
        this.endCommand(false);
        return;
      }
      this.endCommand(true);
    }
    const m = CWLTOOL_LINE.exec(line);
    if (!m) return;
    const command = COMMAND.exec(m[2]);
    const status = STATUS.exec(m[2]);
    if (command) {
      this.command = [command[2]];
      this.endCommand(false);
    } else if (status) {
      task.exitCode = Number(status[1]);
      task.systemLogs.push(m[2]);
      this.emit('updated', task);
    }
  }

  /** Reads the command record being gathered, once complete (`final`: no more lines will come). */
  private endCommand(final: boolean): void {
    if (!this.command || !this.logOf) return;
    const parsed = parseCommandRecord(this.command.join('\n'), final);
    if (!parsed) return;
    this.command = undefined;
    // Its stdout/stderr files were in the worker's folder, which Toil removed: none named.
    this.logOf.cmd = parsed.args;
    this.emit('updated', this.logOf);
  }

  private end(task: Tracked, exitCode: number | undefined): void {
    task.end = this.now;
    if (exitCode !== undefined) task.exitCode = exitCode;
    this.open.delete(task.instance);
    this.emit('ended', task);
  }

  private emit(type: TaskEvent['type'], task: Tracked): void {
    const { instance: _instance, failedWith: _failed, ...snapshot } = task;
    this.events.push({ type, task: { ...snapshot, cmd: [...task.cmd], systemLogs: [...task.systemLogs] } });
  }

  protected drain(): TaskEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }
}
