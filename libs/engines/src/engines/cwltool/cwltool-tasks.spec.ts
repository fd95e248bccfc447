import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CWLTOOL } from './cwltool-engine';
import { CwltoolTaskParser, parseCommandRecord } from './cwltool-tasks';
import { EngineTask, TaskEvent, TaskParser } from '../../engine-tasks';

/**
 * The fixtures are cwltool 3.1's real stderr, captured by fixtures/capture.sh from the
 * workflows beside it and test/workflows/tasks (serial and --parallel, scatter, sub-workflows,
 * an ExpressionTool, failing and signalled jobs, --timestamps, --debug, ShellCommandRequirement).
 */
const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', `${name}.stderr`), 'utf8');

/**
 * The tasks as the events left them, by key (each event carries the whole task), checking the
 * order: keys given in start order, nothing of a task before it started or after it ended.
 */
function replay(events: TaskEvent[]): EngineTask[] {
  const tasks: EngineTask[] = [];
  const ended = new Set<number>();
  for (const { type, task } of events) {
    if (type === 'started') expect(task.key, 'keys are given in start order').toBe(tasks.length);
    else expect(tasks[task.key], `${type} before started for ${task.name}`).toBeDefined();
    expect(ended.has(task.key), `${type} after the end of ${task.name}`).toBe(false);
    if (type === 'ended') ended.add(task.key);
    else if (type === 'updated') expect(task.end).toBeUndefined();
    tasks[task.key] = task;
  }
  return tasks;
}

/** Feeds the text in pieces (a piece per `cut`), the n-th piece observed at time 1000 + n. */
function feed(text: string, pieces: string[] = text.split(/(?<=\n)/), parser: TaskParser = CWLTOOL.createTaskParser!()): { events: TaskEvent[]; end: number } {
  const events: TaskEvent[] = [];
  pieces.forEach((p, i) => events.push(...parser.feed(p, 1000 + i)));
  const end = 1000 + pieces.length;
  events.push(...parser.finish(end));
  expect(pieces.join('')).toBe(text);
  return { events, end };
}

/** Time at which the line holding `needle` (its first occurrence) was fed, line by line. */
const lineTime = (text: string, needle: string) => 1000 + text.slice(0, text.indexOf(needle)).split('\n').length - 1;

const ARGV = ['sh', '-c', 'tr "\\0" "\\n" < /proc/$$/cmdline', 'argv'];
const FINISH = ['sh', '-c', 'tr "\\0" "\\n" < /proc/$$/cmdline >&2; echo oops >&2; exit $1', 'finish'];

