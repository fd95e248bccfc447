import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../engine-catalog';
import { checkEngineParameters, InvalidEngineParameterError } from '../../engine-definition';
import { EngineTask, TaskEvent } from '../../engine-tasks';
import { enginesToRun, InvalidEngineSettingError } from '../../engine-settings';
import { TOIL_CWL } from './toil-cwl-engine';

const input = { workflowPath: '/wes/attachments/main.cwl', paramsPath: '/wes/attachments/p.json', outDir: '/wes/outputs', tmpDir: '/wes/tmp', parameters: {} };
const valueOf = (args: string[], flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);

describe('toil-cwl command', () => {
  it('is an argument array: a fresh job store in the run tmp folder, no retries, one job per step, the workflow and params last', () => {
    const { file, args } = TOIL_CWL.command('/usr/bin/toil-cwl-runner', input);
    expect(file).toBe('/usr/bin/toil-cwl-runner');
    expect(valueOf(args, '--jobStore')).toBe('/wes/tmp/jobstore');
    expect(valueOf(args, '--retryCount')).toBe('0');
    expect(args).toContain('--disableChaining');
    expect(valueOf(args, '--outdir')).toBe('/wes/outputs');
    expect(valueOf(args, '--batchSystem')).toBe('single_machine');
    expect(args.slice(-2)).toEqual(['/wes/attachments/main.cwl', '/wes/attachments/p.json']);
  });

  it("takes the batch system and its limits from the worker's options, never from a client", () => {
    const { args } = TOIL_CWL.command('toil-cwl-runner', { ...input, options: { batchSystem: 'slurm', maxCores: '4', unknown: 'x' } });
    expect(valueOf(args, '--batchSystem')).toBe('slurm');
    expect(valueOf(args, '--maxCores')).toBe('4');
    expect(args.join(' ')).not.toContain('unknown');
    for (const name of ['--batchSystem', '--jobStore', '--retryCount', '--maxCores', '--workDir', '--writeLogs']) {
      expect(() => checkEngineParameters(TOIL_CWL, { [name]: 'x' }), name).toThrow(InvalidEngineParameterError);
      expect(() => checkEngineParameters(TOIL_CWL, { [name]: 'x' }), name).toThrow(`"${name}"`);
    }
  });

  it('turns the allow-listed parameters into flags, drops client-side ones', () => {
    const { parameters, ignored } = checkEngineParameters(TOIL_CWL, { '--strict': 'false', '--enable-ext': '', '--logLevel': 'DEBUG', '--outdir': '/x', '--quiet': '' });
    expect(ignored).toEqual(['--outdir', '--quiet']);
    const { args } = TOIL_CWL.command('toil-cwl-runner', { ...input, parameters });
    expect(args).toContain('--not-strict');
    expect(args).toContain('--enable-ext');
    expect(valueOf(args, '--logLevel')).toBe('DEBUG');
    expect(args.filter((a) => a === '--outdir')).toHaveLength(1);
    expect(() => checkEngineParameters(TOIL_CWL, { '--logLevel': 'ERROR' })).toThrow(/INFO, DEBUG/);
  });

  it('reads its version, is stopped with SIGTERM and a grace long enough for its leader to stop its workers', () => {
    expect(TOIL_CWL.parseVersion('5.9.0\n')).toBe('5.9.0');
    expect(TOIL_CWL.stopSignal).toBe('SIGTERM');
    expect(TOIL_CWL.minStopGraceMs).toBeGreaterThanOrEqual(5_000);
    expect(ENGINES['toil-cwl']).toBe(TOIL_CWL);
  });
});

describe('toil-cwl without the sandbox', () => {
  const none = { enginePaths: {}, engineOptions: {}, engines: '', defaultEngines: {} };
  it('is left out under WES_SANDBOX=none, and a worker told to run it refuses to start', () => {
    expect(enginesToRun({ ...none, sandbox: 'none' }).find((e) => e.name === 'toil-cwl')?.leftOut).toMatch(/runs only in the sandbox/);
    expect(enginesToRun({ ...none, sandbox: 'bwrap' }).find((e) => e.name === 'toil-cwl')?.leftOut).toBeUndefined();
    expect(enginesToRun({ ...none, sandbox: 'none' }).find((e) => e.name === 'cwltool')?.leftOut).toBeUndefined();
    expect(() => enginesToRun({ ...none, sandbox: 'none', engines: 'cwltool,toil-cwl' })).toThrow(InvalidEngineSettingError);
    expect(() => enginesToRun({ ...none, sandbox: 'none', enginePaths: { 'toil-cwl': '/usr/bin/toil-cwl-runner' } })).toThrow(/WES_SANDBOX=none: toil-cwl runs only in the sandbox/);
  });
});

