import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CWLTOOL, launchEngine, unsandboxedEnv } from '../../../libs/engines/src';
import { createLogger } from '../../../libs/logging/src';
import { runObjectKeys, TaskStore } from '../../../libs/runs/src';
import { LocalObjectStore } from '../../../libs/storage/src';
import { CWLTOOL as CWLTOOL_PATH } from '../../../test/helpers/stack';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { runningRun } from '../../../test/helpers/running-run';
import { TaskTracker, TaskTrackerOptions } from './task-tracker';

/**
 * The tracker against a real Redis, a real object store folder and files: once following real
 * cwltool, once following a log the test writes itself, line by line, to see what is stored
 * while the "engine" runs.
 */
const r = usePrivateRedis();
// Real path: the tracker's descriptors are recognised by the path /proc gives them.
const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'wes-task-tracker-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const log = createLogger('task-tracker-spec', 'silent');
const WORKFLOWS = path.resolve(__dirname, '../../../test/workflows/tasks');

/** A RUNNING run (attempt 1), a scratch folder, and tracker options for them. */
async function setUp(extra: Partial<TaskTrackerOptions> = {}) {
  const { keys, sm, runId } = await runningRun(r.redis, 'tracker');
  const tasks = new TaskStore(r.redis, keys);
  const scratch = mkdtempSync(path.join(root, 'run-'));
  for (const d of ['logs', 'tmp', 'outputs']) mkdirSync(path.join(scratch, d));
  const store = new LocalObjectStore(path.join(root, 'store'));
  const options: TaskTrackerOptions = {
    runId,
    attempt: 1,
    stderrFile: path.join(scratch, 'logs', 'stderr'),
    scratchDir: scratch,
    tasks,
    store,
    maxLogBytes: 1024,
    log,
    pollMs: 200,
    ...extra,
  };
  const storedLog = async (id: string, stream: 'stdout' | 'stderr') => {
    const info = await store.stat(runObjectKeys.taskLog(runId, 1, id, stream));
    if (!info) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of (await store.get(info.key)).body) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  return { sm, tasks, runId, scratch, options, storedLog };
}

/** Whether this process (the tracker runs in it) holds `file` open. */
function heldOpen(file: string): boolean {
  return readdirSync('/proc/self/fd').some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false; // closed meanwhile (the descriptor of the listing itself, say)
    }
  });
}

async function waitFor<T>(what: string, read: () => Promise<T | undefined | null | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(20);
  }
}

describe('TaskTracker following cwltool', () => {
  it('stores each job as it runs, with the stdout and stderr it captured', async () => {
    const { tasks, runId, scratch, options, storedLog } = await setUp({ maxLogBytes: 150 });
    writeFileSync(path.join(scratch, 'job.json'), JSON.stringify({ words: ['a', "it's a b c", 'long'.repeat(40)], code: 3 }));
    const command = CWLTOOL.command(CWLTOOL_PATH, {
      workflowPath: path.join(WORKFLOWS, 'three-steps.cwl'),
      paramsPath: path.join(scratch, 'job.json'),
      outDir: path.join(scratch, 'outputs'),
      tmpDir: path.join(scratch, 'tmp'),
      parameters: {},
    });
    const engine = await launchEngine(command, { cwd: scratch, env: unsandboxedEnv(process.env, CWLTOOL.environment), stdoutFile: path.join(scratch, 'logs', 'stdout'), stderrFile: options.stderrFile });
    const tracker = new TaskTracker(CWLTOOL.createTaskParser!(), options);
    const started = Date.now();
    tracker.start();
    const exit = await engine.exited;
    const exited = Date.now();
    await tracker.finish(exited, 'the engine ended before this task finished');
    expect(exit.exitCode).not.toBe(0);

    const { tasks: stored, more } = await tasks.page(runId, 10);
    expect(more).toBe(false);
    expect(stored.map((t) => [t.id, t.name, t.exitCode])).toEqual([
      ['1', 'echo', 0],
      ['2', 'echo_2', 0],
      ['3', 'echo_3', 0],
      ['4', 'count', 0],
      ['5', 'fail', 3],
    ]);
    for (const t of stored) {
      expect(t.start).toBeGreaterThanOrEqual(started);
      expect(t.end).toBeLessThanOrEqual(exited);
      expect(t.end).toBeGreaterThanOrEqual(t.start);
    }
    // What each echo job captured is its own argument list, as the process got it.
    expect(await storedLog('2', 'stdout')).toBe(`${['sh', '-c', 'tr "\\0" "\\n" < /proc/$$/cmdline', 'argv', "it's a b c"].join('\n')}\n`);
    expect(stored[1].cmd).toEqual((await storedLog('2', 'stdout'))!.trimEnd().split('\n'));
    expect(stored[1].stdout).toBe(true);
    // Over the cap (150 bytes): not stored, and the task says so.
    expect(stored[2].stdout).toBeUndefined();
    expect(await storedLog('3', 'stdout')).toBeUndefined();
    expect(stored[2].systemLogs).toEqual([expect.stringMatching(/^stdout not stored: its \d+ bytes exceed WES_TASK_LOG_MAX_BYTES \(150\)$/)]);
    // The failing job's stderr, captured by cwltool, stored after cwltool removed its job folder.
    expect(stored[4].stderr).toBe(true);
    expect(await storedLog('5', 'stderr')).toMatch(/\noops\n$/);
    expect(stored[4].systemLogs).toEqual(['exited with status: 3', 'completed permanentFail']);
  });
});

