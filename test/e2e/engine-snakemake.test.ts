import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runForm, WesClient } from '../helpers/client';
import { StackHandle, uniqueMarker, uniqueNumber, useStack } from '../helpers/e2e';
import { startHttpServer, TestHttpServer } from '../helpers/http-server';
import { waitForLog } from '../helpers/stack';
import { buildZip } from '../helpers/zip';

/**
 * Snakemake end to end, in the sandbox: a two-rule workflow whose input is an attachment, its
 * declared outputs served; a failing rule; the tasks endpoint; cancel and a SIGKILLed worker
 * leaving no process of the run anywhere on the machine; the allow-listed parameters. The
 * worker runs cwltool and snakemake, snakemake with 2 cores from its engineOptions.
 */
const configDir = mkdtempSync(path.join(os.tmpdir(), 'wes-smk-e2e-'));
const WORKER_CONFIG = path.join(configDir, 'worker.yaml');
writeFileSync(WORKER_CONFIG, 'engineOptions:\n  snakemake:\n    cores: "2"\n');
afterAll(() => rmSync(configDir, { recursive: true, force: true }));
let http: TestHttpServer;
beforeAll(async () => {
  http = await startHttpServer();
});
afterAll(() => http?.stop());


const TWO_RULES = `
rule count:
    input: "upper.txt"
    output: "out/counts.txt"
    shell: "wc -l < {input} > {output}"

rule upper:
    input: config["text"]
    output: "upper.txt"
    shell: "tr a-z A-Z < {input} > {output}"
`;

const FAILING = `
rule all:
    input: "fail.txt"

rule fail:
    output: "fail.txt"
    shell: "echo 'about to fail' >&2; exit 3"
`;

/** A rule that sleeps `seconds` (a number found in /proc), and a marker in the Snakefile's name. */
const sleeping = (seconds: number) => `
rule nap:
    output: "nap.txt"
    shell: "sleep ${seconds} && touch {output}"
`;

const smkRun = (spec: { snakefile: string; name?: string; params?: Record<string, unknown>; attachments?: Record<string, string>; parameters?: Record<string, unknown>; type?: string }) =>
  runForm({
    workflow_url: spec.name ?? 'Snakefile',
    workflow_type: spec.type ?? 'SMK',
    workflow_type_version: '7',
    workflow_params: spec.params ?? {},
    workflow_engine_parameters: spec.parameters,
    attachments: { [spec.name ?? 'Snakefile']: spec.snakefile, ...spec.attachments },
  });

/**
 * Processes of the whole machine that belong to a run: any whose command line, working folder
 * or environment names one of `markers` (the run id is in its scratch folder's name, which the
 * sandbox's command line names; the Snakefile's unique name is on snakemake's; the sleep's
 * unique number on the rule's shell).
 */
function processesOf(markers: string[]): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const read = (file: string) => {
      try {
        return readFileSync(`/proc/${name}/${file}`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    };
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${name}/cwd`);
    } catch {
      // gone, or not ours to read
    }
    const stat = read('stat');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
    const cmdline = read('cmdline');
    const seen = [cmdline, cwd, read('environ')];
    if (markers.some((m) => seen.some((s) => s.includes(m)))) out.push({ pid: Number(name), cmdline });
  }
  return out;
}

async function waitGone(markers: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesOf(markers);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes of the run still running: ${JSON.stringify(left)}`);
    await sleep(100);
  }
}

async function waitRunning(client: WesClient, runId: string, needle: string): Promise<void> {
  await client.waitForState(runId, ['RUNNING'], 60_000);
  const deadline = Date.now() + 60_000;
  while (processesOf([needle]).length === 0) {
    if (Date.now() > deadline) throw new Error(`the rule (${needle}) never started`);
    await sleep(100);
  }
}

