import { rm } from 'node:fs/promises';
import path from 'node:path';
import { EngineCommandInput, EngineDefinition, EngineRunFiles } from '../../engine-definition';
import { CWL } from '../../languages/cwl/cwl-language';
import { readCwlOutputObject } from '../../languages/cwl/cwl-output-object';
import { ToilTaskParser } from './toil-tasks';

/** The job store's folder name inside the run's tmp folder: fresh per run (Toil refuses one that exists). */
export const TOIL_JOB_STORE = 'jobstore';

/**
 * The worker's options for toil-cwl (YAML `engineOptions: {toil-cwl: {...}}`), each turned into
 * the Toil flag of the same name: the operator's, never a client's.
 */
export const TOIL_OPTIONS = ['batchSystem', 'maxCores', 'maxMemory', 'maxDisk', 'defaultCores', 'defaultMemory'] as const;

/**
 * toil-cwl-runner (Debian `toil` 5.9), CWL on Toil. Measured in the sandbox (docs/ENGINES.md):
 * - a fresh job store per run, `<tmp>/jobstore` (Toil refuses one that exists, even empty),
 *   deleted by Toil on success, left on failure: cleanUp removes it whatever the end;
 * - `--retryCount 0`: WES retries whole runs; Toil's default retry of a failed job doubles the
 *   time of every failing run;
 * - `--disableChaining`: every step is issued as a job of its own and named on the leader's
 *   stderr (`Issued job 'CWLJob' <name> ...`), which is what the tasks endpoint reads;
 * - its exit code is 1 for any failed step; the step's own code is in the failed job's log
 *   (`exited with status: N`), which the task parser puts in the step's task;
 * - the output object on stdout, as cwltool prints it.
 *
 * Its workers start in sessions of their own, so a signal to the engine's process group does
 * not reach them: the leader stops them on SIGTERM (its handler, ~5 s), and the sandbox's pid
 * namespace takes whatever is left when the group is SIGKILLed. Without that namespace nothing
 * would account for them, hence `sandboxOnly`.
 */
export const TOIL_CWL = {
  name: 'toil-cwl',
  workflowTypes: { [CWL.type]: CWL.versions },
  executable: { default: 'toil-cwl-runner', install: 'Debian: apt-get install toil' },
  versionArgs: ['--version'],
  stopSignal: 'SIGTERM',
  // The leader's SIGTERM handler stops its workers and exits within ~5 s (docs/ENGINES.md);
  // on a loaded machine it may take longer. SIGKILL comes after this at the latest.
  minStopGraceMs: 10_000,
  sandboxOnly: "Toil's workers start in sessions of their own: only the sandbox's pid namespace accounts for every process of a run",
  // What a batch system other than single_machine reads from the environment (Toil 5.9).
  environment: ['TOIL_SLURM_ARGS', 'TOIL_GRIDENGINE_ARGS', 'TOIL_GRIDENGINE_PE', 'TOIL_LSF_ARGS', 'TOIL_TORQUE_ARGS', 'TOIL_TORQUE_REQS', 'TOIL_HTCONDOR_PARAMS', 'KUBECONFIG'],
  parameters: [
    { name: '--strict', type: 'boolean', default_value: 'true', description: 'Strict validation of the CWL document (false: --not-strict)' },
    { name: '--relax-path-checks', type: 'boolean', default_value: 'false', description: 'Allow any character in file names' },
    {
      name: '--enable-ext',
      type: 'boolean',
      default_value: 'false',
      description: "Accept cwltool's extensions (cwltool:Loop, ...) in the documents",
    },
    { name: '--enable-dev', type: 'boolean', default_value: 'false', description: 'Accept development versions of CWL in referenced documents' },
    {
      name: '--logLevel',
      type: 'string',
      default_value: 'INFO',
      // Quieter levels would hide the `Issued job` lines the tasks endpoint reads.
      choices: ['INFO', 'DEBUG'],
      description: "Toil's log level (DEBUG: verbose engine log)",
    },
  ],
  // From `toil-cwl-runner --help`: where the client's own run would put outputs, temporary
  // files and logs, and how it prints. The server decides those for itself.
  clientSideParameters: ['--outdir', '--tmpdir-prefix', '--tmp-outdir-prefix', '--log-dir', '--quiet', '--disable-color', '--enable-color'],
  command(executable: string, input: EngineCommandInput) {
    const args = [
      '--jobStore',
      path.posix.join(input.tmpDir, TOIL_JOB_STORE),
      '--workDir',
      input.tmpDir,
      '--retryCount',
      '0',
      '--disableChaining',
      '--outdir',
      input.outDir,
      '--tmpdir-prefix',
      `${input.tmpDir}/`,
      '--tmp-outdir-prefix',
      `${input.tmpDir}/`,
    ];
    const options = input.options ?? {};
    args.push('--batchSystem', options.batchSystem || 'single_machine');
    for (const name of TOIL_OPTIONS) if (name !== 'batchSystem' && options[name]) args.push(`--${name}`, options[name]);
    for (const [name, value] of Object.entries(input.parameters)) {
      if (name === '--strict') {
        if (value === 'false') args.push('--not-strict');
      } else if (name === '--logLevel') {
        args.push('--logLevel', value);
      } else if (value === 'true') {
        args.push(name);
      }
    }
    args.push(input.workflowPath, input.paramsPath);
    return { file: executable, args };
  },
  readOutputs: (files: EngineRunFiles) => readCwlOutputObject(files.stdoutFile),
  createTaskParser: () => new ToilTaskParser(),
  // Toil deletes its job store on success only; a failed or stopped run leaves it.
  async cleanUp(files: EngineRunFiles) {
    await rm(path.join(files.tmpDir, TOIL_JOB_STORE), { recursive: true, force: true });
  },
  // `toil-cwl-runner --version` prints `5.9.0`.
  parseVersion(output: string) {
    const tokens = output.trim().split(/\s+/);
    return tokens[tokens.length - 1] || 'unknown';
  },
} satisfies EngineDefinition;
