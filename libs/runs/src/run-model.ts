import { parseJson, stringifyJson } from '../../json/src';
import { RunState } from './states';

/** The run request as the client submitted it (WES RunRequest, JSON fields parsed). */
export interface RunRequest {
  workflow_params: Record<string, unknown>;
  workflow_type: string;
  workflow_type_version: string;
  tags: Record<string, string>;
  workflow_engine_parameters: Record<string, string>;
  workflow_engine?: string;
  workflow_engine_version?: string;
  workflow_url: string;
}

/** Everything recorded about one run in Redis. Times are epoch milliseconds. */
export interface RunRecord {
  runId: string;
  state: RunState;
  request: RunRequest;
  /** Engine that runs it (resolved from workflow_engine or the type's default). */
  engine: string;
  /** The attachment holding the workflow (with its `#fragment`, if any), resolved from workflow_url. */
  workflow: string;
  /** Names of the attachments in the object store, relative to the run's attachment folder. */
  attachments: string[];
  created: number;
  start?: number;
  end?: number;
  /** The engine's command line as the client is shown it (the run's folder as RUN_FOLDER_SHOWN). */
  cmd?: string[];
  exitCode?: number;
  /** Engine output object; File/Directory locations are object-store references (see OUTPUT_LOCATION_PREFIX). */
  outputs?: Record<string, unknown>;
  systemLogs: string[];
  /** Time the cancel mark was set, when a cancel was requested while the run was held by a worker. */
  cancelRequestedAt?: number;
  /** Name of the user who submitted it (authMode static); none when submitted with authMode none. */
  owner?: string;
  /** Attempts so far (each `initialize` counts one). */
  attempt: number;
  /** The worker that holds (or last held) the run, its host and pid, and the engine's process group. */
  worker?: string;
  host?: string;
  workerPid?: number;
  pgid?: number;
  /** The worker pool whose queue carries it (none: recorded before pools, so `default`). */
  pool?: string;
}

/** Who holds a run, and where, and whether a cancel was asked for: what recovery and the holder's watcher need to know of it. */
export type RunHolder = Pick<RunRecord, 'runId' | 'state' | 'attempt' | 'worker' | 'host' | 'workerPid' | 'pgid' | 'cancelRequestedAt' | 'pool'>;

export interface RunSummaryRow {
  runId: string;
  state: RunState;
  start?: number;
  end?: number;
  tags: Record<string, string>;
}

/** Prefix of output locations stored by workers: the rest is the path under the run's outputs folder. */
export const OUTPUT_LOCATION_PREFIX = 'wes-output:';

/** Object-store keys of a run's files. */
export const runObjectKeys = {
  attachment: (runId: string, name: string) => `runs/${runId}/attachments/${name}`,
  attachmentsPrefix: (runId: string) => `runs/${runId}/attachments/`,
  output: (runId: string, path: string) => `runs/${runId}/outputs/${path}`,
  log: (runId: string, stream: 'stdout' | 'stderr') => `runs/${runId}/logs/${stream}`,
  /** While a run goes on, its logs arrive as numbered chunks; the whole log replaces them at the end. */
  logPart: (runId: string, stream: 'stdout' | 'stderr', seq: number) => `runs/${runId}/logs/${stream}.parts/${String(seq).padStart(8, '0')}`,
  logPartsPrefix: (runId: string, stream: 'stdout' | 'stderr') => `runs/${runId}/logs/${stream}.parts/`,
  /**
   * What a task captured of its stdout or stderr. The attempt is part of the key: a worker that
   * lost the run cannot overwrite the logs of the attempt that replaced it.
   */
  taskLog: (runId: string, attempt: number, taskId: string, stream: 'stdout' | 'stderr') => `runs/${runId}/tasks/${attempt}/${taskId}/${stream}`,
  taskLogsPrefix: (runId: string) => `runs/${runId}/tasks/`,
  run: (runId: string) => `runs/${runId}/`,
  /** The folder of every run's folder (`run`), each named by its run id. */
  runs: 'runs/',
};

