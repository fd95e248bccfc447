/**
 * The dashboard's only way to the server: the WES JSON endpoints under /ga4gh/wes/v1, same
 * origin, with the token of the token field (session storage) as a bearer header.
 */
export const WES_BASE = '/ga4gh/wes/v1';
const TOKEN_KEY = 'wes-dashboard-token';

export function savedToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function saveToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A WES ErrorResponse (or a failure to reach the server), with its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Listener = (needed: boolean) => void;
const authListeners = new Set<Listener>();

/** Told true on a 401 (the server wants a token, or a better one) and false on the next success. */
export function onAuthNeeded(listener: Listener): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

/**
 * Where a request goes: a path under the WES root (`runs/...`), an absolute path, or a URL the
 * API handed out (an output's link), taken as a path when it is of this origin.
 */
function requestUrl(path: string): { url: string; ours: boolean } {
  if (/^https?:\/\//i.test(path)) {
    const u = new URL(path);
    return u.origin === location.origin ? { url: `${u.pathname}${u.search}`, ours: true } : { url: path, ours: false };
  }
  return { url: path.startsWith('/') ? path : `${WES_BASE}/${path}`, ours: true };
}

/** A request to the WES API; throws ApiError for a non-2xx answer other than those `accept`ed. */
export async function wesFetch(path: string, init: RequestInit = {}, accept: number[] = []): Promise<Response> {
  const headers = new Headers(init.headers);
  const { url, ours } = requestUrl(path);
  const token = savedToken();
  // The token goes to this origin only.
  if (token && ours) headers.set('authorization', `Bearer ${token}`);
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers });
  } catch (err) {
    throw new ApiError(0, `The server could not be reached (${(err as Error).message})`);
  }
  if (res.status === 401) authListeners.forEach((l) => l(true));
  // service-info answers anyone: its success says nothing about the token.
  else if (res.ok && !url.endsWith('/service-info')) authListeners.forEach((l) => l(false));
  if (res.ok || res.status === 304 || accept.includes(res.status)) return res;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { msg?: string };
    if (body?.msg) message = body.msg;
  } catch {
    // not a WES ErrorResponse: keep the status line
  }
  throw new ApiError(res.status, message);
}

export async function wesJson<T>(path: string, init?: RequestInit): Promise<T> {
  return (await (await wesFetch(path, init)).json()) as T;
}

export interface RunSummary {
  run_id: string;
  state: string;
  start_time?: string;
  end_time?: string;
  tags?: Record<string, string>;
}

export interface RunList {
  runs: RunSummary[];
  next_page_token: string;
}

export interface TaskLog {
  id: string;
  name: string;
  cmd?: string[];
  start_time?: string;
  end_time?: string;
  exit_code?: number;
  stdout?: string;
  stderr?: string;
  system_logs?: string[];
}

export interface RunLog {
  run_id: string;
  state: string;
  request: {
    workflow_url: string;
    workflow_type: string;
    workflow_type_version: string;
    workflow_params?: Record<string, unknown>;
    workflow_engine?: string;
    workflow_engine_version?: string;
    workflow_engine_parameters?: Record<string, string>;
    tags?: Record<string, string>;
  };
  run_log: {
    name?: string;
    cmd?: string[];
    start_time?: string;
    end_time?: string;
    exit_code?: number;
    system_logs?: string[];
  };
  outputs?: Record<string, unknown>;
}

export interface ServiceInfo {
  name: string;
  version: string;
  description?: string;
  supported_wes_versions: string[];
  workflow_type_versions: Record<string, { workflow_type_version: string[] }>;
  workflow_engine_versions: Record<string, { workflow_engine_version: string[] }>;
  default_workflow_engine_parameters: { name: string; type: string; default_value?: string }[];
  supported_filesystem_protocols: string[];
  system_state_counts: Record<string, number>;
  auth_instructions_url?: string;
  tags?: Record<string, string>;
  worker_pools?: Record<string, { engines: string[]; default_for: string[]; concurrency_per_worker: number; live_workers: number }>;
}

export const runPath = (runId: string, rest = '') => `${WES_BASE}/runs/${encodeURIComponent(runId)}${rest}`;
