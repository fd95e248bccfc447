import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CWLTOOL, launchEngine } from '../../../libs/engines/src';
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
const root = mkdtempSync(path.join(os.tmpdir(), 'wes-task-tracker-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const log = createLogger('task-tracker-spec', 'silent');
const WORKFLOWS = path.resolve(__dirname, '../../../test/workflows/tasks');

/** A RUNNING run (attempt 1), a scratch folder, and tracker options for them. */
async function setUp(extra: Partial<TaskTrackerOptions> = {}) {
  const { keys, sm, runId } = await runningRun(r.redis, 'tracker');
  const tasks = new TaskStore(r.redis, keys);
  const scratch = mkdtempSync(path.join(root, 'run-'));
  for (const d of ['logs', 'task-logs', 'tmp', 'outputs']) mkdirSync(path.join(scratch, d));
  const store = new LocalObjectStore(path.join(root, 'store'));
  const options: TaskTrackerOptions = {
    runId,
    attempt: 1,
    stderrFile: path.join(scratch, 'logs', 'stderr'),
    taskLogDir: path.join(scratch, 'task-logs'),
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
      taskLogDir: options.taskLogDir,
      parameters: {},
    });
    const engine = launchEngine(command, { cwd: scratch, stdoutFile: path.join(scratch, 'logs', 'stdout'), stderrFile: options.stderrFile });
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

  it('stores a task as soon as its record is written, and closes open tasks with the note at the end', async () => {
    const { tasks, runId, options, storedLog } = await setUp();
    const capture = path.join(options.taskLogDir, 'nap', 'nap.txt');
    mkdirSync(path.dirname(capture));
    writeFileSync(capture, 'rested\n');
    writeFileSync(options.stderrFile, record('[workflow ] start') + record('[step nap] start'));
    const tracker = new TaskTracker(CWLTOOL.createTaskParser!(), options);
    tracker.start();
    appendFileSync(options.stderrFile, record(`[job nap] /tmp/x$ sleep \\\n    60 > ${capture}`));
    const nap = await waitFor('the nap task', async () => (await tasks.page(runId, 10)).tasks[0]);
    expect(nap).toMatchObject({ id: '1', name: 'nap', cmd: ['sleep', '60'], attempt: 1 });
    expect(nap.end).toBeUndefined();

    // Records of tasks that read files outside the task log folder, or files cwltool removed.
    const secret = path.join(root, 'secret.txt');
    writeFileSync(secret, 'not for clients\n');
    symlinkSync(secret, path.join(options.taskLogDir, 'link.txt'));
    appendFileSync(
      options.stderrFile,
      record(`[job forged] /tmp/y$ cat > ${secret}`) +
        record('[job forged] completed success') +
        record(`[job linked] /tmp/y$ cat > ${path.join(options.taskLogDir, 'link.txt')}`) +
        record('[job linked] completed success') +
        record(`[job gone] /tmp/y$ true 2> ${path.join(options.taskLogDir, 'gone', 'err.txt')}`) +
        record('[job gone] completed success'),
    );
    await waitFor('three more tasks', async () => (await tasks.page(runId, 10)).tasks.filter((t) => t.end !== undefined).length === 3);
    await tracker.finish(Date.now(), 'canceled');

    const all = (await tasks.page(runId, 10)).tasks;
    expect(all.map((t) => [t.name, t.exitCode, t.stdout ?? t.stderr ?? false])).toEqual([
      ['nap', undefined, true],
      ['forged', 0, false],
      ['linked', 0, false],
      ['gone', 0, false],
    ]);
    expect(all[0].end).toBeGreaterThanOrEqual(all[0].start);
    expect(all[0].systemLogs).toEqual(['canceled']);
    expect(all.slice(1).every((t) => t.systemLogs.length === 0)).toBe(true);
    expect(await storedLog('1', 'stdout')).toBe('rested\n');
    expect(await storedLog('2', 'stdout')).toBeUndefined();
    expect(await storedLog('3', 'stdout')).toBeUndefined();
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
