import { describe, expect, it } from 'vitest';
import { runForm, workflowFiles } from '../helpers/client';
import { reverseLines, useStack } from '../helpers/e2e';
import { uniqueSeconds, waitFor } from '../helpers/recovery';
import { runProcessesOnMachine, waitToolUnderToil } from '../helpers/toil';

/**
 * toil-wdl-runner of Debian's Toil 5.9 (the legacy WDL runner) behind the real API and a real
 * worker, in the sandbox: what this runner allows of the engine points (README, toil-wdl). Its
 * runs take ~20-30 s each.
 */
const h = useStack({ workers: 1, workerConcurrency: 2, workerEnv: { WES_ENGINES: 'cwltool,toil-wdl' } });

const wdlRun = (workflow: string, params: Record<string, unknown>, files: Record<string, string>, parameters?: Record<string, unknown>) =>
  runForm({ workflow_url: workflow, workflow_type: 'WDL', workflow_type_version: '1.0', workflow_params: params, workflow_engine_parameters: parameters, attachments: files });

describe('toil-wdl engine', () => {
  it('runs a two-task workflow with a File from an attachment to COMPLETE (the default engine for WDL), its File outputs served', async () => {
    const input = 'abc\nhello world\nxyz\n';
    const runId = await h.client.submitOk(
      wdlRun('wdl/two-steps.wdl', { 'main.inp': { class: 'File', location: 'input.txt' } }, { ...workflowFiles('wdl/two-steps.wdl'), 'input.txt': input }),
    );
    const { state } = await h.client.waitForState(runId, ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR'], 240_000);
    const log = await h.client.runLog(runId);
    expect(state, JSON.stringify(log.run_log)).toBe('COMPLETE');
    expect(log.run_log.cmd[0]).toBe('toil-wdl-runner');
    expect(Object.keys(log.outputs).sort()).toEqual(['main.count', 'main.reversed']);
    expect((await h.client.fetchText(log.outputs['main.reversed'].location)).text).toBe(reverseLines(input));
    expect((await h.client.fetchText(log.outputs['main.count'].location)).text.trim()).toBe('3');
    const tasks = (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs;
    expect(tasks.map((t: any) => t.name)).toEqual(['rev', 'count_lines']);
  });

  it('a failing task whose declared output is missing ends EXECUTOR_ERROR, its failure in stderr', async () => {
    const runId = await h.client.submitOk(wdlRun('wdl/fail.wdl', { 'fail.code': 3 }, workflowFiles('wdl/fail.wdl')));
    const { state } = await h.client.waitForState(runId, ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR'], 240_000);
    const log = await h.client.runLog(runId);
    expect(state, JSON.stringify(log.run_log)).toBe('EXECUTOR_ERROR');
    const stderr = await h.client.fetchText(log.run_log.stderr);
    // Toil 5.9 names the wrong file (its stderr capture), but says an output was not found.
    expect(stderr.text).toMatch(/RuntimeError: OUTPUT FILE: .* was not found/);
    expect(log.run_log.exit_code).toBe(1);
    const tasks = (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs;
    expect(tasks.map((t: any) => t.name)).toContain('finish');
  });

  it('refuses every engine parameter (it takes none), naming it', async () => {
    const r = await h.client.submit(wdlRun('wdl/two-steps.wdl', {}, workflowFiles('wdl/two-steps.wdl'), { '--batchSystem': 'slurm' }));
    expect(r.status).toBe(400);
    expect(r.body.msg).toContain('"--batchSystem"');
  });

  it('cancelled while its task runs: CANCELED, and no process of the run is left on the machine', async () => {
    const seconds = uniqueSeconds(300);
    const runId = await h.client.submitOk(wdlRun('wdl/nap.wdl', { 'nap.seconds': seconds }, workflowFiles('wdl/nap.wdl')));
    const namespace = await waitToolUnderToil(h.client, runId, seconds, 'toil-wdl-runner');
    expect((await h.client.cancel(runId)).status).toBe(200);
    await h.client.waitForState(runId, ['CANCELED'], 60_000);
    expect(runProcessesOnMachine(runId, seconds, namespace)).toEqual([]);
  });

  it('a SIGKILLed worker leaves no process of its run behind', async () => {
    const seconds = uniqueSeconds(300);
    const runId = await h.client.submitOk(wdlRun('wdl/nap.wdl', { 'nap.seconds': seconds }, workflowFiles('wdl/nap.wdl')));
    const namespace = await waitToolUnderToil(h.client, runId, seconds, 'toil-wdl-runner');
    const holder = await h.stack.workerHolding(runId);
    expect(holder).toBeDefined();
    await h.stack.kill(holder!);
    await waitFor('every process of the run to be gone', () => runProcessesOnMachine(runId, seconds, namespace).length === 0, 15_000, 100);
  });
});
