import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runForm, workflowFiles } from '../helpers/client';
import { localCwltool, useStack } from '../helpers/e2e';
import { expectValidComponent } from '../helpers/wes-schema';

/**
 * WES 1.1 tasks as a client sees them, from real cwltool runs through the real API and worker:
 * one task per job (scatter elements, an ExpressionTool, a failing step), named as cwltool
 * names them, in start order, inside the run's times, paginated like the runs, listed while
 * the run is RUNNING, with the stdout/stderr each step captured served at the task's URLs
 * (kept without changing what the tools see).
 */
const h = useStack({ workerConcurrency: 2 });

const TASK_FILES = ['tasks/three-steps.cwl', 'tasks/argv.cwl', 'tasks/count.cwl', 'tasks/finish.cwl'];
/** The scripts of the two tools (see test/workflows/tasks), as the tools' command lines hold them. */
const ARGV = ['sh', '-c', 'tr "\\0" "\\n" < /proc/$$/cmdline', 'argv'];
const FINISH = ['sh', '-c', 'tr "\\0" "\\n" < /proc/$$/cmdline >&2; echo oops >&2; sleep 0.3; exit $1', 'finish'];

/** A CWL v1.2 run of a workflow of test/workflows, with the documents it needs attached. */
function cwlRun(workflow: string, params: Record<string, unknown>, files: string[]) {
  const spec = { workflow_url: workflow, workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: params, attachments: workflowFiles(...files) };
  return runForm(spec);
}

const threeSteps = (words: string[], code: number) => cwlRun('tasks/three-steps.cwl', { words, code }, TASK_FILES);

/** Every task of a run, walking the pages (page_size 2): the pages, and the tasks in order. */
async function walkTasks(runId: string, pageSize = 2) {
  const pages: any[][] = [];
  let token = '';
  do {
    const q = new URLSearchParams({ page_size: String(pageSize), ...(token ? { page_token: token } : {}) });
    const body = await h.client.getJson(`/runs/${runId}/tasks?${q}`);
    expect(typeof body.next_page_token).toBe('string');
    pages.push(body.task_logs);
    token = body.next_page_token;
  } while (token);
  return { pages, tasks: pages.flat() };
}

const seconds = (iso: string) => Date.parse(iso);

/** Each task's start and end lie inside the run's (at WES's resolution, a second, inclusive); starts in order. */
function expectInsideRun(run: any, tasks: any[]) {
  const [runStart, runEnd] = [seconds(run.run_log.start_time), seconds(run.run_log.end_time)];
  for (const t of tasks) {
    expect(seconds(t.start_time), `${t.name} starts inside the run`).toBeGreaterThanOrEqual(runStart);
    expect(seconds(t.end_time), `${t.name} ends after it starts`).toBeGreaterThanOrEqual(seconds(t.start_time));
    expect(seconds(t.end_time), `${t.name} ends inside the run`).toBeLessThanOrEqual(runEnd);
  }
  const starts = tasks.map((t) => seconds(t.start_time));
  expect(starts).toEqual([...starts].sort((a, b) => a - b));
}

/** The lines a tool wrote of its own /proc/<pid>/cmdline: the arguments it really got. */
async function argvFrom(url: string): Promise<string[]> {
  const res = await h.client.fetchText(url);
  expect(res.status, url).toBe(200);
  return res.text.trimEnd().split('\n');
}

