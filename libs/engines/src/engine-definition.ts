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

/**
 * This worker's settings for one engine (YAML `engineOptions: {<engine>: {...}}`): what the
 * operator decides and never a client, e.g. toil's `batchSystem`, snakemake's `cores`. Empty
 * when none are set; an engine reads the keys it knows.
 */
export type EngineOptions = Readonly<Record<string, string>>;

/** Paths as the engine sees them (under /wes in a sandbox). */
export interface EngineCommandInput {
  workflowPath: string;
  /** The params file: the language's input object (CWL job order, WDL inputs JSON, Snakemake config). */
  paramsPath: string;
  /** The engine's work folder (its `workFolder`), where it writes its outputs. */
  outDir: string;
  tmpDir: string;
  /** Client parameters, already checked against the allow-list. */
  parameters: Record<string, string>;
  /** This worker's options for the engine; absent: none. */
  options?: EngineOptions;
}

/** What of the run an engine may need to find its outputs (snakemake: the `wes_outputs` list of the params). */
export interface EngineRunRequest {
  params: Readonly<Record<string, unknown>>;
  options: EngineOptions;
  /** The workflow's main document as the worker sees it (toil-wdl reads its declared outputs there). */
  workflowFile?: string;
}

export interface EngineCommand {
  file: string;
  args: string[];
}

/** The files of one run as the worker sees them (host paths), for what an engine reads or cleans after it exits. */
export interface EngineRunFiles {
  /** The run's scratch folder (everything below is removed after the run unless kept). */
  root: string;
  /** The engine's work folder (its `workFolder`), outputs are collected from it. */
  outDir: string;
  /** The output folder as the engine sees it (under /wes in a sandbox): where the paths it names point. */
  engineOutDir: string;
  tmpDir: string;
  stdoutFile: string;
  stderrFile: string;
}

/** How an engine's executable is found and installed (for the worker's start-up error). */
export interface EngineExecutable {
  /** The executable when no setting names one: a name on PATH. */
  default: string;
  /** How to install it, e.g. `apt-get install cwltool`. */
  install: string;
}

/**
 * What the API and the workers know about one workflow engine: the one place that knows its
 * command line, its version output, how it stops, where its outputs and tasks are. The API
 * reads its workflow types, parameters and client-side flags; the worker its executable,
 * version, command, stop signal, outputs, tasks and clean-up. Every engine is a row of ENGINES
 * (engine-catalog.ts): one without a piece does not compile.
 *
 * How the engines to come fill it:
 * - toil-cwl-runner: `workflowTypes` {CWL}; `executable` toil-cwl-runner (`apt-get install
 *   toil`); the command adds `--jobStore <tmpDir>/jobstore` (fresh per run) and the worker's
 *   `--batchSystem` (`options.batchSystem`, never a client parameter; a cluster's variables in
 *   `environment`); `stopSignal` SIGTERM with a longer `minStopGraceMs` (its leader cleans its
 *   workers up); outputs on stdout like cwltool's; `cleanUp` removes the job store (`toil clean`
 *   for one in an object store); its own TaskParser of Toil's log.
 * - toil-wdl-runner: `workflowTypes` {WDL}; the same executable family; the params file is the
 *   inputs JSON; `readOutputs` reads the JSON it prints (or `--outputFile`), File values as
 *   strings the WDL language's `files` walker reads.
 * - snakemake (done: engines/snakemake/): `workflowTypes` {SMK}; command `snakemake --snakefile
 *   <workflow> --configfile <params> --cores <options.cores> --directory <outDir>`, its
 *   `workFolder` the attachments; `stopSignal` SIGINT (it stops its jobs); outputs are the paths
 *   the params' `wes_outputs` names, from which `readOutputs` builds the output object; tasks
 *   from its `rule ...:` log lines.
 */
export interface EngineDefinition {
  name: string;
  /** Workflow types it runs (keys of LANGUAGES), with the versions of each it runs. */
  workflowTypes: Readonly<Record<string, readonly string[]>>;
  executable: EngineExecutable;
  /** Arguments that make it print its version (`--version`). */
  versionArgs: readonly string[];
  /** Parses the output of its version command. */
  parseVersion(output: string): string;
  parameters: readonly EngineParameter[];
  /**
   * Flags that only concern the machine of a client that runs the engine itself (where to put
   * outputs and temporary files, how to print): clients that wrap a local runner, such as
   * toil-wes-cwl-runner under cwltest, pass them on. They are dropped, each noted in the run's
   * system_logs; they never reach the engine.
   */
  clientSideParameters: readonly string[];
  /**
   * The run's folder the engine works in, given as its `outDir` and the one outputs are
   * collected from: `outputs` (a folder of its own, as cwltool's), or `attachments` (snakemake: a
   * Snakefile's relative paths, its `configfile:` and data, are where the client put them, as in
   * a checkout of the workflow's repository). Absent: `outputs`.
   */
  workFolder?: 'outputs' | 'attachments';
  /** Signal that asks the engine to stop (sent to its whole process group). */
  stopSignal: NodeJS.Signals;
  /**
   * Milliseconds the engine needs at least between its stop signal and SIGKILL (an engine that
   * cleans up a cluster's jobs); the worker waits the longer of this and WES_CANCEL_GRACE_MS.
   * 0: the setting alone.
   */
  minStopGraceMs: number;
  /**
   * Why the engine runs only in the bwrap sandbox, when it does (toil: its workers start in
   * sessions of their own, out of reach of a signal to its process group; the sandbox's pid
   * namespace is what ends them). A worker with WES_SANDBOX=none leaves it out, or refuses to
   * start when a setting names it. Absent: it may run without a sandbox.
   */
  sandboxOnly?: string;
  /**
   * Variables of the worker's environment the engine needs (e.g. a cluster's settings). In a
   * sandbox the engine's environment is rebuilt from nothing (PATH, HOME, TMPDIR, LANG) plus
   * these: nothing else of the worker's (Redis URL, S3 keys) reaches a workflow.
   */
  environment: readonly string[];
  /** The command to run a workflow: an argument array, never a shell line. */
  command(executable: string, input: EngineCommandInput): EngineCommand;
  /**
   * The output object of a run that exited 0, in its language's form (File and Directory
   * locations as the engine named them). Throws JsonTooDeepError when it nests too deep (the
   * workflow's fault), any other error when it cannot be read (ours).
   */
  readOutputs(files: EngineRunFiles, run: EngineRunRequest): Promise<unknown>;
  /**
   * What is wrong with this worker's options for the engine (engineOptions), or undefined: a
   * worker refuses to start on it rather than fail each run.
   */
  checkOptions?(options: EngineOptions): string | undefined;
  /**
   * A new reader of the tasks (jobs) of one run from the engine's stderr, for
   * `GET /runs/{id}/tasks`; an engine without it lists no tasks.
   */
  createTaskParser?(): TaskParser;
  /**
   * What to remove after a run, whatever its end, besides the scratch folder (which goes
   * anyway): e.g. a job store elsewhere. Errors are logged, never the run's.
   */
  cleanUp?(files: EngineRunFiles, run: EngineRunRequest): Promise<void>;
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
