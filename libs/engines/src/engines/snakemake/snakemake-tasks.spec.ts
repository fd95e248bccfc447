import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineTask, TaskEvent } from '../../engine-tasks';
import { SNAKEMAKE } from './snakemake-engine';
import { shellOf } from './snakemake-tasks';

/** Snakemake 7.21's real stderr, captured by fixtures/capture.sh from the Snakefiles beside it. */
const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', `${name}.stderr`), 'utf8');

/** The tasks as the events left them, checking that keys come in start order and nothing follows an end. */
function tasksOf(text: string, pieces: string[] = text.split(/(?<=\n)/)): EngineTask[] {
  const parser = SNAKEMAKE.createTaskParser();
  const events: TaskEvent[] = [];
  pieces.forEach((p, i) => events.push(...parser.feed(p, 1000 + i)));
  events.push(...parser.finish(1000 + pieces.length));
  const tasks: EngineTask[] = [];
  const ended = new Set<number>();
  for (const { type, task } of events) {
    if (type === 'started') expect(task.key).toBe(tasks.length);
    expect(ended.has(task.key)).toBe(false);
    if (type === 'ended') ended.add(task.key);
    tasks[task.key] = task;
  }
  return tasks;
}

describe('snakemake tasks', () => {
  it('lists the rules of a successful run in the order they ran, each ended with 0', () => {
    const tasks = tasksOf(fixture('two-rules'));
    expect(tasks.map((t) => [t.name, t.exitCode, t.end !== undefined])).toEqual([
      ['upper', 0, true],
      ['count', 0, true],
    ]);
    expect(tasks[0].start).toBeLessThan(tasks[1].start);
    expect(tasks.every((t) => t.systemLogs.length === 0 && t.cmd.length === 0)).toBe(true);
  });

  it('ends a failed job with its error block, its shell command read back, and leaves no exit code Snakemake did not print', () => {
    const tasks = tasksOf(fixture('failing'));
    expect(tasks.map((t) => t.name)).toEqual(['ok', 'fail']);
    const fail = tasks[1];
    expect(fail.end).toBeDefined();
    expect(fail.exitCode).toBeUndefined();
    expect(fail.cmd).toEqual(["echo 'about to fail' >&2\nexit 3"]);
    expect(fail.systemLogs).toHaveLength(1);
    expect(fail.systemLogs[0]).toMatch(/^Error in rule fail:\n {4}jobid: 2\n/);
    expect(fail.systemLogs[0]).toContain('one of the commands exited with non-zero exit code');
  });

  it('with --keep-going, goes on after a failure: a python `run:` job ends too', () => {
    const tasks = tasksOf(fixture('failing-keep-going'));
    expect(tasks.map((t) => [t.name, t.exitCode])).toEqual([
      ['ok', 0],
      ['fail', undefined],
      ['python', 0],
    ]);
  });

  it('with --restart-times, lists each try of a job as a task of its own, each failed with its error block', () => {
    const tasks = tasksOf(fixture('restart'));
    expect(tasks.map((t) => [t.name, t.exitCode, t.end !== undefined, t.systemLogs.length])).toEqual([
      ['ok', 0, true, 0],
      ['fail', undefined, true, 1],
      ['fail', undefined, true, 1],
    ]);
  });

  it('reads jobs run side by side (--cores 2), whatever pieces the text comes in', () => {
    const text = fixture('parallel');
    const expected = [
      ['fail', undefined],
      ['python', 0],
      ['ok', 0],
    ];
    expect(tasksOf(text).map((t) => [t.name, t.exitCode])).toEqual(expected);
    // Cut anywhere, even mid-line: the same tasks.
    for (const size of [1, 7, 64]) {
      const pieces = text.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!;
      expect(tasksOf(text, pieces).map((t) => [t.name, t.exitCode])).toEqual(expected);
    }
  });

  it('leaves a job that never ended open (the worker notes why when the engine stops)', () => {
    const text = fixture('two-rules');
    const cut = text.indexOf('Finished job 1.');
    const tasks = tasksOf(text.slice(0, cut));
    expect(tasks.map((t) => [t.name, t.end])).toEqual([['upper', undefined]]);
  });

  it('reads the shell command of an error block without its indentation', () => {
    expect(shellOf(['    jobid: 1', '    shell:', '        false', '        (one of the commands exited with non-zero exit code)'])).toBe('false');
    expect(shellOf(['    jobid: 1'])).toBeUndefined();
  });
});

describe('snakemake command line', () => {
  const input = { workflowPath: '/wes/attachments/Snakefile', paramsPath: '/wes/attachments/wes-params.json', outDir: '/wes/attachments', tmpDir: '/wes/tmp' };

  it('is an argument array: the Snakefile, the params as its config, the output folder as its work folder, the worker\'s cores', () => {
    expect(SNAKEMAKE.command('/usr/bin/snakemake', { ...input, parameters: {}, options: { cores: '3' } })).toEqual({
      file: '/usr/bin/snakemake',
      args: [
        '--nocolor',
        '--printshellcmds',
        '--cores',
        '3',
        '--snakefile',
        '/wes/attachments/Snakefile',
        '--configfile',
        '/wes/attachments/wes-params.json',
        '--directory',
        '/wes/attachments',
      ],
    });
  });

  it('uses 1 core when the worker names none, and refuses an option that is not a count', () => {
    expect(SNAKEMAKE.command('snakemake', { ...input, parameters: {} }).args.slice(2, 4)).toEqual(['--cores', '1']);
    for (const cores of ['0', 'all', '-2', '1.5']) {
      expect(() => SNAKEMAKE.command('snakemake', { ...input, parameters: {}, options: { cores } })).toThrow(/engineOptions\.snakemake\.cores: "/);
    }
  });

  it('adds the allow-listed client parameters after its own', () => {
    const { args } = SNAKEMAKE.command('snakemake', { ...input, parameters: { '--keep-going': 'true', '--notemp': 'false', '--restart-times': '2' } });
    expect(args.slice(10)).toEqual(['--keep-going', '--restart-times', '2']);
  });

  it('parses its version', () => {
    expect(SNAKEMAKE.parseVersion('7.21.0\n')).toBe('7.21.0');
  });
});
