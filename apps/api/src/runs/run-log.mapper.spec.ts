import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand, RunRecord } from '../../../../libs/runs/src';
import { commandForClient, RUN_FOLDER_SHOWN, toRunLog } from './run-log.mapper';

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

describe('commandForClient', () => {
  it.each([
    ['in a sandbox (the engine saw /wes)', '/wes'],
    ['without a sandbox (the worker\'s scratch folder)', '/var/lib/wes/work/01a22d2f-baf8-7386-abda-3a7961818474-Xy12Ab'],
  ])('shows the run folder as <run> %s', (_what, root) => {
    expect(RUN_FOLDER_SHOWN).toBe('<run>');
    const shown = commandForClient(decodeCommand(encodeCommand(argsIn(root), root)));
    expect(shown).toEqual(SHOWN);
    expect(shown.join(' ')).not.toContain(`${root}/`);
    expect(shown).not.toContain(root);
  });

  it('leaves alone what only looks like the folder (a longer name, a path elsewhere)', () => {
    const root = '/srv/w/run-1';
    const args = ['/srv/w/run-10/x', 'x/srv/w/run-1/y', '/srv/w/run-1x', 'run-1'];
    expect(commandForClient({ args, runFolder: root })).toEqual(args);
    expect(commandForClient({ args: ['/wes/outputs', '/wesx'], runFolder: '/wes/' })).toEqual(['<run>/outputs', '/wesx']);
  });

  it('is an empty command line before the engine started', () => {
    expect(commandForClient(undefined)).toEqual([]);
  });
});

describe('toRunLog', () => {
  it('gives the command line relative to the run', () => {
    const root = '/tmp/wes-e2e-AbC/work/01a22d2f-baf8-7386-abda-3a7961818474-Xy12Ab';
    const run: RunRecord = {
      runId: '01a22d2f-baf8-7386-abda-3a7961818474',
      state: 'COMPLETE',
      request: { workflow_params: {}, workflow_type: 'CWL', workflow_type_version: 'v1.2', tags: {}, workflow_engine_parameters: {}, workflow_url: 'main.cwl' },
      engine: 'cwltool',
      workflow: 'main.cwl',
      attachments: ['main.cwl'],
      created: 0,
      cmd: decodeCommand(encodeCommand(argsIn(root), root)),
      systemLogs: [],
      attempt: 1,
    };
    expect(toRunLog(run, 'http://x/ga4gh/wes/v1', []).run_log.cmd).toEqual(SHOWN);
  });
});
