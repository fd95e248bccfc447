import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectValid, expectValidComponent, matchTemplate, WES_BASE_PATH } from './wes-schema';

export const WORKFLOWS_DIR = path.resolve(__dirname, '..', 'workflows');

export const TERMINAL = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED'];

export interface WesResponse<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON body (undefined when the body is not JSON). */
  body: T;
  text: string;
}

export interface RunSpec {
  workflow_url?: string;
  workflow_type?: string;
  workflow_type_version?: string;
  workflow_params?: unknown;
  tags?: unknown;
  workflow_engine_parameters?: unknown;
  workflow_engine?: string;
  workflow_engine_version?: string;
  /** Attachments: part filename → content. */
  attachments?: Record<string, string | Uint8Array>;
  /** JSON fields sent as file parts (with a filename and application/json) instead of text fields. */
  asFileParts?: ('workflow_params' | 'tags' | 'workflow_engine_parameters')[];
}

/** Reads fixture files of test/workflows as attachments, keyed by their relative names. */
export function workflowFiles(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, readFileSync(path.join(WORKFLOWS_DIR, n), 'utf8')]));
}

/** Builds the multipart body a WES client sends: JSON fields as text (or file parts), attachments as file parts. */
export function runForm(spec: RunSpec): FormData {
  const form = new FormData();
  const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  for (const key of ['workflow_params', 'tags', 'workflow_engine_parameters'] as const) {
    if (spec[key] === undefined) continue;
    if (spec.asFileParts?.includes(key)) {
      form.append(key, new Blob([json(spec[key])], { type: 'application/json' }), `${key}.json`);
    } else {
      form.append(key, json(spec[key]));
    }
  }
  for (const key of ['workflow_type', 'workflow_type_version', 'workflow_engine', 'workflow_engine_version', 'workflow_url'] as const) {
    if (spec[key] !== undefined) form.append(key, spec[key] as string);
  }
  for (const [name, content] of Object.entries(spec.attachments ?? {})) {
    form.append('workflow_attachment', new Blob([typeof content === 'string' ? content : new Uint8Array(content)]), name);
  }
  return form;
}

/**
 * A small WES client for the tests. Every JSON response is checked against the official WES
 * schema of its operation and status (non-WES endpoints: errors against ErrorResponse), and
 * every error body must carry the HTTP status as status_code.
 */
export class WesClient {
  /** `headers` go with every request (e.g. an Authorization); a request's own headers win. */
  constructor(
    readonly origin: string,
    readonly headers: Record<string, string> = {},
  ) {}

  /** Absolute URL of a path under /ga4gh/wes/v1. */
  url(p: string): string {
    return `${this.origin}${WES_BASE_PATH}${p}`;
  }

  /** Raw request to a WES path or an absolute URL; JSON bodies are schema-checked. */
  async request<T = any>(method: string, pathOrUrl: string, init: { body?: RequestInit['body']; headers?: Record<string, string> } = {}): Promise<WesResponse<T>> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.url(pathOrUrl);
    const res = await fetch(url, { method, body: init.body, headers: { ...this.headers, ...init.headers } });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    let body: any;
    if (type.includes('application/json')) {
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new Error(`${method} ${url} → ${res.status}: content-type ${type} but the body is not JSON: ${text.slice(0, 300)}`);
      }
    }
    const urlPath = new URL(url).pathname;
    const template = urlPath.startsWith(WES_BASE_PATH) ? matchTemplate(method, urlPath) : undefined;
    if (res.status >= 400) {
      if (body === undefined) throw new Error(`${method} ${url} → ${res.status}: error body is not JSON (content-type ${type}): ${text.slice(0, 300)}`);
      if (template) expectValid(method, template, res.status, body);
      else expectValidComponent('ErrorResponse', body, `${method} ${urlPath} → ${res.status}`);
      if (body.status_code !== res.status || typeof body.msg !== 'string') {
        throw new Error(`${method} ${url} → ${res.status}: error body must be {msg, status_code: ${res.status}}, got ${text.slice(0, 300)}`);
      }
    } else if (template) {
      if (body === undefined) throw new Error(`${method} ${url} → ${res.status}: WES response is not JSON (content-type ${type}): ${text.slice(0, 300)}`);
      expectValid(method, template, res.status, body);
    }
    return { status: res.status, headers: res.headers, body, text };
  }

  /** GET that must answer `status` (200 by default); returns the (schema-checked) JSON body. */
  async getJson<T = any>(p: string, status = 200): Promise<T> {
    const r = await this.request<T>('GET', p);
    if (r.status !== status) throw new Error(`GET ${p}: expected ${status}, got ${r.status}: ${r.text.slice(0, 500)}`);
    return r.body;
  }

  /** POST /runs with a multipart form (or a JSON RunRequest object); returns the whole response. */
  submit(form: FormData | Record<string, unknown>): Promise<WesResponse> {
    if (form instanceof FormData) return this.request('POST', '/runs', { body: form });
    return this.request('POST', '/runs', { body: JSON.stringify(form), headers: { 'content-type': 'application/json' } });
  }

  /** POST /runs that must succeed; returns the run id. */
  async submitOk(form: FormData | Record<string, unknown>): Promise<string> {
    const r = await this.submit(form);
    if (r.status !== 200 || typeof r.body?.run_id !== 'string' || r.body.run_id === '') {
      throw new Error(`POST /runs: expected 200 with a run_id, got ${r.status}: ${r.text.slice(0, 1000)}`);
    }
    return r.body.run_id;
  }

  async status(runId: string): Promise<string> {
    const body = await this.getJson(`/runs/${encodeURIComponent(runId)}/status`);
    if (body.run_id !== runId) throw new Error(`status of ${runId} names run ${body.run_id}`);
    return body.state;
  }

  runLog(runId: string): Promise<any> {
    return this.getJson(`/runs/${encodeURIComponent(runId)}`);
  }

  cancel(runId: string): Promise<WesResponse> {
    return this.request('POST', `/runs/${encodeURIComponent(runId)}/cancel`);
  }

  /**
   * Polls /status until the run is in one of `states`. Fails at once when it reaches another
   * terminal state, or after `timeoutMs`. Returns the final state and every distinct state seen.
   */
  async waitForState(runId: string, states: string[], timeoutMs = 90_000, pollMs = 100): Promise<{ state: string; seen: string[] }> {
    const seen: string[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.status(runId);
      if (seen[seen.length - 1] !== state) seen.push(state);
      if (states.includes(state)) return { state, seen };
      if (TERMINAL.includes(state)) {
        const log = await this.runLog(runId).catch(() => undefined);
        // The engine's own stderr says why it failed (the stack's files may be gone by the time the failure is read).
        const stderr = log?.run_log?.stderr ? await this.request('GET', log.run_log.stderr).then((r) => r.text.slice(-3000), () => '') : '';
        throw new Error(`run ${runId} ended ${state} while waiting for ${states.join('|')}; seen ${seen.join(' → ')}; run log: ${JSON.stringify(log).slice(0, 3000)}; engine stderr (end): ${stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`run ${runId} not ${states.join('|')} after ${timeoutMs} ms; seen ${seen.join(' → ')}`);
      await sleep(pollMs);
    }
  }

  /** Fetches a text resource (logs, outputs): status, content type and text. */
  async fetchText(url: string): Promise<{ status: number; type: string; text: string }> {
    const res = await fetch(url);
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  }
}

/** The preflight a browser page of `origin` sends before a `method` request with an Authorization header. */
export function corsPreflight(url: string, origin: string, method = 'GET'): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization' },
  });
}
