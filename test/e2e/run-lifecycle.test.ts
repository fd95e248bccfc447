import { describe, expect, it } from 'vitest';
import { runForm, TERMINAL, workflowFiles } from '../helpers/client';
import { localCwltoolExitCode, localCwltoolVersion, reverseLines, TWO_STEP_FILES, uniqueMarker, useStack } from '../helpers/e2e';
import { environOf, launcherOf } from '../helpers/processes';
import { napForm, RunInspector, uniqueSeconds, waitEngineRunning } from '../helpers/recovery';
import { CWLTOOL } from '../helpers/stack';

/**
 * A run's whole life through the API as a WES client sees it: submit (multipart, attachments in
 * sub-folders), watch the states, read the run log, fetch logs and outputs through the URLs the
 * server gives; a failing tool; service-info counting what happened. Every JSON body is checked
 * against the official WES 1.1.0 schema by the client.
 */
const h = useStack({ workerConcurrency: 2 });

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const STATE_ORDER = ['QUEUED', 'INITIALIZING', 'RUNNING', 'COMPLETE'];

/** Runs this file expects to have ended in each state (service-info must count exactly these). */
const ended: Record<string, string[]> = { COMPLETE: [], EXECUTOR_ERROR: [] };

function twoStepSpec(input: string, extra: Parameters<typeof runForm>[0] = {}) {
  return {
    workflow_url: 'main.cwl',
    workflow_type: 'CWL',
    workflow_type_version: 'v1.2',
    workflow_params: { inp: { class: 'File', location: 'input.txt' } },
    attachments: { ...workflowFiles(...TWO_STEP_FILES), 'input.txt': input },
    ...extra,
  };
}

/** Checks every File of the output object and returns its content, keyed by output name. */
async function downloadOutputs(runId: string, outputs: Record<string, any>): Promise<Record<string, string>> {
  const client = h.client;
  const base = client.url(`/runs/${runId}/outputs/`);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(outputs)) {
    expect(value?.class, `output ${name}`).toBe('File');
    expect(typeof value.location).toBe('string');
    // An absolute URL of this server's outputs endpoint for this run.
    expect(value.location.startsWith(base), `${name}.location ${value.location} is not under ${base}`).toBe(true);
    const file = await client.fetchText(value.location);
    expect(file.status, `GET ${value.location}`).toBe(200);
    if (typeof value.size === 'number') expect(Buffer.byteLength(file.text)).toBe(value.size);
    out[name] = file.text;
  }
  return out;
}