/**
 * How a run's command line shows the run's folder: the engine saw `/wes` in a sandbox and the
 * worker's scratch folder without one; the client learns neither (no server path), and reads
 * the same command whichever it was.
 */
export const RUN_FOLDER_SHOWN = '<run>';

/** The command line with the run's folder `dir` shown as RUN_FOLDER_SHOWN, wherever an argument holds it. */
export function showRunFolder(args: readonly string[], dir: string): string[] {
  const folder = dir.replace(/\/+$/, '');
  if (!folder) return [...args];
  // The folder itself or a path under it, standing at the start of an argument or after `=`, `:`, `,`.
  const place = new RegExp(`(?<=^|[=:,])${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|#|$)`, 'g');
  return args.map((a) => a.replace(place, RUN_FOLDER_SHOWN));
}

/**
 * The engine's command line as recorded: as the client is shown it (showRunFolder: no server
 * path, and no folder to record), its arguments each after a NUL (a character no argument can
 * hold), so the record stays short (run footprint, bench scenario 8). The leading NUL tells it
 * from the JSON `{"dir","args"}` of runs recorded before (decodeCommand reads both).
 */
export function encodeCommand(cmd: readonly string[], dir: string): string {
  return showRunFolder(cmd, dir)
    .map((a) => `\0${a}`)
    .join('');
}

/** The recorded command line (encodeCommand, or the JSON of runs recorded before it), as the client is shown it. */
export function decodeCommand(recorded: string): string[] {
  if (recorded.startsWith('\0')) return recorded.slice(1).split('\0');
  if (recorded === '') return [];
  const { dir, args } = JSON.parse(recorded) as { dir: string; args: string[] };
  return showRunFolder(
    args.map((a) => (a.startsWith('\0') ? dir + a.slice(1) : a)),
    dir,
  );
}

/**
 * The run request as recorded, tags apart (they are a field of their own, the run list reads
 * them): its values in a fixed order, without the names, trailing absent ones left out, so the
 * record stays short (run footprint, bench scenario 8). decodeRunRequest reads it, and the
 * JSON object of runs recorded before it.
 */
export function encodeRunRequest(r: RunRequest): string {
  const values: unknown[] = [r.workflow_params, r.workflow_type, r.workflow_type_version, r.workflow_engine_parameters, r.workflow_url, r.workflow_engine, r.workflow_engine_version];
  while (values.length && values[values.length - 1] === undefined) values.pop();
  return stringifyJson(values.map((v) => (v === undefined ? null : v)));
}

/** The recorded run request (encodeRunRequest, or a JSON object) with these tags. */
export function decodeRunRequest(recorded: string, tags: Record<string, string>): RunRequest {
  const parsed = parseJson(recorded);
  if (!Array.isArray(parsed)) return { ...(parsed as RunRequest), tags };
  const [workflow_params, workflow_type, workflow_type_version, workflow_engine_parameters, workflow_url, workflow_engine, workflow_engine_version] = parsed as [
    RunRequest['workflow_params'],
    string,
    string,
    RunRequest['workflow_engine_parameters'],
    string,
    string | null | undefined,
    string | null | undefined,
  ];
  return {
    workflow_params,
    workflow_type,
    workflow_type_version,
    tags,
    workflow_engine_parameters,
    ...(workflow_engine != null ? { workflow_engine } : {}),
    ...(workflow_engine_version != null ? { workflow_engine_version } : {}),
    workflow_url,
  };
}

/** Run ids are UUIDv7: time-ordered, so the run index sorts by age. */
export const RUN_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * When a run id was made, from the UUIDv7 time in its first 48 bits (ms); undefined for a name
 * that is not a UUIDv7 (never taken for a run's folder).
 */
export function runIdTime(runId: string): number | undefined {
  if (!RUN_ID_PATTERN.test(runId)) return undefined;
  return parseInt(runId.slice(0, 8) + runId.slice(9, 13), 16);
}

/** The lexical bound below which every run id was made before `ms` (UUIDv7: time first, in hex). */
export function runIdsBefore(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}`;
}
