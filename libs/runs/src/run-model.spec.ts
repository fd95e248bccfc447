import { describe, expect, it } from 'vitest';
import { decodeCommand, decodeRunRequest, encodeCommand, encodeRunRequest, RUN_FOLDER_SHOWN, RunRequest, showRunFolder } from './run-model';

const argsIn = (root: string) => [
  '/usr/bin/cwltool',
  '--disable-color',
  '--outdir',
  `${root}/outputs`,
  '--tmpdir-prefix',
  `${root}/tmp/`,
  `--some-flag=${root}/tmp/x`,
  `${root}/attachments/main.cwl#main`,
  `${root}/attachments/wes-params.json`,
  root,
];
const SHOWN = [
  '/usr/bin/cwltool',
  '--disable-color',
  '--outdir',
  '<run>/outputs',
  '--tmpdir-prefix',
  '<run>/tmp/',
  '--some-flag=<run>/tmp/x',
  '<run>/attachments/main.cwl#main',
  '<run>/attachments/wes-params.json',
  '<run>',
];
const ROOTS = [
  ['in a sandbox (the engine saw /wes)', '/wes'],
  ["without a sandbox (the worker's scratch folder)", '/var/lib/wes/work/01a22d2f-baf8-7386-abda-3a7961818474-Xy12Ab'],
];

/** The command as runs recorded before encodeCommand's NULs were: JSON of the folder and arguments. */
function oldRecord(args: string[], dir: string): string {
  return JSON.stringify({ dir, args: args.map((a) => (a === dir || a.startsWith(`${dir}/`) ? `\0${a.slice(dir.length)}` : a)) });
}

describe('recorded command line', () => {
  it.each(ROOTS)('shows the run folder as <run> %s', (_what, root) => {
    expect(RUN_FOLDER_SHOWN).toBe('<run>');
    const recorded = encodeCommand(argsIn(root), root);
    expect(recorded).not.toContain(`${root}/`);
    expect(recorded.split('\0')).not.toContain(root);
    const shown = decodeCommand(recorded);
    expect(shown).toEqual(SHOWN);
    expect(shown.join(' ')).not.toContain(`${root}/`);
    expect(shown).not.toContain(root);
  });

  it.each(ROOTS)('reads the JSON record of runs recorded before, %s', (_what, root) => {
    expect(decodeCommand(oldRecord(argsIn(root), root))).toEqual(SHOWN);
  });

  it('leaves alone what only looks like the folder (a longer name, a path elsewhere)', () => {
    const root = '/srv/w/run-1';
    const args = ['/srv/w/run-10/x', 'x/srv/w/run-1/y', '/srv/w/run-1x', 'run-1'];
    expect(showRunFolder(args, root)).toEqual(args);
    expect(decodeCommand(encodeCommand(args, root))).toEqual(args);
    expect(showRunFolder(['/wes/outputs', '/wesx'], '/wes/')).toEqual(['<run>/outputs', '/wesx']);
  });

  it('keeps empty arguments and arguments with any character but NUL', () => {
    const args = ['sh', '', '-c', 'a\tb\nc "d" \\ é {"dir":1}', '\u0001'];
    expect(decodeCommand(encodeCommand(args, '/wes'))).toEqual(args);
  });

  it('is an empty command line when none was recorded', () => {
    expect(encodeCommand([], '/wes')).toBe('');
    expect(decodeCommand('')).toEqual([]);
  });
});

describe('recorded run request', () => {
  const full: RunRequest = {
    workflow_params: { n: '12345678901234567890', x: [1, { y: null }] },
    workflow_type: 'CWL',
    workflow_type_version: 'v1.2',
    tags: { a: 'b' },
    workflow_engine_parameters: { '--foo': 'bar' },
    workflow_engine: 'toil',
    workflow_engine_version: '6.0',
    workflow_url: 'main.cwl#main',
  };

  it('reads back what was written, optional fields or not', () => {
    expect(decodeRunRequest(encodeRunRequest(full), full.tags)).toEqual(full);
    const { workflow_engine: _e, workflow_engine_version: _v, ...bare } = full;
    expect(decodeRunRequest(encodeRunRequest(bare), full.tags)).toEqual(bare);
    const noEngine = { ...bare, workflow_engine_version: '6.0' };
    expect(decodeRunRequest(encodeRunRequest(noEngine), full.tags)).toEqual(noEngine);
  });

  it('keeps numbers exactly (lossless JSON)', () => {
    const recorded = '[{"n":12345678901234567890123,"f":0.10000000000000000001},"CWL","v1.2",{},"main.cwl"]';
    expect(encodeRunRequest(decodeRunRequest(recorded, {}))).toBe(recorded);
  });

  it('reads the JSON object of runs recorded before, with the tags kept apart', () => {
    const { tags: _t, ...rest } = full;
    expect(decodeRunRequest(JSON.stringify(rest), full.tags)).toEqual(full);
  });

  it('writes no names, so a small request fits one piece of the run hash', () => {
    const small: RunRequest = { workflow_params: { message: 'hello' }, workflow_type: 'CWL', workflow_type_version: 'v1.2', tags: {}, workflow_engine_parameters: {}, workflow_url: 'hello.cwl' };
    expect(encodeRunRequest(small)).toBe('[{"message":"hello"},"CWL","v1.2",{},"hello.cwl"]');
  });
});