describe('a two-step CWL workflow submitted with attachments', () => {
  const input = 'abc\nhello world\nxyz\nWES 1.1 run\n';
  const tags = { suite: 'run-lifecycle', nonce: uniqueMarker('tag') };
  let runId: string;
  let seen: string[];

  it('is accepted and passes through the states in order to COMPLETE', async () => {
    const spec = twoStepSpec(input, { tags });
    runId = await h.client.submitOk(runForm(spec));
    const result = await h.client.waitForState(runId, ['COMPLETE'], 90_000, 50);
    seen = result.seen;
    ended.COMPLETE.push(runId);
    const idx = seen.map((s) => STATE_ORDER.indexOf(s));
    expect(idx.every((i) => i >= 0), `states seen: ${seen.join(' → ')}`).toBe(true);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    // cwltool runs for a second or more: a 50 ms poll must see it running.
    expect(seen).toContain('RUNNING');
    expect(seen[seen.length - 1]).toBe('COMPLETE');
  });

  it('has a run log with the request, times, command and exit code', async () => {
    const log = await h.client.runLog(runId);
    expect(log.run_id).toBe(runId);
    expect(log.state).toBe('COMPLETE');
    expect(log.request).toMatchObject({
      workflow_url: 'main.cwl',
      workflow_type_version: 'v1.2',
      workflow_params: { inp: { class: 'File', location: 'input.txt' } },
      tags,
    });
    expect(log.request.workflow_type.toUpperCase()).toBe('CWL');
    const rl = log.run_log;
    expect(Array.isArray(rl.cmd)).toBe(true);
    expect(rl.cmd[0]).toBe(CWLTOOL);
    expect(rl.cmd.length).toBeGreaterThan(2);
    // The command as the engine got it, the run's folder shown as <run>: no server path.
    expect(rl.cmd.find((a: string) => a.endsWith('/outputs'))).toBe('<run>/outputs');
    expect(rl.cmd.slice(-2)).toEqual(['<run>/attachments/main.cwl', '<run>/attachments/wes-params.json']);
    expect(rl.cmd.slice(1).filter((a: string) => a.startsWith('/'))).toEqual([]);
    expect(rl.cmd.join(' ')).not.toContain(h.stack.workDir);
    expect(rl.cmd.join(' ')).not.toContain('\0');
    expect(rl.exit_code).toBe(0);
    expect(rl.start_time).toMatch(ISO_UTC);
    expect(rl.end_time).toMatch(ISO_UTC);
    expect(Date.parse(rl.end_time)).toBeGreaterThanOrEqual(Date.parse(rl.start_time));
    expect(Array.isArray(rl.system_logs ?? [])).toBe(true);
    if (log.task_logs_url !== undefined) expect(log.task_logs_url).toBe(h.client.url(`/runs/${runId}/tasks`));
  });

  it('serves stdout and stderr of the engine at the URLs of the run log', async () => {
    const rl = (await h.client.runLog(runId)).run_log;
    expect(rl.stdout).toBe(h.client.url(`/runs/${runId}/logs/stdout`));
    expect(rl.stderr).toBe(h.client.url(`/runs/${runId}/logs/stderr`));
    const stdout = await h.client.fetchText(rl.stdout);
    expect(stdout.status).toBe(200);
    expect(stdout.type).toMatch(/^text\/plain/);
    // cwltool prints the output object on stdout.
    expect(JSON.parse(stdout.text)).toHaveProperty('count');
    const stderr = await h.client.fetchText(rl.stderr);
    expect(stderr.status).toBe(200);
    expect(stderr.type).toMatch(/^text\/plain/);
    expect(stderr.text).toContain('Final process status is success');
  });

  it('lists both outputs with URLs that serve the right content', async () => {
    const log = await h.client.runLog(runId);
    expect(Object.keys(log.outputs ?? {}).sort()).toEqual(['count', 'reversed']);
    const files = await downloadOutputs(runId, log.outputs);
    expect(files.reversed).toBe(reverseLines(input));
    expect(files.count.trim()).toBe(String(input.split('\n').length - 1));
    expect(log.outputs.reversed.basename).toBe('reversed.txt');
  });

  it('does not leak the worker scratch folder into the outputs (API and workers share no filesystem)', async () => {
    const log = await h.client.runLog(runId);
    const text = JSON.stringify(log.outputs);
    expect(text).not.toContain(h.stack.workDir);
    expect(text).not.toContain('file://');
  });

  it('refuses to serve a file outside the run outputs', async () => {
    for (const p of ['..%2F..%2F..%2Fetc%2Fpasswd', '%2E%2E/%2E%2E/attachments/main.cwl', '..%2Fattachments%2Finput.txt', 'no-such-output.txt']) {
      const r = await h.client.request('GET', `/runs/${runId}/outputs/${p}`);
      expect([400, 404], `GET outputs/${p} → ${r.status}: ${r.text.slice(0, 200)}`).toContain(r.status);
      expect(r.text).not.toContain('root:x:0:0');
    }
  });

  it('lists a task per step, and 404s an unknown task', async () => {
    const tasks = await h.client.getJson(`/runs/${runId}/tasks`);
    expect(tasks.task_logs.map((t: any) => [t.name, t.exit_code])).toEqual([
      ['reverse', 0],
      ['count_lines', 0],
    ]);
    expect(tasks.next_page_token ?? '').toBe('');
    const paged = await h.client.getJson(`/runs/${runId}/tasks?page_size=1`);
    expect(paged.task_logs).toEqual(tasks.task_logs.slice(0, 1));
    expect(paged.next_page_token).not.toBe('');
    await h.client.getJson(`/runs/${runId}/tasks/no-such-task`, 404);
  });

  it('shows in the run list with its state and tags', async () => {
    const list = await h.client.getJson('/runs?page_size=100');
    const row = list.runs.find((r: any) => r.run_id === runId);
    expect(row).toBeDefined();
    expect(row.state).toBe('COMPLETE');
    if (row.tags !== undefined) expect(row.tags).toEqual(tags);
  });
});

