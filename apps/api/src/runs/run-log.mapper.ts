import { OUTPUT_LOCATION_PREFIX, RunRecord, RunSummaryRow } from '../../../../libs/runs/src';
import { encodePath, wesTime } from '../common/base-url';

/** Rewrites each stored output location into a URL of this API's outputs endpoint. */
export function outputsForClient(value: unknown, outputsUrl: string): unknown {
  if (Array.isArray(value)) return value.map((v) => outputsForClient(v, outputsUrl));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'location' && typeof v === 'string' && v.startsWith(OUTPUT_LOCATION_PREFIX)) {
      out[k] = `${outputsUrl}/${encodePath(v.slice(OUTPUT_LOCATION_PREFIX.length))}`;
    } else {
      out[k] = outputsForClient(v, outputsUrl);
    }
  }
  return out;
}

/** The WES RunLog of a run, with every link absolute under `base` (the WES root URL). */
export function toRunLog(run: RunRecord, base: string) {
  const runUrl = `${base}/runs/${run.runId}`;
  const name = run.request.workflow_url.split('#')[0].split('/').pop() || run.request.workflow_url;
  return {
    run_id: run.runId,
    request: run.request,
    state: run.state,
    run_log: {
      name,
      cmd: run.cmd ?? [],
      start_time: wesTime(run.start),
      end_time: wesTime(run.end),
      stdout: `${runUrl}/logs/stdout`,
      stderr: `${runUrl}/logs/stderr`,
      exit_code: run.exitCode,
      system_logs: run.systemLogs,
    },
    task_logs_url: `${runUrl}/tasks`,
    task_logs: [],
    outputs: (outputsForClient(run.outputs ?? {}, `${runUrl}/outputs`) ?? {}) as Record<string, unknown>,
  };
}

export function toRunSummary(row: RunSummaryRow) {
  return { run_id: row.runId, state: row.state, start_time: wesTime(row.start), end_time: wesTime(row.end), tags: row.tags };
}
