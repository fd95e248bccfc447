import { EngineTask, TaskEvent } from '../../engine-tasks';
import { LineTaskParser } from '../../log-lines';

/*
 * Snakemake 7's log (stderr, --nocolor --printshellcmds) as read here:
 *
 *   [Mon Nov 30 19:45:36 2026]                     before each record below
 *   rule <name>:            (or `localrule`, `checkpoint`, `localcheckpoint`)   a job starts
 *       input: ... / output: ... / jobid: <n> / reason: ... / resources: ...   its fields
 *   <blank line>, then its shell command as written (--printshellcmds) and whatever the job
 *   writes to a stderr it does not capture, interleaved with other jobs' records
 *   Finished job <n>.                               the job succeeded
 *   Error in rule <name>:                           the job failed; its fields follow,
 *       jobid: <n> / output: ... / log: ... / shell: <the command, indented> / (one of the commands exited ...)
 *   <blank line>                                    ends the block
 */

const JOB = /^(?:local)?(?:rule|checkpoint) (\S+):$/;
const FIELD = /^ {4}(\w+): ?(.*)$/;
const FINISHED = /^Finished job (\d+)\.$/;
const ERROR = /^Error in rule (\S+):$/;
/** Longest line kept whole: a job's own output shares the log, with or without newlines. */
const MAX_LINE = 1024 * 1024;
/** Lines of an error block kept in a task's system logs. */
const MAX_ERROR_LINES = 40;

interface Block {
  kind: 'job' | 'error';
  rule: string;
  jobId?: string;
  lines: string[];
  time: number;
}

/**
 * Learns Snakemake's jobs from its stderr. A task is one job: named by its rule, started by its
 * `rule <name>:` block (once its `jobid` is read), ended by `Finished job <n>.` (exit code 0) or
 * by an `Error in rule <name>:` block naming its jobid. Snakemake 7 does not print a failed
 * job's exit code: the task's system logs hold the error block (its shell command, the log files
 * it names, `one of the commands exited with non-zero exit code`), and its `cmd` the failed
 * shell command (`shell:` of that block, where it stands delimited; a job that succeeded has
 * its command only in free text that its own stderr may follow, so its `cmd` stays empty). A
 * job tried again (`--restart-times`) starts a new task under the same jobid.
 */
export class SnakemakeTaskParser extends LineTaskParser {
  constructor() {
    super(MAX_LINE);
  }

  private nextKey = 0;
  private block?: Block;
  /** Tasks that have not ended, by jobid. */
  private readonly running = new Map<string, EngineTask>();
  private events: TaskEvent[] = [];

  protected ended(): void {
    this.closeBlock();
  }

  protected line(raw: string): void {
    const line = raw.replace(/\r$/, '');
    if (this.block) {
      if (this.block.kind === 'job' ? FIELD.test(line) : line !== '') {
        this.blockLine(line);
        return;
      }
      this.closeBlock();
    }
    let m: RegExpExecArray | null;
    if ((m = JOB.exec(line))) this.block = { kind: 'job', rule: m[1], lines: [], time: this.now };
    else if ((m = ERROR.exec(line))) this.block = { kind: 'error', rule: m[1], lines: [], time: this.now };
    else if ((m = FINISHED.exec(line))) {
      const task = this.running.get(m[1]);
      if (task) {
        this.running.delete(m[1]);
        task.exitCode = 0;
        this.end(task);
      }
    }
  }

  private blockLine(line: string): void {
    const block = this.block!;
    const field = FIELD.exec(line);
    if (field && field[1] === 'jobid' && block.jobId === undefined) block.jobId = field[2].trim();
    if (block.lines.length < MAX_ERROR_LINES) block.lines.push(line);
  }

  private closeBlock(): void {
    const block = this.block;
    this.block = undefined;
    if (!block || block.jobId === undefined) return;
    if (block.kind === 'job') {
      const task: EngineTask = { key: this.nextKey++, name: block.rule, cmd: [], start: block.time, systemLogs: [] };
      this.running.set(block.jobId, task);
      this.emit('started', task);
      return;
    }
    const task = this.running.get(block.jobId);
    if (!task) return;
    this.running.delete(block.jobId);
    const command = shellOf(block.lines);
    if (command !== undefined) task.cmd = [command];
    task.systemLogs.push([`Error in rule ${block.rule}:`, ...block.lines].join('\n'));
    this.end(task);
  }

  private end(task: EngineTask): void {
    task.end = this.now;
    this.emit('ended', task);
  }

  private emit(type: TaskEvent['type'], task: EngineTask): void {
    this.events.push({ type, task: { ...task, cmd: [...task.cmd], systemLogs: [...task.systemLogs] } });
  }

  protected drain(): TaskEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }
}

/**
 * The shell command of an error block: the lines under `    shell:` (indented eight), up to
 * Snakemake's `(one of the commands exited ...)` note, without the indentation and the blank
 * lines around it (Snakemake writes the command as the Snakefile has it).
 */
export function shellOf(lines: readonly string[]): string | undefined {
  const at = lines.indexOf('    shell:');
  if (at < 0) return undefined;
  const body: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('        ') && line.trim() !== '') break;
    if (/^\s*\(one of the commands exited/.test(line)) break;
    body.push(line.slice(8));
  }
  const text = body.join('\n').replace(/^\s*\n/, '').trimEnd();
  if (!text) return undefined;
  // The indentation the Snakefile gave a multi-line command: the least of its lines.
  const indent = Math.min(...text.split('\n').filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return text
    .split('\n')
    .map((l) => l.slice(Math.min(indent, /^ */.exec(l)![0].length)))
    .join('\n');
}