describe('a submission as other clients send it', () => {
  it('takes workflow_params and tags as file parts and workflow_type in lower case', async () => {
    const input = 'one\ntwo\n';
    const tags = { client: 'file-parts', nonce: uniqueMarker('tag') };
    const runId = await h.client.submitOk(runForm(twoStepSpec(input, { tags, workflow_type: 'cwl', asFileParts: ['workflow_params', 'tags'] })));
    await h.client.waitForState(runId, ['COMPLETE']);
    ended.COMPLETE.push(runId);
    const log = await h.client.runLog(runId);
    expect(log.request.tags).toEqual(tags);
    expect(log.request.workflow_params).toEqual({ inp: { class: 'File', location: 'input.txt' } });
    const files = await downloadOutputs(runId, log.outputs);
    expect(files.reversed).toBe('eno\nowt\n');
    expect(files.count.trim()).toBe('2');
  });

  it('takes allow-listed engine parameters and passes them to cwltool', async () => {
    const input = 'p\n';
    const runId = await h.client.submitOk(
      runForm(twoStepSpec(input, { workflow_engine: 'cwltool', workflow_engine_parameters: { '--parallel': 'true' } })),
    );
    await h.client.waitForState(runId, ['COMPLETE']);
    ended.COMPLETE.push(runId);
    const log = await h.client.runLog(runId);
    expect(log.run_log.cmd).toContain('--parallel');
    expect(log.request.workflow_engine_parameters).toEqual({ '--parallel': 'true' });
  });
});

describe('a failing tool', () => {
  const marker = uniqueMarker('oops-marker');
  let runId: string;

  it('ends EXECUTOR_ERROR with the exit code cwltool gives', async () => {
    const expectedExit = localCwltoolExitCode('fail.cwl', { marker: 'local-check' });
    expect(expectedExit).not.toBe(0);
    runId = await h.client.submitOk(
      runForm({
        workflow_url: 'fail.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.0',
        workflow_params: { marker },
        attachments: workflowFiles('fail.cwl'),
      }),
    );
    const { seen } = await h.client.waitForState(runId, ['EXECUTOR_ERROR']);
    ended.EXECUTOR_ERROR.push(runId);
    expect(seen).not.toContain('COMPLETE');
    const log = await h.client.runLog(runId);
    expect(log.state).toBe('EXECUTOR_ERROR');
    expect(log.run_log.exit_code).toBe(expectedExit);
    expect(log.run_log.cmd[0]).toBe(CWLTOOL);
    expect(log.run_log.end_time).toMatch(ISO_UTC);
  });

  it('ends EXECUTOR_ERROR with exit code 128 + the signal when the engine is killed by one (as a shell reports it)', async () => {
    const id = await h.client.submitOk(
      runForm({ workflow_url: 'kill-engine.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.0', attachments: workflowFiles('kill-engine.cwl') }),
    );
    await h.client.waitForState(id, ['EXECUTOR_ERROR']);
    ended.EXECUTOR_ERROR.push(id);
    const log = await h.client.runLog(id);
    expect(log.run_log.exit_code).toBe(137);
    // Unsandboxed the worker sees the signal; through bwrap, which reports it as 128 + 9, the code.
    expect(log.run_log.system_logs.join('\n')).toMatch(/the engine was killed by SIGKILL|the engine exited with code 137/);
  });

  it("serves the tool's stderr, marker included", async () => {
    const log = await h.client.runLog(runId);
    const stderr = await h.client.fetchText(log.run_log.stderr);
    expect(stderr.status).toBe(200);
    expect(stderr.text).toContain(marker);
    expect(stderr.text).toContain('permanentFail');
  });
});

