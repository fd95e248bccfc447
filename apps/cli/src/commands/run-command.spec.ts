import { describe, expect, it } from 'vitest';
import { parseJson } from '../../../../libs/json/src';
import type { RunLog } from '../wes-types';
import { runExitCode } from './run-command';

describe('runExitCode', () => {
  const log = (state: string, exit_code?: unknown) => ({ run_id: 'r', state, run_log: { exit_code } }) as RunLog;

  it('is 0 for COMPLETE, the engine’s code when it is positive, 1 otherwise (as cwl-runners do)', () => {
    expect(runExitCode(log('COMPLETE', 0))).toBe(0);
    expect(runExitCode(log('EXECUTOR_ERROR', 33))).toBe(33);
    expect(runExitCode(parseJson('{"run_id": "r", "state": "EXECUTOR_ERROR", "run_log": {"exit_code": 137}}') as RunLog)).toBe(137);
    expect(runExitCode(log('EXECUTOR_ERROR'))).toBe(1);
    expect(runExitCode(log('SYSTEM_ERROR', 0))).toBe(1);
    expect(runExitCode(log('CANCELED', -1))).toBe(1);
  });
});
