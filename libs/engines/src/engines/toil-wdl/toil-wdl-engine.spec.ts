import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES, LANGUAGES } from '../../engine-catalog';
import { checkEngineParameters } from '../../engine-definition';
import { EngineTask } from '../../engine-tasks';
import { readWdlDocument, wdlDocumentReferences } from '../../languages/wdl/wdl-documents';
import { WDL } from '../../languages/wdl/wdl-language';
import { TOIL_WDL } from './toil-wdl-engine';

const TWO_STEPS = readFileSync(path.join(__dirname, '..', '..', '..', '..', '..', 'test', 'workflows', 'wdl', 'two-steps.wdl'), 'utf8');

describe('the WDL language', () => {
  it('reads a document: version, imports, workflow, tasks, declared outputs, calls', () => {
    const doc = readWdlDocument(`version 1.0\nimport "lib/tasks.wdl" as t # a comment\n${TWO_STEPS.replace(/^version 1.0\n/, '')}\ntask extra { command { true } }\n`);
    expect(doc.version).toBe('1.0');
    expect(doc.workflows).toEqual(['main']);
    expect(doc.tasks).toEqual(['rev', 'count_lines', 'extra']);
    expect(doc.outputs).toEqual([
      { type: 'File', name: 'reversed', expression: 'rev.out' },
      { type: 'File', name: 'count', expression: 'count_lines.out' },
    ]);
    expect(WDL.isWorkflowDocument(doc)).toBe(true);
    expect(wdlDocumentReferences(doc)).toEqual([{ ref: 'lib/tasks.wdl', kind: 'document' }]);
    expect(readWdlDocument('workflow w { call t }\ntask t { command { echo } }').version).toBe('draft-2');
    expect(WDL.isWorkflowDocument(readWdlDocument('# nothing but a comment: workflow x {'))).toBe(false);
  });

  it('stages File objects of the inputs JSON and gives the engine their paths as strings; other values pass as they are', async () => {
    const params = { 'main.inp': { class: 'File', location: 'input.txt' }, 'main.name': 'input.txt', 'main.n': 3 };
    const seen: string[] = [];
    WDL.files.forEach(params, (obj) => seen.push(String(obj.location)));
    expect(seen).toEqual(['input.txt']);
    const staged = await WDL.files.map(params, (obj) => ({ ...obj, location: 'file:///wes/attachments/input.txt' }));
    expect(staged).toEqual({ 'main.inp': '/wes/attachments/input.txt', 'main.name': 'input.txt', 'main.n': 3 });
    // An output's stored reference stays a File object (what the RunLog serves).
    expect(await WDL.files.map({ o: { class: 'File', location: 'file:///wes/outputs/x' } }, (obj) => ({ ...obj, location: 'wes-output:x' }))).toEqual({
      o: { class: 'File', location: 'wes-output:x' },
    });
    expect(LANGUAGES.WDL).toBe(WDL);
  });
});

describe('toil-wdl engine', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-toil-wdl-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs toil-wdl-runner 5.9 as it wants: the two positional arguments first, its own flags after', () => {
    const { args } = TOIL_WDL.command('toil-wdl-runner', { workflowPath: '/wes/attachments/w.wdl', paramsPath: '/wes/attachments/p.json', outDir: '/wes/outputs', tmpDir: '/wes/tmp', parameters: {} });
    expect(args).toEqual(['/wes/attachments/w.wdl', '/wes/attachments/p.json', '--jobStore', '/wes/tmp/jobstore', '-o', '/wes/outputs']);
    expect(() => checkEngineParameters(TOIL_WDL, { '--retryCount': '0' })).toThrow(/"--retryCount"/);
    expect(ENGINES['toil-wdl']).toBe(TOIL_WDL);
    expect(TOIL_WDL.sandboxOnly).toBeDefined();
  });

  it('has no --version: its usage names the legacy runner', () => {
    expect(TOIL_WDL.parseVersion('usage: toil-wdl-runner [-h] [--jobStore JOBSTORE]\n  wdl_file secondary_file')).toBe('legacy');
    expect(TOIL_WDL.parseVersion('usage: toil-wdl-runner [-h] WDL_URI')).toBe('unknown');
  });

  it('reads its outputs from the File outputs the workflow declares, named as the tasks write them', async () => {
    const workflowFile = path.join(dir, 'main.wdl');
    writeFileSync(workflowFile, TWO_STEPS);
    const files = { root: dir, outDir: dir, engineOutDir: '/wes/outputs', tmpDir: dir, stdoutFile: '', stderrFile: '' };
    expect(await TOIL_WDL.readOutputs(files, { params: {}, options: {}, workflowFile })).toEqual({
      'main.reversed': { class: 'File', location: 'file:///wes/outputs/reversed.txt' },
      'main.count': { class: 'File', location: 'file:///wes/outputs/count.txt' },
    });
    await expect(TOIL_WDL.readOutputs(files, { params: {}, options: {} })).rejects.toThrow(/unknown/);
  });

  it('lists a task per call from the leader log; their exit codes are unknown (the runner never checks them)', () => {
    const parser = TOIL_WDL.createTaskParser();
    const text = readFileSync(path.join(__dirname, 'fixtures', 'two-steps.stderr'), 'utf8');
    const tasks: EngineTask[] = [];
    for (const { task } of [...parser.feed(text, 1), ...parser.finish(2)]) tasks[task.key] = task;
    expect(tasks.map((t) => [t.name, t.exitCode, t.end])).toEqual([
      ['rev', undefined, 1],
      ['count_lines', undefined, 1],
    ]);
  });
});