describe('service-info', () => {
  it('describes the engine, the types and versions, and counts the runs of this stack', async () => {
    const info = await h.client.getJson('/service-info');
    expect(info.workflow_engine_versions.cwltool.workflow_engine_version).toContain(localCwltoolVersion());
    expect(info.workflow_type_versions.CWL.workflow_type_version).toEqual(expect.arrayContaining(['v1.0', 'v1.1', 'v1.2']));
    expect(info.supported_wes_versions).toContain('1.1.0');
    expect(info.type).toMatchObject({ group: 'org.ga4gh', artifact: 'wes' });
    const params = info.default_workflow_engine_parameters.map((p: any) => p.name);
    expect(params).toEqual(expect.arrayContaining(['--parallel']));
    expect(params).not.toContain('--outdir');

    // The stack has a private Redis and key prefix: the counters hold exactly this file's runs.
    const counts = info.system_state_counts;
    expect(counts.COMPLETE).toBe(ended.COMPLETE.length);
    expect(counts.EXECUTOR_ERROR).toBe(ended.EXECUTOR_ERROR.length);
    const total = Object.values(counts as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total).toBe(ended.COMPLETE.length + ended.EXECUTOR_ERROR.length);
    for (const s of Object.keys(counts)) if (!TERMINAL.includes(s)) expect(counts[s], `runs in ${s}`).toBe(0);
  });
});

describe('without a sandbox (WES_SANDBOX=none: the engine gets the scratch folder\'s own paths)', () => {
  const plain = useStack({ workers: 1, env: { WES_SANDBOX: 'none' } });

  it('shows the same command line: the run folder as <run>, no server path', async () => {
    const runId = await plain.client.submitOk(runForm(twoStepSpec('a\n')));
    await plain.client.waitForState(runId, ['COMPLETE'], 120_000);
    const { cmd } = (await plain.client.runLog(runId)).run_log;
    expect(cmd[0]).toBe(CWLTOOL);
    expect(cmd.slice(-2)).toEqual(['<run>/attachments/main.cwl', '<run>/attachments/wes-params.json']);
    expect(cmd).toContain('<run>/outputs');
    expect(cmd.join(' ')).not.toContain(plain.stack.workDir);
    expect(cmd.slice(1).filter((a: string) => a.startsWith('/'))).toEqual([]);
  });

  it("gives the engine a few of the worker's variables, none of its secrets or settings (nor to its launcher)", async () => {
    const { client, stack } = plain;
    const inspector = new RunInspector(stack);
    try {
      const seconds = uniqueSeconds(300);
      const runId = await client.submitOk(napForm(seconds));
      const procs = await waitEngineRunning(client, inspector, runId, seconds, 1);
      const cwltool = procs.find((p) => p.cmdline.includes(CWLTOOL));
      const launcher = launcherOf(stack.workers[0].child.pid);
      expect(cwltool, 'cwltool runs').toBeDefined();
      expect(launcher, 'the worker runs its launcher').toBeDefined();
      for (const p of [cwltool!, launcher!]) {
        const names = environOf(p.pid).map((v) => v.slice(0, v.indexOf('=')));
        expect(names).toContain('PATH');
        expect(names.filter((n) => n === 'REDIS_URL' || n.startsWith('WES_'))).toEqual([]);
      }
      expect((await client.cancel(runId)).status).toBe(200);
      await client.waitForState(runId, ['CANCELED'], 60_000);
    } finally {
      inspector.close();
    }
  });
});