/** Cancel, and a SIGKILLed worker, leave no process of the run anywhere on the machine. */
function stopsWithoutLeftovers(stackOf: () => StackHandle): void {
  it('cancel while a rule runs ends CANCELED with no process of the run left on the machine', async () => {
    const seconds = uniqueNumber();
    const name = `${uniqueMarker('nap')}.smk`;
    const runId = await stackOf().client.submitOk(smkRun({ snakefile: sleeping(seconds), name }));
    await waitRunning(stackOf().client, runId, `sleep ${seconds}`);
    const markers = [runId, name, `sleep ${seconds}`];
    expect(processesOf([name]).length, 'snakemake itself is found by its Snakefile').toBeGreaterThan(0);
    expect((await stackOf().client.cancel(runId)).status).toBe(200);
    await stackOf().client.waitForState(runId, ['CANCELED'], 60_000);
    await waitGone(markers, 10_000);
    const log = await stackOf().client.runLog(runId);
    expect(log.run_log.system_logs.join('\n')).toContain('canceled by request');
    expect(log.run_log.system_logs.join('\n')).toContain("the engine's process group was stopped with SIGINT");
  });

  it('a SIGKILLed worker leaves no snakemake process behind', async () => {
    const seconds = uniqueNumber();
    const name = `${uniqueMarker('crash')}.smk`;
    const runId = await stackOf().client.submitOk(smkRun({ snakefile: sleeping(seconds), name }));
    await waitRunning(stackOf().client, runId, `sleep ${seconds}`);
    const holder = await stackOf().stack.workerHolding(runId);
    expect(holder).toBeDefined();
    await stackOf().stack.kill(holder!);
    // Its launcher SIGKILLs the run's group at once (no stop grace for a worker that is gone).
    await waitGone([runId, name, `sleep ${seconds}`], 3_000);
    await stackOf().stack.startWorker();
  });
}

