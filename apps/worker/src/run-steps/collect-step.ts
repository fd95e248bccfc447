import { EngineDefinition, EngineRunFiles, EngineRunRequest, EngineView, LanguageDefinition } from '../../../../libs/engines/src';
import { JsonTooDeepError, stringifyJson } from '../../../../libs/json/src';
import { runObjectKeys } from '../../../../libs/runs/src';
import { ObjectStore } from '../../../../libs/storage/src';
import { collectOutputs, UnusableOutputError } from '../output-collector';
import { RunEnding } from './run-attempt';

/**
 * Step 4, collect (the engine exited 0): the engine reads its output object (cwltool: its
 * stdout), the language's walker finds every File and Directory in it, each is uploaded and its
 * location rewritten (output-collector.ts). Returns how the run ends: complete with its outputs,
 * or executor_error when the outputs are the workflow's fault (too deep, missing, outside the
 * output folder), system_error when they cannot be read at all.
 */
export class CollectStep {
  constructor(private readonly store: ObjectStore) {}

  async collect(
    runId: string,
    engine: EngineDefinition,
    engineRun: EngineRunRequest,
    language: LanguageDefinition,
    files: EngineRunFiles,
    view: EngineView,
  ): Promise<RunEnding> {
    let outputs: unknown;
    try {
      outputs = await engine.readOutputs(files, engineRun);
    } catch (err) {
      if (err instanceof JsonTooDeepError) {
        // What the workflow returned, not a failure of ours: the run failed.
        return { message: 'executor_error', options: { systemLogs: [`the engine exited 0 but its output object is ${err.message}`] } };
      }
      return { message: 'system_error', options: { fields: { exit_code: '0' }, systemLogs: [`the engine exited 0 but ${(err as Error).message}`] } };
    }
    let stored: unknown;
    try {
      stored = await collectOutputs(language.files, outputs, files.outDir, (p) => view.toHost(p), (rel, file) =>
        this.store.putFile(runObjectKeys.output(runId, rel), file).then(() => undefined),
      );
    } catch (err) {
      if (!(err instanceof UnusableOutputError)) throw err;
      // No exit code: clients such as toil-wes-cwl-runner exit with it, and this run failed.
      return { message: 'executor_error', options: { systemLogs: [`the engine exited 0 but its ${err.message}`] } };
    }
    return { message: 'complete', options: { fields: { exit_code: '0', outputs: stringifyJson(stored) } } };
  }
}