describe('cwltool tasks from a serial run: scatter, ExpressionTool, failing step', () => {
  const text = fixture('serial-fail');
  const tasks = replay(feed(text).events);

  it('lists every job in start order, named as cwltool names them', () => {
    expect(tasks.map((t) => t.name)).toEqual(['echo', 'echo_2', 'echo_3', 'count', 'fail']);
  });

  it('reads each command line back into its arguments (quotes, a quote inside, an empty one)', () => {
    expect(tasks[0].cmd).toEqual([...ARGV, 'a']);
    expect(tasks[1].cmd).toEqual([...ARGV, "it's a b c"]);
    expect(tasks[2].cmd).toEqual([...ARGV, '']);
    expect(tasks[3].cmd).toEqual([]);
    expect(tasks[4].cmd).toEqual([...FINISH, '3', '3']);
  });

  it('gives exit codes: 0 for success, the status for a failure', () => {
    expect(tasks.map((t) => t.exitCode)).toEqual([0, 0, 0, 0, 3]);
    expect(tasks[4].systemLogs).toEqual(['exited with status: 3', 'completed permanentFail']);
    expect(tasks.slice(0, 4).every((t) => t.systemLogs.length === 0)).toBe(true);
  });

  it('names the files each job captured its stdout or stderr into', () => {
    // Each job's own file (in its own folder: cwltool's job folder, or with --log-dir <dir>/<job>/).
    expect(tasks[0].stdoutPath).toMatch(/^\/.*\/argv\.txt$/);
    expect(tasks[1].stdoutPath).toMatch(/^\/.*\/argv\.txt$/);
    expect(tasks[1].stdoutPath).not.toBe(tasks[0].stdoutPath);
    expect(tasks[4].stderrPath).toMatch(/^\/.*\/err\.txt$/);
    expect(tasks[4].stdoutPath).toBeUndefined();
    expect(tasks[3].stdoutPath ?? tasks[3].stderrPath).toBeUndefined();
  });

  it('dates each job by the lines that start and end it', () => {
    expect(tasks[0].start).toBe(lineTime(text, '[job echo] /'));
    expect(tasks[0].end).toBe(lineTime(text, '[job echo] completed'));
    // The ExpressionTool runs from its step's start to its completion.
    expect(tasks[3].start).toBe(lineTime(text, '[step count] start'));
    expect(tasks[3].end).toBe(lineTime(text, '[step count] completed'));
    expect(tasks[4].end).toBe(lineTime(text, '[job fail] completed'));
    for (let i = 1; i < tasks.length; i++) expect(tasks[i].start).toBeGreaterThanOrEqual(tasks[i - 1].start);
  });

  it('reads the same whatever the pieces the text arrives in (mid-line, mid-record, byte by byte)', () => {
    const strip = (ts: EngineTask[]) => ts.map(({ start, end, ...rest }) => rest);
    const expected = strip(tasks);
    expect(strip(replay(feed(text, [text]).events))).toEqual(expected);
    expect(strip(replay(feed(text, [...text]).events))).toEqual(expected);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 40 }), (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), text.length];
        const pieces = at.slice(1).map((end, i) => text.slice(at[i], end));
        expect(strip(replay(feed(text, pieces).events))).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('reports a job as soon as its command record is complete, and its end at its completion', () => {
    const parser = CWLTOOL.createTaskParser!();
    const upTo = (needle: string) => text.slice(0, text.indexOf(needle));
    const head = upTo('    argv \\\n    a >');
    expect(parser.feed(head, 1)).toEqual([]);
    const started = parser.feed(upTo('INFO [job echo] completed').slice(head.length), 2);
    expect(started).toEqual([{ type: 'started', task: expect.objectContaining({ key: 0, name: 'echo', start: 1 }) }]);
    expect(started[0].task.end).toBeUndefined();
    const ended = parser.feed(text.slice(upTo('INFO [job echo] completed').length, text.indexOf('INFO [step echo] start', text.indexOf('[job echo] completed'))), 3);
    expect(ended).toEqual([{ type: 'ended', task: expect.objectContaining({ key: 0, name: 'echo', start: 1, end: 3, exitCode: 0 }) }]);
  });
});