describe('snakemake engine', () => {
  const h = useStack({
    workers: 1,
    env: { WES_FETCH_ALLOW_CIDRS: '127.0.0.1/32' },
    workerEnv: { WES_ENGINES: 'cwltool,snakemake', WES_CONFIG_FILE: WORKER_CONFIG },
  });

  it('service-info lists SMK and the snakemake version the worker detected', async () => {
    const info = await h.client.getJson('/service-info');
    expect(info.workflow_type_versions.SMK.workflow_type_version).toEqual(['7']);
    expect(info.workflow_engine_versions.snakemake.workflow_engine_version).toEqual([expect.stringMatching(/^7\./)]);
    expect(info.default_workflow_engine_parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['--keep-going', '--restart-times']));
  });

  it('runs two rules on an attached input and serves the declared outputs (bytes, size, checksum); lists its rules as tasks', async () => {
    const input = 'b\na\nc\n';
    const runId = await h.client.submitOk(
      smkRun({
        snakefile: TWO_RULES,
        type: 'Snakemake',
        params: { text: { class: 'File', location: 'data/in.txt' }, wes_outputs: ['out/counts.txt', 'upper.txt'] },
        attachments: { 'data/in.txt': input },
      }),
    );
    await h.client.waitForState(runId, ['COMPLETE'], 120_000);
    const log = await h.client.runLog(runId);
    expect(log.request.workflow_type).toBe('SMK');
    expect(log.run_log.exit_code).toBe(0);
    expect(log.run_log.cmd).toEqual(expect.arrayContaining(['--snakefile', '--configfile', '--directory', '<run>/attachments', '--cores', '2']));
    expect(Object.keys(log.outputs).sort()).toEqual(['out/counts.txt', 'upper.txt']);
    const expected = { 'upper.txt': 'B\nA\nC\n', 'out/counts.txt': '3\n' };
    for (const [name, text] of Object.entries(expected)) {
      const out = log.outputs[name];
      expect(out).toMatchObject({ class: 'File', basename: path.basename(name), size: Buffer.byteLength(text) });
      expect(out.checksum).toBe(`sha1$${createHash('sha1').update(text).digest('hex')}`);
      const served = await h.client.fetchText(out.location);
      expect(served.status).toBe(200);
      expect(served.text).toBe(text);
    }
    // Snakemake's own folder is never collected.
    expect((await h.client.fetchText(h.client.url(`/runs/${runId}/outputs/.snakemake/`))).status).not.toBe(200);
    const tasks = (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs;
    expect(tasks.map((t: any) => [t.name, t.exit_code])).toEqual([
      ['upper', 0],
      ['count', 0],
    ]);
    expect(tasks.every((t: any) => t.start_time && t.end_time)).toBe(true);
  });

  it('a failing rule ends EXECUTOR_ERROR with snakemake\'s exit code, its stderr readable, its task failed with the error block', async () => {
    const runId = await h.client.submitOk(smkRun({ snakefile: FAILING }));
    await h.client.waitForState(runId, ['EXECUTOR_ERROR'], 120_000);
    const log = await h.client.runLog(runId);
    expect(log.run_log.exit_code).toBe(1);
    const stderr = await h.client.fetchText(log.run_log.stderr);
    expect(stderr.text).toContain('Error in rule fail:');
    expect(stderr.text).toContain('about to fail');
    const [task] = (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs;
    expect(task.name).toBe('fail');
    expect(task.end_time).toBeDefined();
    expect(task.cmd).toEqual(["echo 'about to fail' >&2; exit 3"]);
    expect(task.system_logs.join('\n')).toContain('Error in rule fail:');
  });

  it('a declared output the rules did not make ends EXECUTOR_ERROR naming it', async () => {
    const runId = await h.client.submitOk(
      smkRun({ snakefile: TWO_RULES, params: { text: { class: 'File', location: 'in.txt' }, wes_outputs: ['upper.txt', 'nowhere.txt'] }, attachments: { 'in.txt': 'x\n' } }),
    );
    await h.client.waitForState(runId, ['EXECUTOR_ERROR'], 120_000);
    const log = await h.client.runLog(runId);
    expect(log.run_log.system_logs.join('\n')).toContain('nowhere.txt');
    expect(log.run_log.system_logs.join('\n')).toContain('does not exist');
  });

  stopsWithoutLeftovers(() => h);

  it('applies allow-listed parameters (--keep-going runs the independent rule after a failure)', async () => {
    const snakefile = `
rule all:
    input: "fail.txt", "ok.txt"

rule fail:
    output: "fail.txt"
    shell: "exit 3"

rule ok:
    input: "slow.txt"
    output: "ok.txt"
    shell: "cp {input} {output}"

rule slow:
    output: "slow.txt"
    shell: "sleep 1; echo slow > {output}"
`;
    const runs = [];
    for (const parameters of [{ '--keep-going': 'true' }, {}]) {
      const runId = await h.client.submitOk(smkRun({ snakefile, parameters }));
      await h.client.waitForState(runId, ['EXECUTOR_ERROR'], 120_000);
      const log = await h.client.runLog(runId);
      runs.push({ cmd: log.run_log.cmd as string[], names: (await h.client.getJson(`/runs/${runId}/tasks`)).task_logs.map((t: any) => t.name).sort() });
    }
    expect(runs[0].cmd).toContain('--keep-going');
    expect(runs[0].names).toEqual(['fail', 'ok', 'slow']);
    expect(runs[1].cmd).not.toContain('--keep-going');
    expect(runs[1].names).not.toContain('ok');
  });

  it('runs a zipped workflow laid out as a repository: its Snakefile, an include, its configfile and data by relative path', async () => {
    // As in a checkout: paths relative to the repository's root, config overridden by the params.
    const snakefile = `configfile: "config/config.yaml"\ninclude: "rules/upper.smk"\n\nrule count:\n    input: "results/upper.txt"\n    output: "results/counts.txt"\n    shell: "echo {config[label]} $(wc -l < {input}) > {output}"\n`;
    const upper = `rule upper:\n    input: config["text"]\n    output: "results/upper.txt"\n    shell: "tr a-z A-Z < {input} > {output}"\n`;
    const zip = buildZip([
      { name: 'Snakefile', data: snakefile },
      { name: 'rules/upper.smk', data: upper },
      { name: 'config/config.yaml', data: 'text: data/in.txt\nlabel: from-configfile\n' },
      { name: 'data/in.txt', data: 'x\ny\n' },
    ]);
    const runId = await h.client.submitOk(
      runForm({
        workflow_url: 'wf.zip',
        workflow_type: 'SMK',
        workflow_type_version: '7',
        workflow_params: { label: 'from-params', wes_outputs: ['results/counts.txt', 'results'] },
        attachments: { 'wf.zip': zip },
      }),
    );
    await h.client.waitForState(runId, ['COMPLETE'], 120_000);
    const log = await h.client.runLog(runId);
    expect((await h.client.fetchText(log.outputs['results/counts.txt'].location)).text).toBe('from-params 2\n');
    // A declared folder is a Directory with its listing.
    expect(log.outputs.results).toMatchObject({ class: 'Directory', basename: 'results' });
    expect(log.outputs.results.listing.map((f: any) => f.basename)).toEqual(['counts.txt', 'upper.txt']);
  });

  it('runs a Snakefile by URL, fetched with the rule file and script it names, on an input at a URL', async () => {
    http.set('/wf/Snakefile', 'include: "rules/upper.smk"\n\nrule count:\n    input: "upper.txt"\n    output: "counts.txt"\n    script: "scripts/count.py"\n');
    http.set('/wf/rules/upper.smk', 'rule upper:\n    input: config["text"]\n    output: "upper.txt"\n    shell: "tr a-z A-Z < {input} > {output}"\n');
    http.set('/wf/scripts/count.py', 'lines = open(snakemake.input[0]).read().splitlines()\nopen(snakemake.output[0], "w").write(f"{len(lines)} {lines[0]}\\n")\n');
    http.set('/data/in.txt', 'q\nr\ns\n');
    const runId = await h.client.submitOk(
      runForm({
        workflow_url: `${http.origin}/wf/Snakefile`,
        workflow_type: 'snakemake',
        workflow_type_version: '7',
        workflow_params: { text: { class: 'File', location: `${http.origin}/data/in.txt` }, wes_outputs: ['counts.txt'] },
      }),
    );
    await h.client.waitForState(runId, ['COMPLETE'], 120_000);
    const log = await h.client.runLog(runId);
    expect((await h.client.fetchText(log.outputs['counts.txt'].location)).text).toBe('3 Q\n');
  });

  it('a worker whose snakemake cores option is not a count refuses to start, saying which setting', async () => {
    const bad = path.join(configDir, 'bad.yaml');
    writeFileSync(bad, 'engineOptions:\n  snakemake:\n    cores: all\n');
    const w = await h.stack.startWorker({ env: { WES_CONFIG_FILE: bad }, waitReady: false });
    const { code } = await h.stack.waitExit(w, 60_000);
    expect(code).toBe(2);
    expect(readFileSync(w.logFile, 'utf8')).toContain('invalid setting engineOptions.snakemake: cores: "all" is not a positive whole number');
  });

  it('refuses other engine parameters, a bad wes_outputs and an unknown version at submit, naming what is wrong', async () => {
    for (const [parameters, named] of [
      [{ '--cores': '64' }, '"--cores" is not a parameter snakemake accepts'],
      [{ '--directory': '/' }, '"--directory" is not a parameter snakemake accepts'],
      [{ '--snakefile': 'x' }, '"--snakefile" is not a parameter snakemake accepts'],
      [{ '--shell-exec': 'sh' }, '"--shell-exec" is not a parameter snakemake accepts'],
      [{ '--restart-times': '9' }, '"--restart-times" takes one of 0, 1, 2, 3'],
    ] as const) {
      const res = await h.client.submit(smkRun({ snakefile: FAILING, parameters }));
      expect(res.status).toBe(400);
      expect(res.body.msg).toContain(named);
    }
    for (const [outputs, why] of [
      [['.snakemake/log'], "inside Snakemake's own .snakemake folder"],
      [['../x'], 'leaves the work folder'],
      [['/etc/passwd'], 'is absolute'],
      [['.'], 'whole work folder'],
      ['x.txt', 'must be a list'],
    ] as const) {
      const res = await h.client.submit(smkRun({ snakefile: FAILING, params: { wes_outputs: outputs } }));
      expect(res.status).toBe(400);
      expect(res.body.msg).toContain(`workflow_params: wes_outputs`);
      expect(res.body.msg).toContain(why);
    }
    const res = await h.client.submit(runForm({ workflow_url: 'Snakefile', workflow_type: 'smk', workflow_type_version: '5', attachments: { Snakefile: FAILING } }));
    expect(res.status).toBe(400);
    expect(res.body.msg).toContain('workflow_type_version: "5" is not supported for SMK (supported: 7)');
  });

  // Last in this describe: it stops the stack's first worker.
  it('a worker without snakemake hands a snakemake run back: the run waits QUEUED, then a worker that runs snakemake completes it', async () => {
    // Runs the earlier tests left going (the SIGKILLed worker's run is re-run, attempt after
    // attempt) would take the slots this test counts on: they end first.
    const left = (await h.client.getJson<{ runs: { run_id: string }[] }>('/runs?page_size=100&state=QUEUED,INITIALIZING,RUNNING,CANCELING')).runs;
    for (const run of left) await h.client.cancel(run.run_id);
    for (const run of left) await h.client.waitForState(run.run_id, ['CANCELED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR'], 60_000);
    const cwlOnly = await h.stack.startWorker({ env: { WES_ENGINES: 'cwltool' } });
    for (const w of h.stack.liveWorkers().filter((w) => w !== cwlOnly)) {
      h.stack.signal(w, 'SIGTERM');
      await h.stack.waitExit(w, 60_000);
    }
    const runId = await h.client.submitOk(
      smkRun({ snakefile: TWO_RULES, params: { text: { class: 'File', location: 'data/in.txt' }, wes_outputs: ['upper.txt'] }, attachments: { 'data/in.txt': 'q\n' } }),
    );
    await waitForLog(cwlOnly, `"runId":"${runId}"`, 60_000);
    expect(readFileSync(cwlOnly.logFile, 'utf8')).toContain('run for an engine this worker does not run: handed back');
    expect(await h.client.status(runId)).toBe('QUEUED');
    await h.stack.startWorker();
    await h.client.waitForState(runId, ['COMPLETE'], 120_000);
    expect((await h.client.fetchText((await h.client.runLog(runId)).outputs['upper.txt'].location)).text).toBe('Q\n');
  });
});

describe('snakemake engine without the sandbox (WES_SANDBOX=none)', () => {
  // No pid namespace takes what is left: the stop signal to the group, and the parent-death signal, must.
  const h = useStack({ workers: 1, workerEnv: { WES_ENGINES: 'cwltool,snakemake', WES_SANDBOX: 'none' } });

  stopsWithoutLeftovers(() => h);
});

describe('snakemake cores from the pool', () => {
  // The worker's engineOptions give 2 cores; the pool `big` gives its runs 3, over them.
  const POOLS_CONFIG = path.join(configDir, 'pools.yaml');
  writeFileSync(
    POOLS_CONFIG,
    [
      'engineOptions:',
      '  snakemake:',
      '    cores: "2"',
      'pools:',
      '  small:',
      '    engines: [cwltool, snakemake]',
      '    concurrency: 2',
      '  big:',
      '    engines: [snakemake]',
      '    concurrency: 1',
      '    engineOptions:',
      '      snakemake:',
      '        cores: "3"',
      '',
    ].join('\n'),
  );
  const h = useStack({ workers: 1, env: { WES_CONFIG_FILE: POOLS_CONFIG }, workerEnv: { WES_ENGINES: 'cwltool,snakemake' } });

  it("runs a pool's runs with its engine options over the worker's (--cores 3 in pool big, 2 elsewhere)", async () => {
    const params = { text: { class: 'File', location: 'data/in.txt' }, wes_outputs: ['upper.txt'] };
    const cores = async (pool: string) => {
      const runId = await h.client.submitOk(smkRun({ snakefile: TWO_RULES, params, attachments: { 'data/in.txt': 'x\n' }, parameters: { 'wes:pool': pool } }));
      await h.client.waitForState(runId, ['COMPLETE'], 120_000);
      const cmd: string[] = (await h.client.runLog(runId)).run_log.cmd;
      return cmd[cmd.indexOf('--cores') + 1];
    };
    expect(await cores('big')).toBe('3');
    expect(await cores('small')).toBe('2');
  });
});
