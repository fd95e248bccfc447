/**
 * The WES 1.1 objects the client reads (openapi/wes.openapi.yaml), as far as it reads them.
 * Numbers inside them (workflow_params, outputs, counts) are LosslessNumbers: typed `unknown`.
 */

export const TERMINAL_STATES = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED'] as const;

export function isTerminal(state: string): boolean {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

export interface RunId {
  run_id: string;
}

export interface RunStatus {
  run_id: string;
  state: string;
}

export interface RunSummary extends RunStatus {
  start_time?: string;
  end_time?: string;
  tags: Record<string, string>;
}

export interface RunListResponse {
  runs: RunSummary[];
  next_page_token: string;
}

export interface Log {
  name?: string;
  cmd?: string[];
  start_time?: string;
  end_time?: string;
  stdout?: string;
  stderr?: string;
  exit_code?: unknown;
  system_logs?: string[];
}

export interface TaskLog extends Log {
  id: string;
  tes_uri?: string;
}

export interface TaskListResponse {
  task_logs: TaskLog[];
  next_page_token: string;
}

export interface RunRequest {
  workflow_params?: Record<string, unknown>;
  workflow_type: string;
  workflow_type_version: string;
  tags?: Record<string, string>;
  workflow_engine_parameters?: Record<string, string>;
  workflow_engine?: string;
  workflow_engine_version?: string;
  workflow_url: string;
}

export interface RunLog {
  run_id: string;
  request?: RunRequest;
  state: string;
  run_log?: Log;
  task_logs_url?: string;
  outputs?: Record<string, unknown>;
}

export interface ServiceInfo {
  id?: string;
  name?: string;
  version?: string;
  description?: string;
  organization?: { name?: string; url?: string };
  workflow_type_versions?: Record<string, { workflow_type_version?: string[] }>;
  supported_wes_versions?: string[];
  supported_filesystem_protocols?: string[];
  workflow_engine_versions?: Record<string, { workflow_engine_version?: string[] }>;
  default_workflow_engine_parameters?: { name?: string; type?: string; default_value?: string }[];
  system_state_counts?: Record<string, unknown>;
  auth_instructions_url?: string;
  tags?: Record<string, string>;
}
