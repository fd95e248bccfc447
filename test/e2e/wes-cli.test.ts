import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS_DIR } from '../helpers/client';
import { localCwltoolExitCode, uniqueNumber, useStack } from '../helpers/e2e';
import { CWLTOOL } from '../helpers/stack';
import { outputShape, runWes, startWes, treeOf } from '../helpers/wes-cli';
import { freePort } from '../../scripts/lib/proc';
import { downloadOutputs } from '../../apps/cli/src/output-downloader';
import { WesApiClient } from '../../apps/cli/src/wes-api-client';

/**
 * The `wes` command-line client against a real stack and real cwltool: `wes run` as a drop-in
 * cwl-runner (its outputs compared with a direct cwltool run of the same files), exit codes,
 * Ctrl-C, the other commands, errors, and numbers that must not lose a digit.
 */
const CLI_DIR = path.join(WORKFLOWS_DIR, 'cli');
const WORKFLOW = path.join(CLI_DIR, 'workflow/main.cwl');
const JOB = path.join(CLI_DIR, 'jobs/job.yml');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const h = useStack({ workerConcurrency: 2 });
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'wes-cli-e2e-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A fresh folder under this file's scratch folder. */
function folder(name: string): string {
  return mkdtempSync(path.join(scratch, `${name}-`));
}

/** The run id `wes run` reported on stderr. */
function runIdIn(stderr: string): string {
  const m = /run ([0-9a-f-]{36}) submitted/.exec(stderr);
  if (!m) throw new Error(`no run id in the stderr of wes run:\n${stderr}`);
  return m[1];
}

const sha1 = (file: string) => `sha1$${createHash('sha1').update(readFileSync(file)).digest('hex')}`;

/** Every File and Directory object of an output object. */
function fileObjects(value: unknown, out: Record<string, any>[] = []): Record<string, any>[] {
  if (Array.isArray(value)) value.forEach((v) => fileObjects(v, out));
  else if (value && typeof value === 'object') {
    const obj = value as Record<string, any>;
    if (obj.class === 'File' || obj.class === 'Directory') out.push(obj);
    Object.values(obj).forEach((v) => fileObjects(v, out));
  }
  return out;
}

