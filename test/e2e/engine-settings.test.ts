import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EngineDefinition, ENGINE_NAMES, ENGINES, supportedWorkflowTypes } from '../../libs/engines/src';
import { runForm, workflowFiles } from '../helpers/client';
import { localCwltoolVersion, TWO_STEP_FILES, useStack } from '../helpers/e2e';
import { API_ENTRY, CWLTOOL } from '../helpers/stack';

/**
 * The engine table as the processes read it: the worker detects the engines its settings enable
 * (each executable from WES_ENGINE_<NAME>_PATH, which wins over the deprecated WES_CWLTOOL_PATH,
 * here set to a path that does not exist), service-info lists the table's types and parameters
 * and the engines live workers detected, and a worker or API whose engine settings cannot be
 * met refuses to start, saying why.
 */
const h = useStack({
  workers: 1,
  workerEnv: { WES_CWLTOOL_PATH: '/nonexistent/old-name/cwltool', WES_ENGINE_CWLTOOL_PATH: CWLTOOL, WES_ENGINES: 'cwltool' },
  apiEnv: { WES_DEFAULT_ENGINES: 'CWL=cwltool' },
});

const logOf = (file: string) => readFileSync(file, 'utf8');

describe('engine settings', () => {
  it('service-info lists the engines the worker detected and their workflow types (not the whole table), and every engine parameter of the table', async () => {
    const info = await h.client.getJson('/service-info');
    // The worker runs cwltool only: the types of the other engines (SMK, WDL) are not offered.
    expect(Object.fromEntries(Object.entries(info.workflow_type_versions).map(([t, v]: [string, any]) => [t, v.workflow_type_version]))).toEqual(
      supportedWorkflowTypes(['cwltool']),
    );
    expect(Object.keys(supportedWorkflowTypes()).sort()).toEqual(['CWL', 'SMK', 'WDL']);
    expect(Object.keys(info.workflow_type_versions)).toEqual(['CWL']);
    const listed = info.default_workflow_engine_parameters.map((p: { name: string }) => p.name);
    const fromTable = ENGINE_NAMES.flatMap((n) => (ENGINES[n] as EngineDefinition).parameters.map((p) => p.name));
    expect(listed).toEqual(fromTable);
    expect(Object.keys(info.workflow_engine_versions)).toEqual(['cwltool']);
    expect(info.workflow_engine_versions.cwltool.workflow_engine_version).toContain(localCwltoolVersion());
  });

  it('runs a workflow that names no engine with the default engine, started from WES_ENGINE_CWLTOOL_PATH', async () => {
    const runId = await h.client.submitOk(
      runForm({
        workflow_url: 'main.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.2',
        workflow_params: { inp: { class: 'File', location: 'input.txt' } },
        attachments: { ...workflowFiles(...TWO_STEP_FILES), 'input.txt': 'b\na\n' },
      }),
    );
    await h.client.waitForState(runId, ['COMPLETE'], 120_000);
    const log = await h.client.runLog(runId);
    expect(log.run_log.cmd[0]).toBe(CWLTOOL);
  });

  it('a worker whose engine executable cannot run refuses to start, naming the setting and how to install it', async () => {
    const w = await h.stack.startWorker({ env: { WES_ENGINE_CWLTOOL_PATH: '/nonexistent/cwltool' }, waitReady: false });
    const { code } = await h.stack.waitExit(w, 60_000);
    expect(code).not.toBe(0);
    const log = logOf(w.logFile);
    expect(log).toContain('cwltool cannot be run');
    expect(log).toContain('WES_ENGINE_CWLTOOL_PATH=/nonexistent/cwltool');
    expect(log).toContain('apt-get install cwltool');
  });

  it('a worker told to run an engine the table does not hold refuses to start, listing those it does', async () => {
    const w = await h.stack.startWorker({ env: { WES_ENGINES: 'cwltool,no-such-engine' }, waitReady: false });
    const { code } = await h.stack.waitExit(w, 60_000);
    expect(code).toBe(2);
    expect(logOf(w.logFile)).toContain(`WES_ENGINES: no engine "no-such-engine" (known: ${ENGINE_NAMES.join(', ')})`);
  });

  it('an API whose default engine does not run the type, or does not exist, refuses to start', () => {
    for (const [value, why] of [
      ['CWL=no-such-engine', 'no engine "no-such-engine"'],
      ['NOPE=cwltool', 'no workflow type "NOPE"'],
    ]) {
      const r = spawnSync(process.execPath, [API_ENTRY], { env: { ...h.stack.env, WES_PORT: '0', WES_DEFAULT_ENGINES: value }, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`invalid setting WES_DEFAULT_ENGINES: ${why}`);
    }
  });
});
