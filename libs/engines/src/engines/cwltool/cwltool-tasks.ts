import { constants } from 'node:os';
import { EngineTask, TaskEvent } from '../../engine-tasks';
import { LineTaskParser } from '../../log-lines';

/*
 * cwltool's log (stderr, --disable-color) as read here (cwltool 3.1: job.py, workflow_job.py):
 *
 *   [<YYYY-MM-DD HH:MM:SS>] LEVEL message        the timestamp only with --timestamps
 *   [job J] <outdir>$ arg \<NL>    arg...[ < stdin][ > stdout][ 2> stderr]   a job starts
 *   [job J] exited with status: N | was terminated by signal: SIGX | completed <status>
 *   [step S] start | [step S] completed <status> | [workflow W] start
 *
 * Anything else on stderr (tool output that is not captured, the continuation lines of a
 * multi-line record) does not start with a level name and is not a record.
 */

const RECORD = /^(?:\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] )?(DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$/;
const COMMAND = /^\[job (.+?)\] (\/.*?)\$ (.*)$/;
const JOB = /^\[job (.+?)\] (.*)$/;
const STEP = /^\[step (.+?)\] (start|completed (\S+))$/;
const SUB_WORKFLOW_START = /^\[workflow (.+?)\] start$/;

/** What cwltool puts between the arguments of a command record. */
const SEPARATOR = ' \\\n    ';
/** An argument as shellescape.quote writes it: single quotes, `'"'"'` for a quote inside. */
const QUOTED = /'[^']*'(?:"'"'[^']*')*/y;
/** An argument cwltool leaves unquoted has none of these (job.py needs_shell_quoting_re). */
const PLAIN = /[^\s|&;()<>'"$@]+/y;
/** What follows the last argument: stdin, stdout and stderr redirections (the latter two absolute). */
const REDIRECTS = /^(?: < (.+?))?(?: > (\/.+?))?(?: 2> (\/.+?))?$/;
/** Lines a multi-line "Job error" record may add to a system log line. */
const MAX_ERROR_LINES = 20;
/**
 * Longest line, and longest command record, kept whole. Tool output that is not captured shares
 * cwltool's stderr: a tool writing without newlines (or after a command record whose quotes do
 * not balance) must not make the worker hold all of it.
 */
const MAX_LINE = 1024 * 1024;
const MAX_COMMAND = 4 * 1024 * 1024;

export interface ParsedCommand {
  args: string[];
  stdin?: string;
  stdout?: string;
  stderr?: string;
}

const unquote = (quoted: string) => quoted.slice(1, -1).replace(/'"'"'/g, "'");

/** Whether a single quote is open at the end of `text`, given whether one was at its start. */
function quoteOpenAfter(text: string, open = false): boolean {
  for (let i = 0; i < text.length; i++) {
    if (!open && text.startsWith(`"'"`, i)) i += 2;
    else if (text[i] === "'") open = !open;
  }
  return open;
}

/**
 * The arguments of a command record (the text after `<outdir>$ `, its lines joined by `\n`), or
 * undefined while more lines must follow (`final`: none will, read what is there).
 *
 * Quoted and plain arguments are read exactly. Under ShellCommandRequirement cwltool logs
 * `/bin/sh -c <line>` without quoting the line: an argument that reads as neither is taken as
 * it stands, up to the next separator or, the last one, the redirections at the end of the record.
 */
export function parseCommandRecord(text: string, final: true): ParsedCommand;
export function parseCommandRecord(text: string, final?: boolean): ParsedCommand | undefined;
export function parseCommandRecord(text: string, final = false): ParsedCommand | undefined {
  if (!final && (text.endsWith(' \\') || quoteOpenAfter(text))) return undefined;
  const args: string[] = [];
  let pos = 0;
  for (;;) {
    const token = text[pos] === "'" ? QUOTED : PLAIN;
    token.lastIndex = pos;
    const m = token.exec(text);
    if (m) {
      const end = pos + m[0].length;
      const arg = token === QUOTED ? unquote(m[0]) : m[0];
      if (text.startsWith(SEPARATOR, end)) {
        args.push(arg);
        pos = end + SEPARATOR.length;
        continue;
      }
      const redirects = REDIRECTS.exec(text.slice(end));
      if (redirects) {
        args.push(arg);
        return { args, stdin: redirects[1], stdout: redirects[2], stderr: redirects[3] };
      }
    }
    const next = text.indexOf(SEPARATOR, pos);
    if (next >= 0) {
      args.push(text.slice(pos, next));
      pos = next + SEPARATOR.length;
      continue;
    }
    const { arg, ...redirects } = rawLastArgument(text.slice(pos));
    return { args: [...args, arg], ...redirects };
  }
}

/** The last, unquoted argument and the redirections cwltool appended to it (the last of each). */
function rawLastArgument(text: string): Omit<ParsedCommand, 'args'> & { arg: string } {
  let rest = text;
  const cut = (marker: string): string | undefined => {
    const at = rest.lastIndexOf(marker);
    if (at < 0 || rest.includes('\n', at)) return undefined;
    const value = rest.slice(at + marker.length);
    rest = rest.slice(0, at);
    return value;
  };
  const stderr = cut(' 2> /');
  const stdout = cut(' > /');
  const stdin = cut(' < ');
  return {
    arg: rest,
    stdin,
    stdout: stdout === undefined ? undefined : `/${stdout}`,
    stderr: stderr === undefined ? undefined : `/${stderr}`,
  };
}

/** `echo_2` → `echo`: cwltool makes names unique by appending `_<n>` (process.py uniquename). */
const stem = (name: string) => name.replace(/_\d+$/, '');

const exitCodeOfSignal = (name: string): number | undefined => {
  const n = (constants.signals as Record<string, number>)[name];
  return n === undefined ? undefined : 128 + n;
};

interface Tracked extends Omit<EngineTask, 'key'> {
  key?: number;
  /** Position of the record that started the task: tasks are reported in this order. */
  order: number;
}

/** A `[step S] start` that no job or sub-workflow has claimed yet. */
interface StepStart {
  step: string;
  time: number;
  order: number;
}

/**
 * Learns cwltool's jobs from its stderr. Tasks and their names:
 * - a CommandLineTool job is a `[job J] <outdir>$ ...` record: task J, named by cwltool
 *   itself, unique in the run: the n-th job of step S is `S_n` (`echo`, `echo_2`, `echo_3` for
 *   a step scattered over three elements; steps inside sub-workflows alike);
 * - an ExpressionTool job logs nothing of its own: a `[step S] start` that no job and no
 *   sub-workflow (`[workflow S] start`) claims before `[step S] completed` is one, named `S`
 *   (the k-th such start of the step: `S_k`), from that start to that completion;
 * - exit code: 0 on `completed success` (cwltool does not log the code of a success, not even
 *   one of a tool's other successCodes), N on `exited with status: N`, 128 + the signal's
 *   number on `was terminated by signal`, else none (a system log line gives the status).
 *
 * Tasks are reported in start order: while a step start is unclaimed (it may turn out to be an
 * ExpressionTool that started first), tasks started after it wait until it is claimed or ends.
 */
export class CwltoolTaskParser extends LineTaskParser {
  constructor() {
    super(MAX_LINE);
  }

  private order = 0;
  private nextKey = 0;
  /** A command record whose continuation lines are still coming (`quoted`: a quote is open, `size`: its length). */
  private command?: { job: string; lines: string[]; quoted: boolean; size: number; time: number; order: number };
  /** A "Job error:" record, whose message goes on over the next lines. */
  private jobError?: { task: Tracked; lines: string[] };
  private readonly pending: StepStart[] = [];
  /** Tasks not yet reported, waiting for an earlier step start to be settled. */
  private waiting: Tracked[] = [];
  /** Tasks that have not ended, by job name. */
  private readonly running = new Map<string, Tracked>();
  private events: TaskEvent[] = [];

  protected ended(): void {
    this.closeOpenRecords();
    // Step starts nobody claimed: no job of theirs ran that the log shows.
    this.pending.length = 0;
  }

  protected line(line: string): void {
    const record = RECORD.exec(line);
    if (!record) {
      if (this.command) {
        this.command.lines.push(line);
        this.command.quoted = quoteOpenAfter(line, this.command.quoted);
        this.command.size += line.length + 1;
        this.tryStartJob(this.command.size > MAX_COMMAND);
      } else if (this.jobError && this.jobError.lines.length < MAX_ERROR_LINES) {
        this.jobError.lines.push(line);
      }
      return;
    }
    this.closeOpenRecords();
    this.order++;
    const [, level, message] = record;
    let m: RegExpExecArray | null;
    if ((m = COMMAND.exec(message))) {
      this.command = { job: m[1], lines: [m[3]], quoted: quoteOpenAfter(m[3]), size: m[3].length, time: this.now, order: this.order };
      this.tryStartJob(false);
    } else if ((m = JOB.exec(message))) {
      if (level !== 'DEBUG') this.jobRecord(m[1], m[2]);
    } else if ((m = STEP.exec(message))) {
      if (m[2] === 'start') this.pending.push({ step: m[1], time: this.now, order: this.order });
      else this.stepCompleted(m[1], m[3]);
    } else if ((m = SUB_WORKFLOW_START.exec(message))) {
      this.claim(m[1]);
    }
  }

  /** A new record ends whatever multi-line record was open. */
  private closeOpenRecords(): void {
    if (this.command) this.tryStartJob(true);
    if (this.jobError) {
      const { task, lines } = this.jobError;
      this.jobError = undefined;
      this.log(task, lines.join('\n'));
    }
  }

  private tryStartJob(final: boolean): void {
    const c = this.command!;
    // The record goes on while its last line ends with cwltool's separator or a quote is open.
    if (!final && (c.quoted || c.lines[c.lines.length - 1].endsWith(' \\'))) return;
    const parsed = parseCommandRecord(c.lines.join('\n'), true);
    this.command = undefined;
    this.claim(c.job);
    const task: Tracked = { name: c.job, cmd: parsed.args, start: c.time, order: c.order, systemLogs: [] };
    if (parsed.stdout) task.stdoutPath = parsed.stdout;
    if (parsed.stderr) task.stderrPath = parsed.stderr;
    this.running.set(c.job, task);
    this.waiting.push(task);
  }

  /** A job or sub-workflow named `name` claims the oldest unclaimed start of its step. */
  private claim(name: string): void {
    const candidates = this.pending.filter((p) => stem(p.step) === stem(name));
    const start = candidates.find((p) => p.step === name) ?? candidates[0];
    if (start) this.pending.splice(this.pending.indexOf(start), 1);
  }

  private jobRecord(job: string, message: string): void {
    const task = this.running.get(job);
    if (!task) return;
    let m: RegExpExecArray | null;
    if ((m = /^exited with status: (\d+)$/.exec(message))) task.exitCode = Number(m[1]);
    else if ((m = /^was terminated by signal: (\w+)$/.exec(message))) task.exitCode = exitCodeOfSignal(m[1]);
    if ((m = /^completed (\S+)$/.exec(message))) {
      this.running.delete(job);
      this.end(task, m[1]);
    } else if (message.startsWith('Job error:')) {
      this.jobError = { task, lines: [message] };
    } else {
      this.log(task, message);
    }
  }

  private stepCompleted(step: string, status: string): void {
    const unclaimed = this.pending.filter((p) => p.step === step);
    unclaimed.forEach((start, k) => {
      this.pending.splice(this.pending.indexOf(start), 1);
      const task: Tracked = { name: k === 0 ? step : `${step}_${k + 1}`, cmd: [], start: start.time, order: start.order, systemLogs: [] };
      this.waiting.push(task);
      this.end(task, status);
    });
  }

  private end(task: Tracked, status: string): void {
    task.end = this.now;
    if (status === 'success') task.exitCode ??= 0;
    else task.systemLogs.push(`completed ${status}`);
    if (task.key !== undefined) this.emit('ended', task);
  }

  private log(task: Tracked, line: string): void {
    task.systemLogs.push(line);
    if (task.key !== undefined && task.end === undefined) this.emit('updated', task);
  }

  private emit(type: TaskEvent['type'], t: Tracked): void {
    const { order, ...task } = t;
    this.events.push({ type, task: { ...task, key: t.key!, cmd: [...t.cmd], systemLogs: [...t.systemLogs] } });
  }

  /** Reports the tasks no unclaimed step start precedes, in start order. */
  protected drain(): TaskEvent[] {
    const barrier = Math.min(...this.pending.map((p) => p.order));
    const ready = this.waiting.filter((t) => t.order < barrier).sort((a, b) => a.order - b.order);
    this.waiting = this.waiting.filter((t) => t.order >= barrier);
    for (const task of ready) {
      task.key = this.nextKey++;
      this.emit('started', task);
      if (task.end !== undefined) this.emit('ended', task);
    }
    const out = this.events;
    this.events = [];
    return out;
  }
}