describe('wes run', () => {
  it('runs a workflow with tools in two folders, secondaryFiles, a Directory and a File default; its outputs equal cwltool’s byte for byte', async () => {
    const direct = folder('direct');
    const viaWes = folder('wes');
    // The job lives in yet another folder and is run from an unrelated working directory.
    const cwd = folder('cwd');
    const cwltool = spawnSync(CWLTOOL, ['--quiet', '--outdir', direct, WORKFLOW, JOB], { encoding: 'utf8', timeout: 120_000 });
    expect(cwltool.status, cwltool.stderr).toBe(0);

    const r = await runWes(['run', '--follow', '--engine-param=--parallel=true', '--outdir', viaWes, WORKFLOW, JOB], { url: h.stack.origin, cwd });
    expect(r.code, r.stderr).toBe(0);
    const runId = runIdIn(r.stderr);
    expect(await h.client.status(runId)).toBe('COMPLETE');
    expect(r.stderr).toContain(`run ${runId}: COMPLETE`);
    // --follow: the engine's own log, whole lines between the progress lines, went to stderr too.
    const engineLog = (await h.client.fetchText(h.client.url(`/runs/${runId}/logs/stderr`))).text;
    expect(engineLog).toContain('Final process status is success');
    const followed = r.stderr.split('\n').filter((line) => !line.startsWith('wes: '));
    expect(followed.join('\n')).toBe(engineLog);
    // What it sent: everything, named relative to the common folder (test/workflows/cli).
    expect(r.stderr).toContain(`uploading 11 files`);
    const { request, run_log } = await h.client.runLog(runId);
    expect(request.workflow_engine_parameters).toEqual({ '--parallel': 'true' });
    expect(run_log.cmd).toContain('--parallel');
    expect(request.workflow_url).toBe('workflow/main.cwl');
    expect(request.workflow_type_version).toBe('v1.2');
    expect(request.workflow_params).toEqual({
      reads: { class: 'File', location: 'data/reads.txt', secondaryFiles: [{ class: 'File', location: 'data/reads.txt.bai' }] },
      sample: { class: 'File', location: 'data/sample.dat' },
      folder: { class: 'Directory', location: 'data/folder' },
    });

    // The same files, folders (the empty one too) and bytes as cwltool's own --outdir.
    expect(treeOf(viaWes)).toEqual(treeOf(direct));
    expect(Object.keys(treeOf(viaWes))).toEqual(expect.arrayContaining(['out.txt', 'hello.txt', 'listing.txt', 'copy/', 'copy/empty/', 'copy/sub/b.txt']));

    // The printed object says what cwltool's says, with local paths that exist and match.
    const printed = JSON.parse(r.stdout);
    expect(outputShape(printed, viaWes)).toEqual(outputShape(JSON.parse(cwltool.stdout), direct));
    const objects = fileObjects(printed);
    expect(objects.length).toBeGreaterThanOrEqual(8);
    for (const o of objects) {
      expect(existsSync(o.path), o.path).toBe(true);
      expect(o.location).toBe(`file://${o.path}`);
      if (o.class === 'File') {
        expect(o.size).toBe(statSync(o.path).size);
        expect(o.checksum).toBe(sha1(o.path));
      }
    }
  });

  it('exits with the engine’s exit code when the workflow fails (cwltool’s own, run directly), and shows why', async () => {
    const dir = folder('fail');
    const marker = `failing-marker-${uniqueNumber()}`;
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ marker }));
    const r = await runWes(['run', '--outdir', dir, path.join(WORKFLOWS_DIR, 'fail.cwl'), path.join(dir, 'job.json')], { url: h.stack.origin });
    const log = await h.client.runLog(runIdIn(r.stderr));
    expect(log.state).toBe('EXECUTOR_ERROR');
    expect(r.code).toBe(log.run_log.exit_code);
    expect(r.code).toBe(localCwltoolExitCode('fail.cwl', { marker }));
    expect(r.stderr).toContain(`ended EXECUTOR_ERROR (exit code ${r.code})`);
    expect(r.stderr).toContain(marker); // the engine's stderr, where the tool wrote it
    expect(JSON.parse(r.stdout)).toEqual({});
  });

  it('cancels the run on Ctrl-C, waits until it is CANCELED and exits 130', async () => {
    const dir = folder('sigint');
    writeFileSync(path.join(dir, 'job.yml'), `seconds: ${uniqueNumber()}\n`);
    const p = startWes(['run', '--outdir', dir, path.join(WORKFLOWS_DIR, 'sleep.cwl'), path.join(dir, 'job.yml')], { url: h.stack.origin });
    await p.waitForStderr(/: RUNNING\n/);
    const runId = runIdIn(p.stderr());
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain(`cancelling run ${runId}`);
    expect(r.stderr).toContain(`run ${runId}: CANCELED`);
    // It left only once the run had ended.
    expect(await h.client.status(runId)).toBe('CANCELED');
  });

  it('sends an empty Directory input (no attachment can carry it) so that the tool sees it as cwltool would', async () => {
    const dir = folder('empty-dir');
    mkdirSync(path.join(dir, 'nothing-here'));
    writeFileSync(path.join(dir, 'job.yml'), 'd: {class: Directory, location: nothing-here}\n');
    const tool = path.join(CLI_DIR, 'tools/describe-folder.cwl');
    const direct = spawnSync(CWLTOOL, ['--quiet', '--outdir', path.join(dir, 'direct'), tool, path.join(dir, 'job.yml')], { encoding: 'utf8', timeout: 120_000 });
    expect(direct.status, direct.stderr).toBe(0);
    const r = await runWes(['run', '--outdir', path.join(dir, 'wes'), tool, path.join(dir, 'job.yml')], { url: h.stack.origin });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'wes/described.txt'), 'utf8')).toBe('nothing-here\n');
    expect(treeOf(path.join(dir, 'wes'))).toEqual(treeOf(path.join(dir, 'direct')));
  });

  it('keeps integers beyond 2^53 exact from the job file (YAML and JSON) to the engine and back to the printed outputs', async () => {
    for (const job of ['job.yml', 'job.json']) {
      const dir = folder('numbers');
      const r = await runWes(['run', '--quiet', '--outdir', dir, path.join(CLI_DIR, 'numbers/echo-number.cwl'), path.join(CLI_DIR, 'numbers', job)], {
        url: h.stack.origin,
      });
      expect(r.code, r.stderr).toBe(0);
      // What the engine read from the params file the server wrote.
      expect(readFileSync(path.join(dir, 'numbers.txt'), 'utf8')).toBe('9007199254740993 4200000000000000000000000000000000000000000\n');
      expect(r.stdout).toContain('"n_out": 9007199254740993');
      expect(r.stdout).toContain('"huge_out": 4200000000000000000000000000000000000000000');
    }
  });
});