describe('cwltool tasks from other runs', () => {
  it('--parallel: the same tasks as a serial run, in start order', () => {
    const tasks = replay(feed(fixture('parallel-pass')).events);
    expect(tasks.map((t) => [t.name, t.exitCode])).toEqual([
      ['echo', 0],
      ['echo_2', 0],
      ['echo_3', 0],
      ['count', 0],
      ['fail', 0],
    ]);
    expect(tasks[2].cmd).toEqual([...ARGV, 'c']);
    expect(tasks[4].cmd).toEqual([...FINISH, '0', '3']);
  });

  it('--parallel with interleaved steps: an ExpressionTool that started first is listed first, once settled', () => {
    const text = fixture('fanout-parallel');
    const { events } = feed(text);
    const tasks = replay(events);
    expect(tasks.map((t) => t.name)).toEqual(['count', 'slow', 'echo', 'echo_2', 'echo_3']);
    expect(tasks[0]).toMatchObject({ cmd: [], exitCode: 0, start: lineTime(text, '[step count] start'), end: lineTime(text, '[step count] completed') });
    // `slow` started before `count` was known to be an ExpressionTool: it waited for it.
    expect(tasks[1].start).toBe(lineTime(text, '[job slow] /'));
    expect(tasks[1].start).toBeLessThan(tasks[0].end!);
    expect(tasks[1].systemLogs).toEqual(['Max memory used: 3MiB']);
    expect(tasks[1].stdoutPath).toMatch(/^\/.*\/slow\.txt$/);
    for (let i = 1; i < tasks.length; i++) expect(tasks[i].start).toBeGreaterThanOrEqual(tasks[i - 1].start);
    // Tool output that is not captured (x, y, z) is no record.
    expect(tasks.slice(2).map((t) => t.cmd)).toEqual([['echo', 'x'], ['echo', 'y'], ['echo', 'z']]);
  });

  it('--timestamps and --debug change nothing', () => {
    const plain = replay(feed(fixture('parallel-pass')).events).map((t) => [t.name, t.cmd, t.exitCode, t.systemLogs]);
    for (const name of ['timestamps', 'debug']) {
      const tasks = replay(feed(fixture(name)).events);
      expect(tasks.map((t) => [t.name, t.cmd, t.exitCode, t.systemLogs]), name).toEqual(plain);
    }
  });

  it('sub-workflows: their steps are tasks, the sub-workflows themselves are not', () => {
    const tasks = replay(feed(fixture('nested')).events);
    expect(tasks.map((t) => [t.name, t.cmd])).toEqual([
      ['shout', ['echo', 'plain']],
      ['shout_2', ['echo', 'x']],
      ['shout_3', ['echo', 'y']],
    ]);
    // Another run: cwltool started the sub-workflows first, so step shout_2 ran job shout.
    const renamed = replay(feed(fixture('nested-renamed')).events);
    expect(renamed.map((t) => [t.name, t.cmd, t.exitCode])).toEqual([
      ['shout', ['echo', 'x'], 0],
      ['shout_2', ['echo', 'y'], 0],
      ['shout_3', ['echo', 'plain'], 0],
    ]);
  });

  it('a job killed by a signal exits 128 + its number', () => {
    const [task] = replay(feed(fixture('signal')).events);
    expect(task).toMatchObject({ name: 'signal.cwl', cmd: ['sh', '-c', 'kill -TERM $$'], exitCode: 143 });
    expect(task.systemLogs).toEqual(['was terminated by signal: SIGTERM', 'completed permanentFail']);
  });

  it('ShellCommandRequirement: the unquoted shell line is one argument; stdin and stdout are split off it', () => {
    const tasks = replay(feed(fixture('shell')).events);
    // The tool printed a line that looks like a record of job "x": no task comes of it.
    expect(tasks.map((t) => t.name)).toEqual(['shell.cwl']);
    expect(tasks[0].cmd).toEqual([
      '/bin/sh',
      '-c',
      `echo 'a b'"'"'c' && echo 'INFO [job x] not cwltool' >&2 && echo plain tool output >&2 && wc -l`,
    ]);
    expect(tasks[0].stdoutPath).toMatch(/^\/.*\/counted\.txt$/);
    expect(tasks[0].exitCode).toBe(0);
  });

  it('a job cwltool could not run: no exit code, the error and the status as system logs', () => {
    const [task] = replay(feed(fixture('job-error')).events);
    expect(task).toMatchObject({ name: 'job-error.cwl', cmd: ['wc'] });
    expect(task.exitCode).toBeUndefined();
    expect(task.systemLogs).toEqual(['Job error:\nin.txt missing from pathmapper', 'completed permanentFail']);
  });
});

describe('the end of the log', () => {
  it('reads a last line without its newline, and leaves a job that did not complete open', () => {
    const text = fixture('serial-fail');
    const cut = text.indexOf('WARNING [job fail] exited');
    const { events } = feed(text.slice(0, cut) + 'INFO [step zzz] start');
    const tasks = replay(events);
    expect(tasks.map((t) => t.name)).toEqual(['echo', 'echo_2', 'echo_3', 'count', 'fail']);
    expect(tasks[4].end).toBeUndefined();
    expect(tasks[4].exitCode).toBeUndefined();
  });

  it('reports, at the end, tasks held behind a step start that nothing settled', () => {
    const parser = CWLTOOL.createTaskParser!();
    expect(parser.feed('INFO [step a] start\nINFO [job b] /tmp/x$ true\n', 1)).toEqual([]);
    const events = parser.finish(2);
    expect(events.map((e) => [e.type, e.task.name])).toEqual([['started', 'b']]);
  });

  it('reports a command record cut short by the engine’s end with what it holds', () => {
    const parser = CWLTOOL.createTaskParser!();
    expect(parser.feed("INFO [job a] /tmp/x$ echo \\\n    'unclosed", 1)).toEqual([]);
    expect(parser.finish(2).map((e) => e.task.cmd)).toEqual([['echo', "'unclosed"]]);
  });
});

