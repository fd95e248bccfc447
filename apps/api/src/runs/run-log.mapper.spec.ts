import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand, RunRecord } from '../../../../libs/runs/src';
import { toRunLog } from './run-log.mapper';

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
      cmd: decodeCommand(encodeCommand(['/usr/bin/cwltool', '--outdir', `${root}/outputs`, `--some-flag=${root}/tmp/x`, `${root}/attachments/main.cwl#main`], root)),
      systemLogs: [],
      attempt: 1,
    };
    expect(toRunLog(run, 'http://x/ga4gh/wes/v1', []).run_log.cmd).toEqual(['/usr/bin/cwltool', '--outdir', '<run>/outputs', '--some-flag=<run>/tmp/x', '<run>/attachments/main.cwl#main']);
  });
});