describe('TaskTracker following a log as it grows', () => {
  const record = (line: string) => `INFO ${line}\n`;
  /** The folder cwltool would run a job in (under --tmp-outdir-prefix), made. */
  const jobDir = (scratch: string, name: string) => {
    const dir = path.join(scratch, 'tmp', name);
    mkdirSync(dir);
    return dir;
  };

  it('stores a task as soon as its record is written, and closes open tasks with the note at the end', async () => {
    const { tasks, runId, scratch, options, storedLog } = await setUp();
    const capture = path.join(jobDir(scratch, 'nap'), 'nap.txt');
    writeFileSync(capture, 'rested\n');
    writeFileSync(options.stderrFile, record('[workflow ] start') + record('[step nap] start'));
    const tracker = new TaskTracker(CWLTOOL.createTaskParser!(), options);
    tracker.start();
    appendFileSync(options.stderrFile, record(`[job nap] /tmp/x$ sleep \\\n    60 > ${capture}`));
    const nap = await waitFor('the nap task', async () => (await tasks.page(runId, 10)).tasks[0]);
    expect(nap).toMatchObject({ id: '1', name: 'nap', cmd: ['sleep', '60'], attempt: 1 });
    expect(nap.end).toBeUndefined();
    await waitFor('the capture held open', async () => heldOpen(capture));
    await tracker.finish(Date.now(), 'canceled');

    const [ended] = (await tasks.page(runId, 10)).tasks;
    expect(ended).toMatchObject({ name: 'nap', stdout: true, systemLogs: ['canceled'] });
    expect(ended.end).toBeGreaterThanOrEqual(ended.start);
    expect(await storedLog('1', 'stdout')).toBe('rested\n');
    expect(heldOpen(capture)).toBe(false);
  });

  it('stores what a job captured after cwltool renamed the file away and deleted its folder', async () => {
    const { tasks, runId, scratch, options, storedLog } = await setUp();
    const dir = jobDir(scratch, 'ls');
    const [out, err] = [path.join(dir, 'out.txt'), path.join(dir, 'err.txt')];
    const tracker = new TaskTracker(CWLTOOL.createTaskParser!(), options);
    tracker.start();
    // cwltool logs the job, then creates its captures and starts the tool.
    writeFileSync(options.stderrFile, record(`[job ls] ${dir}$ ls > ${out} 2> ${err}`));
    await waitFor('the ls task', async () => (await tasks.page(runId, 10)).tasks[0]);
    writeFileSync(out, '');
    writeFileSync(err, '');
    await waitFor('both captures held open', async () => heldOpen(out) && heldOpen(err));
    appendFileSync(out, 'err.txt\nout.txt\n');
    appendFileSync(err, 'a warning\n');
    // The job ends; before the tracker can read that, cwltool moves the output away and removes the job folder.
    appendFileSync(options.stderrFile, record('[job ls] completed success'));
    renameSync(out, path.join(scratch, 'outputs', 'out.txt'));
    rmSync(dir, { recursive: true });
    await waitFor('the task ended', async () => (await tasks.page(runId, 10)).tasks[0].end !== undefined);
    await tracker.finish(Date.now(), 'the engine ended before this task finished');

    const [ls] = (await tasks.page(runId, 10)).tasks;
    expect(ls).toMatchObject({ name: 'ls', exitCode: 0, stdout: true, stderr: true, systemLogs: [] });
    expect(await storedLog('1', 'stdout')).toBe('err.txt\nout.txt\n');
    expect(await storedLog('1', 'stderr')).toBe('a warning\n');
    expect(heldOpen(path.join(scratch, 'outputs', 'out.txt'))).toBe(false);
  });

  it('refuses captures outside the run folder, through links, or not regular files, and notes those it missed', async () => {
    const { tasks, runId, scratch, options, storedLog } = await setUp();
    const dir = jobDir(scratch, 'forger');
    const secret = path.join(root, 'secret.txt');
    writeFileSync(secret, 'not for clients\n');
    const inside = path.join(dir, 'inside.txt');
    writeFileSync(inside, 'a file of the run\n');
    symlinkSync(secret, path.join(dir, 'out-link.txt'));
    symlinkSync(inside, path.join(dir, 'in-link.txt'));
    symlinkSync(root, path.join(dir, 'root-link'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    const forged: [string, string][] = [
      ['outside', secret],
      ['linked-outside', path.join(dir, 'out-link.txt')],
      ['linked-inside', path.join(dir, 'in-link.txt')],
      ['folder-linked-outside', path.join(dir, 'root-link', 'secret.txt')],
      ['fifo', path.join(dir, 'fifo')],
      ['folder', dir],
      ['gone', path.join(dir, 'never', 'err.txt')],
    ];
    // What a tool could print: records naming files it wants the worker to read.
    writeFileSync(options.stderrFile, forged.map(([job, file]) => record(`[job ${job}] /tmp/y$ cat 2> ${file}`) + record(`[job ${job}] completed success`)).join(''));
    const tracker = new TaskTracker(CWLTOOL.createTaskParser!(), options);
    tracker.start();
    await waitFor('every forged task noted', async () => (await tasks.page(runId, 10)).tasks.filter((t) => t.systemLogs.length > 0).length === forged.length);
    await tracker.finish(Date.now(), 'canceled');

    const all = (await tasks.page(runId, 10)).tasks;
    const refused = "stderr not stored: refused: not a regular file inside the run's folder";
    expect(all.map((t) => [t.name, t.stderr ?? false, t.systemLogs])).toEqual([
      ...forged.slice(0, -1).map(([job]) => [job, false, [refused]]),
      ['gone', false, ['stderr not stored: the file was gone before it could be opened (or never written)']],
    ]);
    for (const id of ['1', '2', '3', '4', '5', '6', '7']) expect(await storedLog(id, 'stderr')).toBeUndefined();
    expect(heldOpen(inside) || heldOpen(secret)).toBe(false);
  });

  it('holds no more captures at once than its bound, and notes those it had to miss', async () => {
    const { tasks, runId, scratch, options, storedLog } = await setUp({ maxOpenCaptures: 1 });
    const dir = jobDir(scratch, 'two');
    const files = ['a.out', 'a.err', 'b.out'].map((f) => path.join(dir, f));
    for (const f of files) writeFileSync(f, `${path.basename(f)}\n`);
    writeFileSync(options.stderrFile, record(`[job a] ${dir}$ true > ${files[0]} 2> ${files[1]}`) + record('[job a] completed success'));
    const tracker = new TaskTracker(CWLTOOL.createTaskParser!(), options);
    tracker.start();
    await waitFor("a's stdout stored", async () => (await tasks.page(runId, 10)).tasks[0]?.stdout);
    // a's descriptor is closed: b may hold one.
    appendFileSync(options.stderrFile, record(`[job b] ${dir}$ true > ${files[2]}`) + record('[job b] completed success'));
    await waitFor("b's stdout stored", async () => (await tasks.page(runId, 10)).tasks[1]?.stdout);
    await tracker.finish(Date.now(), 'canceled');

    const [a, b] = (await tasks.page(runId, 10)).tasks;
    expect(a).toMatchObject({ stdout: true, systemLogs: ['stderr not stored: more than 1 captured files were open at once'] });
    expect(a.stderr).toBeUndefined();
    expect(b).toMatchObject({ stdout: true, systemLogs: [] });
    expect([await storedLog('1', 'stdout'), await storedLog('1', 'stderr'), await storedLog('2', 'stdout')]).toEqual(['a.out\n', undefined, 'b.out\n']);
  });

  it('records no more tasks than its bound, and cuts a command line too long to keep (a tool can forge records)', async () => {
    const { tasks, runId, options } = await setUp({ maxTasks: 3 });
    const huge = 'x'.repeat(70 * 1024);
    const lines = ['a', 'b', 'c', 'd', 'e'].map((j) => record(`[job ${j}] /tmp/x$ echo ${j === 'b' ? huge : j}`) + record(`[job ${j}] completed success`));
    writeFileSync(options.stderrFile, lines.join(''));
    const tracker = new TaskTracker(CWLTOOL.createTaskParser!(), options);
    tracker.start();
    await tracker.finish(Date.now(), 'the engine ended before this task finished');
    const stored = (await tasks.page(runId, 10)).tasks;
    expect(stored.map((t) => t.name)).toEqual(['a', 'b', 'c']);
    const b = stored[1];
    expect(b.cmd.join('').length).toBe(64 * 1024);
    expect(b.cmd.join(' ').startsWith('echo x')).toBe(true);
    expect(b.systemLogs).toEqual(['command line cut to its first 65536 characters']);
    expect(stored[0].systemLogs).toEqual([]);
    expect(stored[0].cmd.join(' ')).toBe('echo a');
  });

  it('stops writing once the run has moved on to another attempt, without failing', async () => {
    const { sm, tasks, runId, options } = await setUp();
    writeFileSync(options.stderrFile, record('[job a] /tmp/x$ true'));
    const tracker = new TaskTracker(CWLTOOL.createTaskParser!(), options);
    tracker.start();
    await waitFor('task a', async () => (await tasks.page(runId, 10)).tasks.length === 1);
    await sm.sendOrThrow(runId, 'preempt', { attempt: 1 });
    await sm.sendOrThrow(runId, 'initialize');
    await sm.sendOrThrow(runId, 'run', { attempt: 2 });
    expect(await tasks.reset(runId, 2)).toBe(true);
    appendFileSync(options.stderrFile, record('[job a] completed success') + record('[job b] /tmp/x$ true'));
    await tracker.finish(Date.now(), 'the engine ended before this task finished');
    expect((await tasks.page(runId, 10)).tasks).toEqual([]);
  });
});
