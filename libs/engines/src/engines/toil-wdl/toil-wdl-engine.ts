import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EngineCommandInput, EngineDefinition, EngineRunFiles, EngineRunRequest } from '../../engine-definition';
import { readWdlDocument, wdlOutputFileName } from '../../languages/wdl/wdl-documents';
import { WDL } from '../../languages/wdl/wdl-language';
import { TOIL_CWL, TOIL_JOB_STORE } from '../toil-cwl/toil-cwl-engine';
import { ToilJobKinds, ToilTaskParser } from '../toil-cwl/toil-tasks';

/** toil-wdl-runner 5.9's tasks: a job of class `<task>Cls` per call; `Job`, `EncapsulatedJob`, `initialize_jobs` are Toil's own. */
const WDL_JOBS: ToilJobKinds = {
  taskName: (jobClass) => (jobClass.endsWith('Cls') && jobClass.length > 3 ? jobClass.slice(0, -3) : undefined),
  // Its generated code never checks a task's exit status: a task that did not fail says nothing of its code.
  successMeansExitZero: false,
};

/**
 * The output object of a toil-wdl-runner 5.9 run, which prints none: the File outputs the main
 * document's workflow declares, each where the runner copies it (its output folder, by
 * basename), keyed `<workflow>.<output>` as WDL names outputs. An output whose file is missing
 * is still listed, so that collecting it fails the run (EXECUTOR_ERROR): that is how a failed
 * task shows, since the runner exits 0 when a task fails. Non-File outputs, and Files whose name
 * is computed, cannot be had from this runner and are left out.
 */
async function readWdlOutputs(files: EngineRunFiles, run: EngineRunRequest): Promise<Record<string, unknown>> {
  if (!run.workflowFile) throw new Error('the workflow document is unknown');
  const doc = readWdlDocument(await readFile(run.workflowFile, 'utf8'));
  const workflow = doc.workflows[0];
  if (!workflow) throw new Error('the workflow document declares no workflow');
  const outputs: Record<string, unknown> = {};
  for (const o of doc.outputs) {
    if (o.type !== 'File') continue;
    const name = wdlOutputFileName(doc, o.expression);
    // Where the engine put it, as the engine sees it (the collect step maps it back).
    if (name !== undefined) outputs[`${workflow}.${o.name}`] = { class: 'File', location: pathToFileURL(path.posix.join(files.engineOutDir, name)).href };
  }
  return outputs;
}

/**
 * toil-wdl-runner of Debian's Toil 5.9 (WDL 1.0 and draft-2, with python3-wdlparse): the
 * legacy runner that compiles WDL to a Toil script. Its defects (docs/ENGINES.md) shape this
 * engine: it prints no output object (readWdlOutputs builds one from the declared outputs), a
 * failing task exits 0 (only a missing output fails a run), it takes no Toil option (no batch
 * system but single_machine, no --retryCount: one retry of a failed job), and has no --version.
 */
export const TOIL_WDL = {
  name: 'toil-wdl',
  workflowTypes: { [WDL.type]: WDL.versions },
  executable: { default: 'toil-wdl-runner', install: 'Debian: apt-get install toil python3-wdlparse' },
  // No --version: its usage, which names the legacy runner's `secondary_file`.
  versionArgs: ['--help'],
  parseVersion: (output: string) => (/secondary_file/.test(output) ? 'legacy' : 'unknown'),
  stopSignal: TOIL_CWL.stopSignal,
  minStopGraceMs: TOIL_CWL.minStopGraceMs,
  sandboxOnly: TOIL_CWL.sandboxOnly,
  environment: [],
  // It takes no option a client could set to any use.
  parameters: [],
  clientSideParameters: ['-o', '--outdir', '--quiet'],
  command(executable: string, input: EngineCommandInput) {
    // Its own flags after the two positional arguments (docs/ENGINES.md).
    const args = [input.workflowPath, input.paramsPath, '--jobStore', path.posix.join(input.tmpDir, TOIL_JOB_STORE), '-o', input.outDir];
    return { file: executable, args };
  },
  readOutputs: (files: EngineRunFiles, run: EngineRunRequest) => readWdlOutputs(files, run),
  createTaskParser: () => new ToilTaskParser(WDL_JOBS),
  async cleanUp(files: EngineRunFiles) {
    await rm(path.join(files.tmpDir, TOIL_JOB_STORE), { recursive: true, force: true });
  },
} satisfies EngineDefinition;
