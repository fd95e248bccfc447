import { statSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { CliError } from '../cli-errors';
import { bytesText, clientOf, counted, keyValues, note, printJson, printText } from '../cli-context';
import { downloadOutputs } from '../output-downloader';
import { RunMonitor } from '../run-monitor';
import { prepareSubmission, submissionForm, SubmissionOptions } from '../run-submission';
import type { WesApiClient } from '../wes-api-client';
import type { RunLog } from '../wes-types';

/** Exit code of a run interrupted by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;
/** Lines of the engine's stderr shown when a run fails and its log was not followed. */
const FAILURE_LOG_LINES = 40;

interface SubmitOptions {
  engine?: string;
  engineParam?: Record<string, string>;
  tags?: Record<string, string>;
  quiet?: boolean;
}

interface RunOptions extends SubmitOptions {
  outdir: string;
  follow?: boolean;
}

/** The options `run` and `submit` share: what the RunRequest carries besides the files. */
function withSubmissionOptions(cmd: Command): Command {
  return cmd
    .argument('<workflow>', 'the CWL workflow or tool (a #fragment names a process of a packed $graph)')
    .argument('[job]', 'the job: inputs as YAML or JSON')
    .option('--engine <name>', 'workflow engine (default: the server’s for CWL)')
    .option('--engine-param <key=value>', 'workflow engine parameter, e.g. --engine-param=--parallel=true (repeatable)', keyValues('--engine-param', true))
    .option('--tags <key=value>', 'a tag of the run (repeatable)', keyValues('--tags', false))
    .option('--quiet', 'no progress on stderr (warnings and errors only)');
}

/** Finds the files, uploads them, returns the run id; Ctrl-C meanwhile abandons the upload. */
async function submitRun(client: WesApiClient, workflow: string, job: string | undefined, options: SubmitOptions, signal?: AbortSignal): Promise<string> {
  const submission = prepareSubmission(workflow, job);
  for (const w of submission.warnings) note(`warning: ${w}`);
  const bytes = submission.attachments.reduce((n, a) => n + statSync(a.file).size, 0);
  if (!options.quiet) {
    note(`uploading ${counted(submission.attachments.length, 'file')} (${bytesText(bytes)}) from ${submission.root} to ${client.base}`);
  }
  const extra: SubmissionOptions = { engine: options.engine, engineParameters: options.engineParam, tags: options.tags };
  try {
    const { run_id } = await client.submit(await submissionForm(submission, extra), signal);
    if (!options.quiet) note(`run ${run_id} submitted`);
    return run_id;
  } catch (err) {
    if (signal?.aborted) throw new CliError('interrupted before the run was submitted', INTERRUPTED_EXIT_CODE);
    throw err;
  }
}

/** The exit code of an ended run, as cwltool's: 0 for COMPLETE, else the engine's (or 1). */
export function runExitCode(log: RunLog): number {
  if (log.state === 'COMPLETE') return 0;
  const code = Number(String(log.run_log?.exit_code ?? ''));
  return Number.isInteger(code) && code > 0 ? code : 1;
}

/** Tells why a run failed: its system logs and the end of the engine's stderr. */
async function explainFailure(client: WesApiClient, log: RunLog, logShown: boolean): Promise<void> {
  note(`run ${log.run_id} ended ${log.state}${log.run_log?.exit_code !== undefined ? ` (exit code ${String(log.run_log.exit_code)})` : ''}`);
  for (const line of log.run_log?.system_logs ?? []) note(`system log: ${line}`);
  if (logShown || !log.run_log?.stderr) return;
  const text = (await client.readFrom(log.run_log.stderr, 0).catch(() => Buffer.alloc(0))).toString('utf8');
  const lines = text.trimEnd().split('\n');
  if (!text.trim()) return;
  note(`engine stderr${lines.length > FAILURE_LOG_LINES ? ` (last ${FAILURE_LOG_LINES} lines)` : ''}:`);
  process.stderr.write(`${lines.slice(-FAILURE_LOG_LINES).join('\n')}\n`);
}

async function run(cmd: Command, workflow: string, job: string | undefined, options: RunOptions): Promise<number> {
  const client = clientOf(cmd);
  const outdir = path.resolve(options.outdir);
  const progress = options.quiet ? undefined : note;
  let monitor: RunMonitor | undefined;
  let ended = false;
  let interrupts = 0;
  // Ctrl-C stops what is going on: the upload, the run (cancelled), or the downloads.
  const upload = new AbortController();
  const download = new AbortController();
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) {
      note('interrupted again: exiting without waiting for the run to end');
      process.exit(INTERRUPTED_EXIT_CODE);
    }
    if (!monitor) return upload.abort();
    if (ended) {
      note('interrupted: downloads stopped');
      return download.abort();
    }
    note(`cancelling run ${monitor.runId} (Ctrl-C again to exit at once)`);
    monitor.cancel().catch((err: Error) => note(`cancel failed: ${err.message}`));
  };
  process.on('SIGINT', onInterrupt);
  try {
    const runId = await submitRun(client, workflow, job, options, upload.signal);
    monitor = new RunMonitor(client, runId, {
      progress,
      engineStderr: options.follow ? (chunk) => process.stderr.write(chunk) : undefined,
    });
    if (interrupts > 0) onInterrupt(); // Ctrl-C came while the server was answering the submit
    const log = await monitor.waitForEnd();
    ended = true;
    if (interrupts > 0) return INTERRUPTED_EXIT_CODE;
    if (log.state !== 'COMPLETE') await explainFailure(client, log, Boolean(options.follow));
    const result = await downloadOutputs(client, log.outputs ?? {}, outdir, download.signal).catch((err) => {
      throw download.signal.aborted ? new CliError('interrupted while downloading the outputs', INTERRUPTED_EXIT_CODE) : err;
    });
    for (const d of result.unlisted) note(`warning: the server gave output Directory ${d} no listing: its files were not downloaded`);
    if (result.files > 0) progress?.(`downloaded ${counted(result.files, 'file')} (${bytesText(result.bytes)}) to ${outdir}`);
    printJson(result.outputs);
    return runExitCode(log);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

async function submit(cmd: Command, workflow: string, job: string | undefined, options: SubmitOptions & { json?: boolean }): Promise<number> {
  const runId = await submitRun(clientOf(cmd), workflow, job, { ...options, quiet: options.quiet ?? true });
  if (options.json) printJson({ run_id: runId });
  else printText(runId);
  return 0;
}

export function runCommands(setExitCode: (code: number) => void): Command[] {
  const runCmd = withSubmissionOptions(new Command('run'))
    .description('run a workflow like cwl-runner: upload what it needs, wait, download the outputs, print the output object')
    .option('--outdir <dir>', 'where the outputs go', '.')
    .option('--follow', 'show the engine’s stderr live')
    .action(async (workflow: string, job: string | undefined, options: RunOptions, cmd: Command) => {
      setExitCode(await run(cmd, workflow, job, options));
    });
  const submitCmd = withSubmissionOptions(new Command('submit'))
    .description('submit a workflow (as run does) and print the run id without waiting')
    .option('--json', 'print {"run_id": ...}')
    .action(async (workflow: string, job: string | undefined, options: SubmitOptions & { json?: boolean }, cmd: Command) => {
      setExitCode(await submit(cmd, workflow, job, options));
    });
  return [runCmd, submitCmd];
}
