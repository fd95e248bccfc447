import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runForm, workflowFiles } from '../helpers/client';
import { reverseLines, TWO_STEP_FILES, useStack } from '../helpers/e2e';
import { uniqueSeconds, waitFor } from '../helpers/recovery';
import { runProcessesOnMachine, waitToolUnderToil } from '../helpers/toil';
import { logHas } from '../helpers/stack';

/**
 * toil-cwl-runner (Debian toil 5.9) behind the real API and a real worker, in the bwrap sandbox
 * (the stack's default): a two-step workflow with a File from an attachment, a failing step, its
 * tasks, a cancel and a SIGKILLed worker, each checked against every process of the machine
 * (Toil's workers run in sessions of their own: the engine's process group does not hold them).
 * Each Toil run takes ~10-20 s: there are four.
 */
// Scratch folders of interrupted runs are kept (WES_KEEP_WORK_DIRS): the job store must go anyway.
const h = useStack({ workers: 1, workerConcurrency: 2, workerEnv: { WES_ENGINES: 'cwltool,toil-cwl', WES_KEEP_WORK_DIRS: 'true' } });

/** The run's job store on the worker's disk (its scratch folder is `<workDir>/<runId>-<random>`). */
function jobStoreOf(runId: string): { scratch?: string; jobStore?: string } {
  const name = readdirSync(h.stack.workDir).find((n) => n.startsWith(`${runId}-`));
  if (!name) return {};
  const scratch = path.join(h.stack.workDir, name);
  return { scratch, jobStore: path.join(scratch, 'tmp', 'jobstore') };
}

const toilRun = (spec: { workflow_url: string; workflow_type_version?: string; params: Record<string, unknown>; files: Record<string, string>; parameters?: Record<string, unknown> }) =>
  runForm({
    workflow_url: spec.workflow_url,
    workflow_type: 'CWL',
    workflow_type_version: spec.workflow_type_version ?? 'v1.2',
    workflow_engine: 'toil-cwl',
    workflow_params: spec.params,
    workflow_engine_parameters: spec.parameters,
    attachments: spec.files,
  });