describe('output downloads', () => {
  it('refuse a file whose size or sha1 is not what the output object says', async () => {
    const r = await runWes(['submit', path.join(CLI_DIR, 'numbers/echo-number.cwl'), path.join(CLI_DIR, 'numbers/job.yml')], { url: h.stack.origin });
    const runId = r.stdout.trim();
    await h.client.waitForState(runId, ['COMPLETE']);
    const outputs = (await new WesApiClient(h.stack.origin).runLog(runId)).outputs!;
    const url = (outputs.printed as { location: string }).location;
    const stored = path.join(h.stack.dataDir, 'runs', runId, 'outputs', decodeURIComponent(url.split('/outputs/')[1]));
    const original = readFileSync(stored);

    // Same size, one byte changed: only the sha1 tells.
    writeFileSync(stored, Buffer.concat([original.subarray(0, -1), Buffer.from('X')]));
    await expect(downloadOutputs(new WesApiClient(h.stack.origin), outputs, folder('sha1'))).rejects.toThrow(
      /numbers\.txt: checksum sha1\$[0-9a-f]{40} differs from the server's sha1\$[0-9a-f]{40}/,
    );
    // One byte more.
    writeFileSync(stored, Buffer.concat([original, Buffer.from('X')]));
    await expect(downloadOutputs(new WesApiClient(h.stack.origin), outputs, folder('size'))).rejects.toThrow(
      `numbers.txt: downloaded ${original.length + 1} bytes, the server says ${original.length}`,
    );
    // The file as it was: downloaded and verified.
    writeFileSync(stored, original);
    const ok = await downloadOutputs(new WesApiClient(h.stack.origin), outputs, folder('ok'));
    expect(ok.files).toBe(1);
  });
});

