import { FileObject, FileReferences, languageOf } from '../../../../libs/engines/src';
import { OUTPUT_LOCATION_PREFIX, RunRecord, RunSummaryRow, StoredTask } from '../../../../libs/runs/src';
import { RunFileUrl, runFileUrl, wesTime } from '../common/base-url';
import { toTaskLog } from './task-log.mapper';

/** Gives the client URL of an output path (relative to the run's outputs folder). */
export type OutputUrl = (path: string) => string;

/** The walker of a run's values (params, outputs): its language's. */
export function filesOf(run: Pick<RunRecord, 'request'>): FileReferences {
  const language = languageOf(run.request.workflow_type);
  if (!language) throw new Error(`no language for workflow type ${run.request.workflow_type}`);
  return language.files;
}

/** The output paths a run's output object refers to. */
export function outputPaths(run: Pick<RunRecord, 'request' | 'outputs'>): string[] {
  const out: string[] = [];
  filesOf(run).forEach(run.outputs ?? {}, (obj) => {
    if (typeof obj.location === 'string' && obj.location.startsWith(OUTPUT_LOCATION_PREFIX)) out.push(obj.location.slice(OUTPUT_LOCATION_PREFIX.length));
  });
  return out;
}

/** Rewrites each stored output location (of a File or Directory) into a URL the client can fetch. */
export function outputsForClient(files: FileReferences, value: unknown, urlOf: OutputUrl): unknown {
  return files.mapSync(value, (obj) =>
    typeof obj.location === 'string' && obj.location.startsWith(OUTPUT_LOCATION_PREFIX)
      ? { ...obj, location: urlOf(obj.location.slice(OUTPUT_LOCATION_PREFIX.length)) }
      : obj,
  );
}

/**
 * The WES RunLog of a run, with every link absolute under `base` (the WES root URL); `tasks`:
 * all its tasks, or null when it has too many to list here (task_logs_url pages them).
 * `fileUrl` gives the URLs of its logs and outputs (signed when links are), `outputUrl` those
 * of its outputs when they are served elsewhere (presigned S3 URLs).
 */
export function toRunLog(run: RunRecord, base: string, tasks: StoredTask[] | null, fileUrl: RunFileUrl = runFileUrl(base, run.runId), outputUrl?: OutputUrl) {
  const runUrl = `${base}/runs/${run.runId}`;
  const urlOf = outputUrl ?? ((path: string) => fileUrl(`outputs/${path}`));
  const name = run.request.workflow_url.split('#')[0].split('/').pop() || run.request.workflow_url;
  return {
    run_id: run.runId,
    request: run.request,
    state: run.state,
    run_log: {
      name,
      // Recorded as the client is shown it (the run's folder as <run>: encodeCommand).
      cmd: run.cmd ?? [],
      start_time: wesTime(run.start),
      end_time: wesTime(run.end),
      stdout: fileUrl('logs/stdout'),
      stderr: fileUrl('logs/stderr'),
      exit_code: run.exitCode,
      system_logs: run.systemLogs,
    },
    task_logs_url: `${runUrl}/tasks`,
    task_logs: tasks && tasks.map((t) => toTaskLog(t, fileUrl, run.state)),
    outputs: (outputsForClient(filesOf(run), run.outputs ?? {}, urlOf) ?? {}) as Record<string, unknown>,
  };
}

export function toRunSummary(row: RunSummaryRow) {
  return { run_id: row.runId, state: row.state, start_time: wesTime(row.start), end_time: wesTime(row.end), tags: row.tags };
}

/** The Directory of a run's output object stored at `path` (its `wes-output:` location), if any. */
export function findOutputDirectory(run: Pick<RunRecord, 'request' | 'outputs'>, path: string): FileObject | undefined {
  const location = OUTPUT_LOCATION_PREFIX + path;
  let found: FileObject | undefined;
  filesOf(run).forEach(run.outputs, (obj) => {
    if (!found && obj.class === 'Directory' && obj.location === location) found = obj;
  });
  return found;
}