describe('toil-cwl engine', () => {
  it('runs a two-step workflow with a File from an attachment to COMPLETE, its outputs served and its steps listed as tasks', async () => {
    const input = 'abc\nhello world\nxyz\n';
    const runId = await h.client.submitOk(
      toilRun({
        workflow_url: 'main.cwl',
        params: { inp: { class: 'File', location: 'input.txt' } },
        files: { ...workflowFiles(...TWO_STEP_FILES), 'input.txt': input },
        parameters: { '--strict': 'false', '--relax-path-checks': null },
      }),
    );
    const { state } = await h.client.waitForState(runId, ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR'], 180_000);
    const log = await h.client.runLog(runId);
    expect(state, JSON.stringify(log.run_log)).toBe('COMPLETE');
    expect(log.run_log.exit_code).toBe(0);
    // The command as the engine saw it: a fresh job store in the run's tmp, no retries, the allow-listed flags.
    const cmd: string[] = log.run_log.cmd;
    expect(cmd[0]).toBe('toil-cwl-runner');
    expect(cmd[cmd.indexOf('--jobStore') + 1]).toBe('<run>/tmp/jobstore');
    expect(cmd[cmd.indexOf('--retryCount') + 1]).toBe('0');
    expect(cmd[cmd.indexOf('--batchSystem') + 1]).toBe('single_machine');
    expect(cmd).toContain('--not-strict');
    expect(cmd).toContain('--relax-path-checks');
    expect(Object.keys(log.outputs).sort()).toEqual(['count', 'reversed']);
    const base = h.client.url(`/runs/${runId}/outputs/`);
    const reversed = await h.client.fetchText(log.outputs.reversed.location);
    const count = await h.client.fetchText(log.outputs.count.location);
    expect(log.outputs.reversed.location.startsWith(base)).toBe(true);
    expect(reversed.text).toBe(reverseLines(input));
    expect(count.text.trim()).toBe('3');
    const tasks = await h.client.getJson(`/runs/${runId}/tasks`);
    expect(tasks.task_logs.map((t: any) => [t.name, t.exit_code])).toEqual([
      ['main.cwl.reverse.rev.cwl', 0],
      ['main.cwl.count_lines.count-lines.cwl', 0],
    ]);
  });

  it("ends a failing step's run EXECUTOR_ERROR: the engine's exit code on the run, the step's own on its task, its failure in stderr", async () => {
    const runId = await h.client.submitOk(
      toilRun({
        workflow_url: 'tasks/three-steps.cwl',
        params: { words: ['a', 'b'], code: 3 },
        files: workflowFiles('tasks/three-steps.cwl', 'tasks/argv.cwl', 'tasks/count.cwl', 'tasks/finish.cwl'),
      }),
    );
    const { state } = await h.client.waitForState(runId, ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR'], 180_000);
    const log = await h.client.runLog(runId);
    expect(state, JSON.stringify(log.run_log)).toBe('EXECUTOR_ERROR');
    expect(log.run_log.exit_code).toBe(1);
    const stderr = await h.client.fetchText(log.run_log.stderr);
    expect(stderr.text).toContain('[job three-steps.cwl.fail.finish.cwl] exited with status: 3');
    const tasks = (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs;
    const fail = tasks.find((t: any) => t.name === 'three-steps.cwl.fail.finish.cwl');
    expect(fail, JSON.stringify(tasks)).toMatchObject({ exit_code: 3 });
    expect(fail.cmd.slice(0, 2)).toEqual(['sh', '-c']);
    expect(tasks.filter((t: any) => t !== fail).map((t: any) => t.exit_code)).toEqual([0, 0, 0]);
  });

  it('refuses a parameter off its allow-list, naming it: the batch system and job store are the worker\'s', async () => {
    for (const name of ['--batchSystem', '--jobStore', '--retryCount']) {
      const r = await h.client.submit(
        toilRun({ workflow_url: 'main.cwl', params: {}, files: workflowFiles(...TWO_STEP_FILES), parameters: { [name]: 'x' } }),
      );
      expect(r.status, name).toBe(400);
      expect(r.body.msg).toContain(`"${name}"`);
    }
  });

  it('cancelled while its tool runs: CANCELED, and no process of the run is left on the machine', async () => {
    const seconds = uniqueSeconds(300);
    const runId = await h.client.submitOk(toilRun({ workflow_url: 'nap.cwl', workflow_type_version: 'v1.1', params: { seconds }, files: workflowFiles('nap.cwl') }));
    const namespace = await waitToolUnderToil(h.client, runId, seconds, 'toil-cwl-runner');
    expect(runProcessesOnMachine(runId, seconds, namespace).length).toBeGreaterThan(2);
    const { scratch, jobStore } = jobStoreOf(runId);
    expect(existsSync(jobStore!), 'the job store while the run runs').toBe(true);
    const cancelledAt = Date.now();
    expect((await h.client.cancel(runId)).status).toBe(200);
    await h.client.waitForState(runId, ['CANCELED'], 60_000);
    const log = await h.client.runLog(runId);
    console.log(`toil-cwl cancel: CANCELED after ${Date.now() - cancelledAt} ms; ${log.run_log.system_logs?.join(' | ')}`);
    expect(runProcessesOnMachine(runId, seconds, namespace)).toEqual([]);
    // The scratch folder is kept (WES_KEEP_WORK_DIRS), the job store Toil leaves is not.
    expect(existsSync(scratch!)).toBe(true);
    expect(existsSync(jobStore!)).toBe(false);
  });

  it('a SIGKILLed worker leaves no process of its Toil run behind', async () => {
    const seconds = uniqueSeconds(300);
    const runId = await h.client.submitOk(toilRun({ workflow_url: 'nap.cwl', workflow_type_version: 'v1.1', params: { seconds }, files: workflowFiles('nap.cwl') }));
    const namespace = await waitToolUnderToil(h.client, runId, seconds, 'toil-cwl-runner');
    const holder = await h.stack.workerHolding(runId);
    expect(holder).toBeDefined();
    await h.stack.kill(holder!);
    await waitFor('every process of the run to be gone', () => runProcessesOnMachine(runId, seconds, namespace).length === 0, 15_000, 100).catch((err) => {
      throw new Error(`${(err as Error).message}: ${runProcessesOnMachine(runId, seconds, namespace).map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
    });
  });

  it('a worker without the sandbox told to run toil-cwl refuses to start, saying why', async () => {
    const w = await h.stack.startWorker({ env: { WES_SANDBOX: 'none', WES_ENGINES: 'toil-cwl' }, waitReady: false });
    const { code } = await h.stack.waitExit(w, 60_000);
    expect(code).toBe(2);
    expect(logHas(w, 'WES_SANDBOX=none: toil-cwl runs only in the sandbox')).toBe(true);
  });
});