describe('tool output on the same stderr', () => {
  const MiB = 1024 * 1024;

  it('drops a line longer than a bound (it is not held whole), and reads the records after it', () => {
    const parser = CWLTOOL.createTaskParser!();
    expect(parser.feed('INFO [job z] /tmp/x$ ', 0)).toEqual([]);
    for (let i = 1; i < 48; i++) expect(parser.feed('x'.repeat(MiB / 8), i)).toEqual([]);
    const events = parser.feed(`${'y'.repeat(100)}\nINFO [job a] /tmp/x$ true\nINFO [job a] completed success\n`, 50);
    expect(replay(events).map((t) => [t.name, t.cmd, t.exitCode])).toEqual([['a', ['true'], 0]]);
  });

  it('ends a command record whose quotes never close after a bounded length, and reads on', () => {
    const parser = CWLTOOL.createTaskParser!();
    const events = parser.feed("INFO [job a] /tmp/x$ sh \\\n    -c \\\n    echo it's\n", 1);
    for (let i = 0; i < 5; i++) events.push(...parser.feed(`${'tool output\n'.repeat(MiB / 12)}`, 2 + i));
    events.push(...parser.feed('INFO [job a] completed success\nINFO [job b] /tmp/y$ true\n', 10));
    const tasks = replay(events);
    expect(tasks.map((t) => t.name)).toEqual(['a', 'b']);
    expect(tasks[0].cmd.slice(0, 2)).toEqual(['sh', '-c']);
    expect(tasks[0].cmd[2].length).toBeLessThan(4 * MiB + 100);
    expect(tasks[0].exitCode).toBe(0);
    expect(tasks[1].cmd).toEqual(['true']);
  });
});

/** A command record as cwltool writes it (job.py: shellescape.quote where needed, " \\\n    " between). */
function cwltoolRecord(job: string, args: string[], stdout?: string): string {
  const quote = (a: string) => (/(^$|[\s|&;()<>'"$@])/.test(a) ? `'${a.replace(/'/g, `'"'"'`)}'` : a);
  return `INFO [job ${job}] /tmp/out$ ${args.map(quote).join(' \\\n    ')}${stdout ? ` > ${stdout}` : ''}\n`;
}

describe('parseCommandRecord', () => {
  it('gives back any arguments cwltool quoted, and the captured stdout', () => {
    const LEVEL_START = /(^|\n)(DEBUG|INFO|WARNING|ERROR|CRITICAL) /;
    const arg = fc.string({ unit: fc.constantFrom('a', ' ', "'", '"', '\\', '\n', '$', '>', '<', '|', '-', 'é', '\t', '2', '/') });
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), fc.boolean(), (args, captured) => {
        // A line of an argument that starts like a record is read as one: cwltool's log cannot tell them apart.
        fc.pre(!args.some((a) => LEVEL_START.test(a)));
        const parser = new CwltoolTaskParser();
        const stdout = captured ? '/tmp/logs/x/out put.txt' : undefined;
        const events = parser.feed(cwltoolRecord('x', args, stdout) + 'INFO [job x] completed success\n', 5);
        const tasks = replay(events);
        expect(tasks).toHaveLength(1);
        expect(tasks[0].cmd).toEqual(args);
        expect(tasks[0].stdoutPath).toBe(stdout);
      }),
      { numRuns: 500 },
    );
  });

  it('waits for the rest of a record: a line ending in a separator, or a quote still open', () => {
    expect(parseCommandRecord('echo \\')).toBeUndefined();
    expect(parseCommandRecord("echo \\\n    'two\nlines")).toBeUndefined();
    expect(parseCommandRecord("echo \\\n    'two\nlines'")).toEqual({ args: ['echo', 'two\nlines'] });
  });

  it('splits stdin, stdout and stderr redirections off the last argument', () => {
    expect(parseCommandRecord("cat \\\n    'a b' < /in/x.txt > /out/y.txt 2> /out/z.txt")).toEqual({
      args: ['cat', 'a b'],
      stdin: '/in/x.txt',
      stdout: '/out/y.txt',
      stderr: '/out/z.txt',
    });
  });
});
