import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EngineCommandInput, EngineDefinition, EngineOptions, EngineRunFiles, EngineRunRequest } from '../../engine-definition';
import { declaredOutputs, SMK } from '../../languages/smk/smk-language';
import { SnakemakeTaskParser } from './snakemake-tasks';

/** Its jobs at once when the worker's options name none (`engineOptions: {snakemake: {cores: N}}`). */
export const DEFAULT_SNAKEMAKE_CORES = 1;

/** What is wrong with the worker's options (`cores` must be a positive whole number), or undefined. */
function optionsProblem(options: EngineOptions | undefined): string | undefined {
  const given = options?.cores;
  if (given === undefined || given.trim() === '') return undefined;
  return /^\d+$/.test(given.trim()) && Number(given) >= 1 ? undefined : `cores: "${given}" is not a positive whole number`;
}

/** The cores a run may use: the worker's `cores` option (a positive integer), else 1. */
export function snakemakeCores(options: EngineOptions | undefined): number {
  const why = optionsProblem(options);
  // Checked when the worker starts (checkOptions): reached only by a caller that skipped it.
  if (why) throw new Error(`invalid setting engineOptions.snakemake.${why}`);
  return options?.cores?.trim() ? Number(options.cores) : DEFAULT_SNAKEMAKE_CORES;
}

/**
 * Snakemake 7 (Debian 12: 7.21). Its work folder (`--directory`) is the run's attachments'
 * folder: the rules' relative paths (data, `configfile:`) are where the client put them beside
 * the Snakefile, as in a checkout of its repository, and so are the files the rules write,
 * beside Snakemake's `.snakemake/`. It
 * prints nothing on stdout and no list of outputs: the outputs kept are the paths the params'
 * `wes_outputs` list names (language SMK). Its log (stderr, `--nocolor --printshellcmds`) names
 * each job (`rule <name>:`, `jobid: n`, `Finished job n.`, `Error in rule <name>:`). Its stop
 * signal is SIGINT: it stops its jobs (which stay in its process group) and exits 1 in under a
 * second (docs/ENGINES.md).
 */
export const SNAKEMAKE = {
  name: 'snakemake',
  workflowTypes: { [SMK.type]: SMK.versions },
  executable: { default: 'snakemake', install: 'Debian: apt-get install snakemake' },
  versionArgs: ['--version'],
  // Where the Snakefile and its files are: relative paths in it work as in its repository.
  workFolder: 'attachments',
  stopSignal: 'SIGINT',
  minStopGraceMs: 0,
  // Snakemake needs nothing of the worker's: its source cache goes to $HOME (the run's tmp in a sandbox).
  environment: [],
  // Flags that only change how a job is run or kept, never where, what or with which shell;
  // the cores are the worker's (engineOptions), never a client's.
  parameters: [
    { name: '--keep-going', type: 'boolean', default_value: 'false', description: 'Go on with the jobs that do not depend on a failed one' },
    { name: '--notemp', type: 'boolean', default_value: 'false', description: 'Keep the files rules mark temp()' },
    {
      name: '--restart-times',
      type: 'string',
      default_value: '0',
      choices: ['0', '1', '2', '3'],
      description: 'Times a failed job is tried again',
    },
  ],
  // How a client's own run would print: the server prints as its task parser reads.
  clientSideParameters: ['--nocolor', '--printshellcmds', '-p', '--quiet', '-q', '--verbose'],
  command(executable: string, input: EngineCommandInput) {
    const args = [
      '--nocolor',
      '--printshellcmds',
      '--cores',
      String(snakemakeCores(input.options)),
      '--snakefile',
      input.workflowPath,
      '--configfile',
      input.paramsPath,
      '--directory',
      input.outDir,
    ];
    for (const [name, value] of Object.entries(input.parameters)) {
      if (name === '--restart-times') args.push(name, value);
      else if (value === 'true') args.push(name);
    }
    return { file: executable, args };
  },
  /**
   * The output object: each path `wes_outputs` declares, as a File (a Directory when the rules
   * made a folder there) in the work folder. A declared path the run did not make stays a File,
   * which the output collector reports missing (EXECUTOR_ERROR naming it).
   */
  async readOutputs(files: EngineRunFiles, run: EngineRunRequest) {
    const declared = declaredOutputs(run.params);
    // Checked at submit; a run recorded before that check could still hold one.
    if ('error' in declared) throw new Error(`its declared outputs are unusable: ${declared.error}`);
    const out: Record<string, unknown> = {};
    for (const rel of declared.paths) {
      const isFolder = await stat(path.join(files.outDir, rel)).then((s) => s.isDirectory(), () => false);
      out[rel] = { class: isFolder ? 'Directory' : 'File', location: pathToFileURL(path.posix.join(files.engineOutDir, rel)).href };
    }
    return out;
  },
  checkOptions: optionsProblem,
  createTaskParser: () => new SnakemakeTaskParser(),
  // `snakemake --version` prints `7.21.0`.
  parseVersion: (output: string) => output.trim().split(/\s+/).pop() || 'unknown',
} satisfies EngineDefinition;