describe('toil-cwl clean-up', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-toil-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('removes the job store a failed run left, and nothing else', async () => {
    mkdirSync(path.join(dir, 'tmp', 'jobstore', 'jobs'), { recursive: true });
    writeFileSync(path.join(dir, 'tmp', 'keep'), '');
    const files = { root: dir, outDir: dir, engineOutDir: dir, tmpDir: path.join(dir, 'tmp'), stdoutFile: '', stderrFile: '' };
    await TOIL_CWL.cleanUp(files);
    expect(existsSync(path.join(dir, 'tmp', 'jobstore'))).toBe(false);
    expect(existsSync(path.join(dir, 'tmp', 'keep'))).toBe(true);
    await TOIL_CWL.cleanUp(files);
  });
});

/**
 * The fixtures are toil-cwl-runner 5.9's real stderr (--disableChaining --retryCount 0) of
 * test/workflows/main.cwl and of test/workflows/tasks/three-steps.cwl with code 3.
 */
const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', `${name}.stderr`), 'utf8');

function tasksOf(text: string, pieces: string[] = text.split(/(?<=\n)/)): { tasks: EngineTask[]; events: TaskEvent[] } {
  const parser = TOIL_CWL.createTaskParser();
  const events: TaskEvent[] = [];
  pieces.forEach((p, i) => events.push(...parser.feed(p, 1000 + i)));
  events.push(...parser.finish(1000 + pieces.length));
  const tasks: EngineTask[] = [];
  const ended = new Set<number>();
  for (const { type, task } of events) {
    if (type === 'started') expect(task.key).toBe(tasks.length);
    expect(ended.has(task.key), `${type} after the end of ${task.name}`).toBe(false);
    if (type === 'ended') ended.add(task.key);
    tasks[task.key] = task;
  }
  return { tasks, events };
}

describe('toil-cwl tasks', () => {
  it('lists each step of a successful run, ended with 0 when the run finished', () => {
    const { tasks } = tasksOf(fixture('two-steps'));
    expect(tasks.map((t) => [t.name, t.exitCode, t.cmd])).toEqual([
      ['main.cwl.reverse.rev.cwl', 0, []],
      ['main.cwl.count_lines.count-lines.cwl', 0, []],
    ]);
    expect(tasks.every((t) => t.end !== undefined && t.end >= t.start)).toBe(true);
  });

  it("gives the failed step its tool's own exit code and command line; the steps before it completed", () => {
    const text = fixture('three-steps-fail');
    const { tasks } = tasksOf(text);
    expect(tasks.map((t) => [t.name, t.exitCode])).toEqual([
      ['three-steps.cwl.0.argv.cwl', 0],
      ['three-steps.cwl.1.argv.cwl', 0],
      ['three-steps.cwl.count.count.cwl', 0],
      ['three-steps.cwl.fail.finish.cwl', 3],
    ]);
    const fail = tasks[3];
    expect(fail.cmd).toEqual(['sh', '-c', 'tr "\\0" "\\n" < /proc/$$/cmdline >&2; echo oops >&2; sleep 0.3; exit $1', 'finish', '3', '2']);
    expect(fail.systemLogs).toEqual(['Toil job failed with exit value 1', 'exited with status: 3']);
    // The failed step ends when the leader gives it up, before the run ends.
    expect(fail.end).toBeLessThan(tasks[0].end!);
    // Read the same whole, or byte by byte.
    const strip = (ts: EngineTask[]) => ts.map(({ start, end, ...rest }) => rest);
    expect(strip(tasksOf(text, [text]).tasks)).toEqual(strip(tasks));
    expect(strip(tasksOf(text, [...text]).tasks)).toEqual(strip(tasks));
  });

  it('leaves the steps of a run stopped before its end open (no exit code)', () => {
    const text = fixture('two-steps');
    const { tasks } = tasksOf(text.slice(0, text.indexOf('Finished toil run')));
    expect(tasks).toHaveLength(2);
    expect(tasks.every((t) => t.end === undefined && t.exitCode === undefined)).toBe(true);
  });
});