describe('a run whose third step fails: a scatter over 3, an ExpressionTool, a failing step', () => {
  const words = ['a', "it's a b c", 'c'];
  let runId: string;
  let tasks: any[];

  it('ends EXECUTOR_ERROR with one task per job, named as cwltool names them, in start order', async () => {
    runId = await h.client.submitOk(threeSteps(words, 3));
    await h.client.waitForState(runId, ['EXECUTOR_ERROR']);
    tasks = (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs;
    expect(tasks.map((t) => t.name)).toEqual(['echo', 'echo_2', 'echo_3', 'count', 'fail']);
    expect(new Set(tasks.map((t) => t.id)).size).toBe(5);
    expect(tasks.map((t) => t.exit_code)).toEqual([0, 0, 0, 0, 3]);
    expectInsideRun(await h.client.runLog(runId), tasks);
  });

  it('gives each task the command line its step really ran', async () => {
    for (const [i, word] of words.entries()) {
      expect(tasks[i].cmd).toEqual([...ARGV, word]);
      // The tool printed the arguments it got to its captured stdout.
      expect(await argvFrom(tasks[i].stdout)).toEqual(tasks[i].cmd);
      expect(tasks[i].stderr).toBeUndefined();
    }
    expect(tasks[3].cmd).toEqual([]);
    expect(tasks[3].stdout ?? tasks[3].stderr).toBeUndefined();
    expect(tasks[4].cmd).toEqual([...FINISH, '3', '3']);
  });

  it('serves the failing task’s captured stderr at its stderr URL, with its failure in system_logs', async () => {
    const fail = tasks[4];
    expect(fail.stderr).toBe(h.client.url(`/runs/${runId}/tasks/${fail.id}/logs/stderr`));
    expect(fail.stdout).toBeUndefined();
    const stderr = await h.client.fetchText(fail.stderr);
    expect(stderr.status).toBe(200);
    expect(stderr.type).toMatch(/^text\/plain/);
    expect(stderr.text.trimEnd().split('\n')).toEqual([...fail.cmd, 'oops']);
    const range = await fetch(fail.stderr, { headers: { range: 'bytes=0-1' } });
    expect(range.status).toBe(206);
    expect(await range.text()).toBe('sh');
    expect(fail.system_logs).toEqual(['exited with status: 3', 'completed permanentFail']);
    expect((await h.client.request('GET', `/runs/${runId}/tasks/${fail.id}/logs/stdout`)).status).toBe(404);
    expect((await h.client.request('GET', `/runs/${runId}/tasks/${fail.id}/logs/other`)).status).toBe(404);
  });

  it('pages through the same tasks two at a time', async () => {
    const { pages, tasks: walked } = await walkTasks(runId, 2);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(walked).toEqual(tasks);
    const all = await walkTasks(runId, 1000);
    expect(all.pages).toEqual([tasks]);
  });

  it('answers GET of each task with the task of the list, and 404 for a task it does not have', async () => {
    for (const t of tasks) expect(await h.client.getJson(`/runs/${runId}/tasks/${t.id}`)).toEqual(t);
    for (const bad of ['999', '0', 'echo', '1.0']) {
      const r = await h.client.request('GET', `/runs/${runId}/tasks/${bad}`);
      expect(r.status, bad).toBe(404);
      expect(r.body.msg).toContain(bad);
    }
  });

  it('lists the tasks in the RunLog too (task_logs, deprecated)', async () => {
    const log = await h.client.runLog(runId);
    expect(log.task_logs).toEqual(tasks);
    expect(log.task_logs_url).toBe(h.client.url(`/runs/${runId}/tasks`));
  });

  it('refuses a bad page_size or page_token with 400 naming it', async () => {
    for (const [query, field] of [
      ['page_size=0', 'page_size'],
      ['page_size=two', 'page_size'],
      ['page_token=not-a-token', 'page_token'],
      [`page_token=${Buffer.from('x').toString('base64url')}`, 'page_token'],
    ]) {
      // The official document lists no 400 for ListTasks (this server's does): read it raw.
      const res = await fetch(h.client.url(`/runs/${runId}/tasks?${query}`));
      const body = (await res.json()) as { msg: string; status_code: number };
      expect(res.status, query).toBe(400);
      expectValidComponent('ErrorResponse', body, `GET tasks?${query}`);
      expect(body.status_code).toBe(400);
      expect(body.msg).toContain(field);
    }
  });
});

describe('a run whose three steps pass', () => {
  it('completes with every task exiting 0, each with the command line its step ran', async () => {
    const words = ['x', 'y y', 'z'];
    const runId = await h.client.submitOk(threeSteps(words, 0));
    await h.client.waitForState(runId, ['COMPLETE']);
    const run = await h.client.runLog(runId);
    const { tasks } = await walkTasks(runId);
    expect(tasks.map((t) => [t.name, t.exit_code])).toEqual([
      ['echo', 0],
      ['echo_2', 0],
      ['echo_3', 0],
      ['count', 0],
      ['fail', 0],
    ]);
    expectInsideRun(run, tasks);
    for (const [i, word] of words.entries()) {
      expect(tasks[i].cmd).toEqual([...ARGV, word]);
      expect(await argvFrom(tasks[i].stdout)).toEqual(tasks[i].cmd);
    }
    // The ExpressionTool's result is the run's output.
    expect(run.outputs).toEqual({ total: 3 });
    expect(tasks[4].cmd).toEqual([...FINISH, '0', '3']);
    expect(await argvFrom(tasks[4].stderr)).toEqual([...tasks[4].cmd, 'oops']);
    expect(tasks.every((t) => t.system_logs.length === 0)).toBe(true);
  });
});

describe('a step that lists the folder it runs in', () => {
  it('sees its own stdout: file there, as under cwltool alone, and its task serves that listing', async () => {
    const alone = localCwltool('tasks/list-self.cwl', {});
    expect(alone).toEqual({ exitCode: 0, files: { 'listing.txt': 'listing.txt\n' } });
    const runId = await h.client.submitOk(cwlRun('tasks/list-self.cwl', {}, ['tasks/list-self.cwl']));
    await h.client.waitForState(runId, ['COMPLETE']);
    const { outputs } = await h.client.runLog(runId);
    expect(outputs.listing.basename).toBe('listing.txt');
    expect((await h.client.fetchText(outputs.listing.location)).text).toBe(alone.files['listing.txt']);
    const [task, after, ...more] = (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs;
    expect(more).toEqual([]);
    expect(after).toMatchObject({ name: 'after', exit_code: 0 });
    expect(task).toMatchObject({ name: 'list', cmd: ['ls'], exit_code: 0, system_logs: [] });
    expect(task.stdout).toBe(h.client.url(`/runs/${runId}/tasks/${task.id}/logs/stdout`));
    expect(await h.client.fetchText(task.stdout)).toMatchObject({ status: 200, text: alone.files['listing.txt'] });
  });
});

describe('a run of more than 100 tasks', () => {
  it('names each element of a scattered ExpressionTool, and leaves them out of the RunLog (task_logs null)', async () => {
    const n = Array.from({ length: 101 }, (_, i) => i);
    const runId = await h.client.submitOk(cwlRun('tasks/many.cwl', { n }, ['tasks/many.cwl']));
    await h.client.waitForState(runId, ['COMPLETE']);
    const run = await h.client.runLog(runId);
    expect(run.outputs.doubled).toEqual(n.map((i) => 2 * i));
    expect(run.task_logs).toBeNull();
    const { pages, tasks } = await walkTasks(runId, 100);
    expect(pages.map((p) => p.length)).toEqual([100, 1]);
    expect(tasks.map((t) => t.name)).toEqual(n.map((i) => (i === 0 ? 'double' : `double_${i + 1}`)));
    expect(tasks.every((t) => t.exit_code === 0 && t.cmd.length === 0)).toBe(true);
    expectInsideRun(run, tasks);
  });
});

describe('a run still going', () => {
  it('lists its first task while it is RUNNING; a cancel closes it', async () => {
    const runId = await h.client.submitOk(cwlRun('tasks/slow.cwl', { seconds: 600 }, ['tasks/slow.cwl', 'tasks/nap.cwl']));
    let tasks: any[] = [];
    while (tasks.length === 0) {
      await sleep(100);
      tasks = (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs;
      if (tasks.length === 0) expect(['QUEUED', 'INITIALIZING', 'RUNNING']).toContain(await h.client.status(runId));
    }
    // The step sleeps for ten minutes: the run is still going.
    expect(await h.client.status(runId)).toBe('RUNNING');
    expect(tasks).toEqual([expect.objectContaining({ id: '1', name: 'nap', cmd: ['sh', '-c', 'sleep "$0"; echo rested', '600'] })]);
    expect(tasks[0].end_time).toBeUndefined();
    expect(tasks[0].exit_code).toBeUndefined();
    expect((await h.client.runLog(runId)).task_logs).toEqual(tasks);

    expect((await h.client.cancel(runId)).status).toBe(200);
    await h.client.waitForState(runId, ['CANCELED']);
    const run = await h.client.runLog(runId);
    const [nap] = (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs;
    expect(nap.system_logs).toEqual(['canceled']);
    expect(nap.exit_code).toBeUndefined();
    expectInsideRun(run, [nap]);
  });
});
