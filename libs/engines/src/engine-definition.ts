import { TaskParser } from './engine-tasks';

/** An engine parameter a client may set through workflow_engine_parameters (the allow-list). */
export interface EngineParameter {
  /** The flag as the client names it, e.g. `--parallel`. */
  name: string;
  type: 'boolean' | 'string';
  default_value: string;
  /** For string parameters, the accepted values. */
  choices?: string[];
  description: string;
}

export interface EngineCommandInput {
  workflowPath: string;
  paramsPath: string;
  outDir: string;
  tmpDir: string;
  /** Client parameters, already checked against the allow-list. */
  parameters: Record<string, string>;
}

export interface EngineCommand {
  file: string;
  args: string[];
}

/** What the API and the workers know about one workflow engine. */
export interface EngineDefinition {
  name: string;
  /** Workflow types it runs, with their versions (as service-info lists them). */
  workflowTypes: Record<string, string[]>;
  parameters: EngineParameter[];
  /**
   * Flags that only concern the machine of a client that runs the engine itself (where to put
   * outputs and temporary files, how to print): clients that wrap a local runner, such as
   * toil-wes-cwl-runner under cwltest, pass them on. They are dropped, each noted in the run's
   * system_logs; they never reach the engine.
   */
  clientSideParameters: readonly string[];
  /** Signal that asks the engine to stop (sent to its whole process group). */
  stopSignal: NodeJS.Signals;
  /**
   * Variables of the worker's environment the engine needs (e.g. a cluster's settings). In a
   * sandbox the engine's environment is rebuilt from nothing (PATH, HOME, TMPDIR, LANG) plus
   * these: nothing else of the worker's (Redis URL, S3 keys) reaches a workflow.
   */
  environment: readonly string[];
  /** The command to run a workflow: an argument array, never a shell line. */
  command(executable: string, input: EngineCommandInput): EngineCommand;
  /** Parses the engine's `--version` output. */
  parseVersion(output: string): string;
  /**
   * A new reader of the tasks (jobs) of one run from the engine's stderr, for
   * `GET /runs/{id}/tasks`; an engine without it lists no tasks.
   */
  createTaskParser?(): TaskParser;
}

/** A workflow_engine_parameters entry the engine does not accept. */
export class InvalidEngineParameterError extends Error {
  override name = 'InvalidEngineParameterError';
}

/** Client parameters after the allow-list: those to apply, and the client-side ones dropped. */
export interface CheckedEngineParameters {
  parameters: Record<string, string>;
  ignored: string[];
}

/**
 * Checks client parameters against the engine's allow-list; returns them normalised, with the
 * client-side flags set apart. A value of '' (a bare flag: clients send null) means true.
 */
export function checkEngineParameters(engine: EngineDefinition, given: Record<string, string>): CheckedEngineParameters {
  const parameters: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [name, raw] of Object.entries(given)) {
    if (engine.clientSideParameters.includes(name)) {
      ignored.push(name);
      continue;
    }
    const def = engine.parameters.find((p) => p.name === name);
    if (!def) {
      const allowed = engine.parameters.map((p) => p.name).join(', ');
      throw new InvalidEngineParameterError(
        `"${name}" is not a parameter ${engine.name} accepts here (allowed: ${allowed}; ignored as client-side: ${engine.clientSideParameters.join(', ')})`,
      );
    }
    const value = String(raw).trim();
    if (def.type === 'boolean') {
      const v = value.toLowerCase();
      if (!['true', 'false', ''].includes(v)) {
        throw new InvalidEngineParameterError(`"${name}" takes true or false, not "${value}"`);
      }
      parameters[name] = v === 'false' ? 'false' : 'true';
    } else {
      if (def.choices && !def.choices.includes(value)) {
        throw new InvalidEngineParameterError(`"${name}" takes one of ${def.choices.join(', ')}, not "${value}"`);
      }
      parameters[name] = value;
    }
  }
  return { parameters, ignored };
}
