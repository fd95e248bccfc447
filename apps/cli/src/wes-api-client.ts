import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { request, type Dispatcher, type FormData } from 'undici';
import { HttpStatusError, UnreachableError, UsageError } from './cli-errors';
import { isJsonObject, parseJson } from '../../../libs/json/src';
import type { RunId, RunListResponse, RunLog, RunStatus, ServiceInfo, TaskListResponse, TaskLog } from './wes-types';

export const WES_BASE_PATH = '/ga4gh/wes/v1';
export const DEFAULT_WES_URL = 'http://localhost:8080';

/**
 * The WES base URL from what the user gave: an origin (`http://host:8080`, or just `host:8080`,
 * optionally under a path prefix) gets `/ga4gh/wes/v1` appended; a URL ending with it is kept.
 */
export function wesBaseUrl(given: string): string {
  let url: URL;
  try {
    // `localhost:8080` means http://localhost:8080, not a URL of scheme "localhost".
    url = new URL(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(given) ? given : `http://${given}`);
  } catch {
    throw new UsageError(`--url: "${given}" is not a URL (e.g. http://localhost:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url: "${given}" is not an http(s) URL`);
  const path = url.pathname.replace(/\/+$/, '');
  const base = path.endsWith(WES_BASE_PATH) ? path : `${path}${WES_BASE_PATH}`;
  return `${url.origin}${base}`;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'the answer stalled',
  UND_ERR_SOCKET: 'connection closed',
};

function networkReason(err: unknown): string | undefined {
  const e = err as { code?: string; message?: string; errors?: { code?: string }[]; name?: string };
  if (e?.name === 'AbortError' || (e as { code?: string })?.code === 'UND_ERR_ABORTED') return undefined;
  const code = e?.code ?? e?.errors?.find((x) => x.code)?.code;
  if (code && NETWORK_REASONS[code]) return NETWORK_REASONS[code];
  if (code && /CERT|TLS|SSL/.test(code)) return `TLS: ${e.message ?? code}`;
  return code ? `${e.message ?? code}` : undefined;
}

/** The server's error message from an ErrorResponse body ({msg, status_code}), else the text. */
function errorMessage(text: string): string {
  try {
    const body = parseJson(text);
    if (isJsonObject(body) && typeof body.msg === 'string') return body.msg;
  } catch {
    // not JSON: the text itself
  }
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: FormData | string;
  signal?: AbortSignal;
  /** Statuses that are not errors besides 2xx (e.g. 416 for a log with nothing new). */
  accept?: number[];
}

/** How the client authenticates: a bearer token, or a user and password (HTTP Basic). */
export interface WesCredentials {
  token?: string;
  user?: string;
  password?: string;
}

/** The Authorization header of these credentials (a token wins over a user and password). */
export function authorizationOf(credentials: WesCredentials = {}): string | undefined {
  if (credentials.token) return `Bearer ${credentials.token}`;
  if (credentials.user !== undefined && credentials.user !== '') {
    return `Basic ${Buffer.from(`${credentials.user}:${credentials.password ?? ''}`, 'utf8').toString('base64')}`;
  }
  return undefined;
}

/**
 * A small typed client of a WES 1.1 server. Every JSON body is read losslessly (numbers stay
 * exact); a network failure becomes an UnreachableError, an error status an HttpStatusError
 * carrying the server's message. The credentials (a bearer token, or a user and password sent
 * as HTTP Basic) go only to the server's own origin, never to presigned object-store URLs
 * (which refuse a second authentication).
 */
export class WesApiClient {
  readonly base: string;

  private readonly authorization?: string;

  constructor(url: string, credentials?: string | WesCredentials) {
    this.base = wesBaseUrl(url);
    this.authorization = authorizationOf(typeof credentials === 'string' ? { token: credentials } : credentials);
  }

  /** Absolute URL of a path under the WES base. */
  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Sends a request; returns the response whose status is 2xx (or accepted), body unread. */
  async send(method: Dispatcher.HttpMethod, url: string, options: RequestOptions = {}): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.authorization && new URL(url).origin === new URL(this.base).origin) headers.authorization = this.authorization;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method, headers, body: options.body, signal: options.signal });
    } catch (err) {
      const reason = networkReason(err);
      if (reason) {
        const where = url.startsWith(this.base) ? this.base : new URL(url).origin;
        throw new UnreachableError(`cannot reach ${where}: ${reason}`);
      }
      throw err;
    }
    if ((res.statusCode >= 200 && res.statusCode < 300) || options.accept?.includes(res.statusCode)) return res;
    const text = await res.body.text().catch(() => '');
    const reason = STATUS_CODES[res.statusCode] ?? 'Error';
    const msg = errorMessage(text);
    throw new HttpStatusError(res.statusCode, `${res.statusCode} ${reason}${msg ? `: ${msg}` : ''}`);
  }

  /** A JSON request to a path under the WES base; the body parsed losslessly. */
  async json<T>(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, this.url(path), { ...options, headers: { accept: 'application/json', ...options.headers } });
    const text = await res.body.text();
    try {
      return parseJson(text) as T;
    } catch {
      throw new HttpStatusError(res.statusCode, `${method} ${path}: the server's answer is not JSON: ${text.slice(0, 200)}`);
    }
  }

  serviceInfo(): Promise<ServiceInfo> {
    return this.json('GET', '/service-info');
  }

  /** One page of runs; with `filter`, the server's filters (this server's extension: `state`, `tag` as key:value). */
  listRuns(pageSize?: number, pageToken?: string, filter: { state?: string; tags?: string[] } = {}): Promise<RunListResponse> {
    return this.json('GET', `/runs${query({ page_size: pageSize, page_token: pageToken, state: filter.state, tag: filter.tags })}`);
  }

  submit(form: FormData, signal?: AbortSignal): Promise<RunId> {
    return this.json('POST', '/runs', { body: form, signal });
  }

  status(runId: string): Promise<RunStatus> {
    return this.json('GET', `/runs/${encodeURIComponent(runId)}/status`);
  }

  runLog(runId: string): Promise<RunLog> {
    return this.json('GET', `/runs/${encodeURIComponent(runId)}`);
  }

  cancel(runId: string): Promise<RunId> {
    return this.json('POST', `/runs/${encodeURIComponent(runId)}/cancel`);
  }

  /** Deletes a finished run and its files (this server's extension of WES). */
  deleteRun(runId: string): Promise<RunId> {
    return this.json('DELETE', `/runs/${encodeURIComponent(runId)}`);
  }

  tasksPage(runId: string, pageSize?: number, pageToken?: string): Promise<TaskListResponse> {
    return this.json('GET', `/runs/${encodeURIComponent(runId)}/tasks${query({ page_size: pageSize, page_token: pageToken })}`);
  }

  /** Every task of a run, page after page. */
  async allTasks(runId: string): Promise<TaskLog[]> {
    const tasks: TaskLog[] = [];
    let token: string | undefined;
    do {
      const page = await this.tasksPage(runId, undefined, token);
      tasks.push(...(page.task_logs ?? []));
      token = page.next_page_token || undefined;
    } while (token);
    return tasks;
  }

  /**
   * The bytes of a log (or any file) from offset `from` on: a `Range: bytes=<from>-` request.
   * 416 means nothing new; a server that ignores Range sends the whole file, cut here.
   */
  async readFrom(url: string, from: number): Promise<Buffer> {
    const res = await this.send('GET', url, { headers: from > 0 ? { range: `bytes=${from}-` } : {}, accept: [416] });
    const data = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode === 416) return Buffer.alloc(0);
    return res.statusCode === 206 || from === 0 ? data : data.subarray(from);
  }

  /** Streams the body of a URL (an output file). */
  async download(url: string, signal?: AbortSignal): Promise<Readable> {
    return (await this.send('GET', url, { signal })).body;
  }
}

function query(params: Record<string, string | number | string[] | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined && one !== '') q.append(k, String(one));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