describe('wes submit, status, get, logs, tasks, cancel, list, info', () => {
  it('submits without waiting, then reads and cancels the run; --json prints what the server says', async () => {
    const dir = folder('submit');
    writeFileSync(path.join(dir, 'job.yml'), `seconds: ${uniqueNumber()}\n`);
    const url = h.stack.origin;
    const submitted = await runWes(['submit', '--tags', 'project=cli-test', path.join(WORKFLOWS_DIR, 'sleep.cwl'), path.join(dir, 'job.yml')], { url });
    expect(submitted.code, submitted.stderr).toBe(0);
    const runId = submitted.stdout.trim();
    expect(runId).toMatch(UUID);

    const status = await runWes(['status', runId], { url });
    expect(status.stdout).toMatch(new RegExp(`^${runId}  (QUEUED|INITIALIZING|RUNNING)\\n$`));
    const statusJson = JSON.parse((await runWes(['status', '--json', runId], { url })).stdout);
    expect(statusJson.run_id).toBe(runId);

    const got = JSON.parse((await runWes(['get', '--json', runId], { url })).stdout);
    expect(got.run_id).toBe(runId);
    expect(got.request).toMatchObject({ workflow_url: 'sleep.cwl', tags: { project: 'cli-test' } });
    const human = await runWes(['get', runId], { url });
    expect(human.stdout).toContain(`run_id:      ${runId}`);
    expect(human.stdout).toContain('tags:        project=cli-test');

    await h.client.waitForState(runId, ['RUNNING']);
    const tasks = JSON.parse((await runWes(['tasks', '--json', runId], { url })).stdout);
    expect(tasks).toEqual({ task_logs: (await h.client.getJson(`/runs/${runId}/tasks?page_size=1000`)).task_logs, next_page_token: '' });

    const cancel = await runWes(['cancel', '--wait', runId], { url });
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toBe(`${runId}  CANCELED\n`);
    expect(await h.client.status(runId)).toBe('CANCELED');

    const logs = await runWes(['logs', runId], { url });
    expect(logs.stdout).toBe((await h.client.fetchText(h.client.url(`/runs/${runId}/logs/stderr`))).text);

    const list = JSON.parse((await runWes(['list', '--json', '--page-size', '1000'], { url })).stdout);
    expect(list).toEqual(await h.client.getJson('/runs?page_size=1000'));
    expect(list.runs.map((r: { run_id: string }) => r.run_id)).toContain(runId);
    const canceled = JSON.parse((await runWes(['list', '--json', '--state', 'canceled', '--all', '--page-size', '1'], { url })).stdout);
    expect(canceled.runs.length).toBeGreaterThanOrEqual(1);
    expect(canceled.runs.every((r: { state: string }) => r.state === 'CANCELED')).toBe(true);
    expect(canceled.runs.map((r: { run_id: string }) => r.run_id)).toContain(runId);
    expect(canceled.next_page_token).toBe('');
    const tagged = JSON.parse((await runWes(['list', '--json', '--tag', 'project:cli-test', '--state', 'canceled'], { url })).stdout);
    expect(tagged.runs.map((r: { run_id: string }) => r.run_id)).toEqual([runId]);

    const deleted = await runWes(['delete', runId], { url });
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe(`${runId}  deleted\n`);
    expect((await h.client.request('GET', `/runs/${runId}`)).status).toBe(404);
    const again = await runWes(['delete', runId], { url });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`no run with id "${runId}"`);

    const info = await runWes(['info', '--json'], { url });
    expect(JSON.parse(info.stdout)).toEqual(await h.client.getJson('/service-info'));
  });

  it('follows a live log until the run ends (logs --follow)', async () => {
    const dir = folder('follow');
    const seconds = `2.${uniqueNumber(100_000, 800_000)}`;
    writeFileSync(path.join(dir, 'job.yml'), `seconds: "${seconds}"\n`);
    const url = h.stack.origin;
    const runId = (await runWes(['submit', path.join(WORKFLOWS_DIR, 'nap.cwl'), path.join(dir, 'job.yml')], { url })).stdout.trim();
    await h.client.waitForState(runId, ['RUNNING']);
    const r = await runWes(['logs', '--follow', runId], { url });
    expect(r.code, r.stderr).toBe(0);
    // It stopped only once the run had ended, with every byte of the log.
    expect(await h.client.status(runId)).toBe('COMPLETE');
    const whole = (await h.client.fetchText(h.client.url(`/runs/${runId}/logs/stderr`))).text;
    expect(whole).toContain(seconds);
    expect(r.stdout).toBe(whole);
  });

  it('reports errors as one line and a non-zero exit: unreachable server, 400, 404, missing file, bad arguments', async () => {
    const port = await freePort();
    const unreachable = await runWes(['status', 'x'], { url: `http://127.0.0.1:${port}` });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(`wes: cannot reach http://127.0.0.1:${port}/ga4gh/wes/v1: connection refused\n`);

    const url = h.stack.origin;
    const badToken = await runWes(['list', '--page-token', 'not-a-token'], { url });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toBe('wes: 400 Bad Request: page_token: "not-a-token" is not a token this server issued\n');

    const badEngine = await runWes(['submit', '--engine', 'nope', path.join(WORKFLOWS_DIR, 'nap.cwl')], { url });
    expect(badEngine.code).toBe(1);
    expect(badEngine.stderr).toMatch(/^wes: 400 Bad Request: workflow_engine: "nope" does not run CWL here \(available: [^\n]+\)\n$/);

    const missingRun = await runWes(['status', '01900000-0000-7000-8000-000000000000'], { url });
    expect(missingRun.stderr).toBe('wes: 404 Not Found: no run with id "01900000-0000-7000-8000-000000000000"\n');

    const missingFile = await runWes(['run', path.join(scratch, 'nope.cwl')], { url });
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toBe(`wes: ${path.join(scratch, 'nope.cwl')}: no such file\n`);

    const noWorkflow = await runWes(['run'], { url });
    expect(noWorkflow.code).toBe(2);
    expect(noWorkflow.stderr).toMatch(/^wes: missing required argument 'workflow'\n/);
  });
});
