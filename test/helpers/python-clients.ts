import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yaml from 'js-yaml';
import { isJsonNumber, isJsonObject, parseJson } from '../../libs/json/src';
import { CWLTOOL } from './stack';

/**
 * What the two command-line WES clients written in Python send, byte for byte, rebuilt here so
 * the tests need neither of them: toil-wes-cwl-runner (Toil 5.9, Debian's `toil` package, whose
 * wes_client dependency is not packaged) and wes-client (common-workflow-language/
 * workflow-service). Both post with python-requests, which encodes with urllib3; the
 * encodings below were checked against python3-requests 2.28 / urllib3 1.26 (Debian 12).
 */

/** Python's `json.dumps(value)`: ", " and ": " separators, non-ASCII escaped (ensure_ascii), None as null. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (isJsonNumber(value)) return value.value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (isJsonObject(value)) return `{${Object.entries(value).map(([k, v]) => `${pythonJsonDumps(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  throw new TypeError(`cannot dump ${typeof value}`);
}

/** One part of a form as requests builds it: a text field, or a file with a name and no Content-Type. */
export type RequestsPart = { name: string; value: string } | { name: string; filename: string; content: Uint8Array };

/**
 * `requests.post(url, data=..., files=...)`: the data fields first, in order, then the files;
 * a 32-hex-digit boundary; each part only a Content-Disposition header (urllib3's HTML5 style:
 * `"` → %22, `\` doubled, CR/LF and other control characters %-encoded); CRLF line ends.
 */
export function requestsMultipart(parts: RequestsPart[]): { body: Buffer; headers: Record<string, string> } {
  const boundary = randomBytes(16).toString('hex');
  const quote = (v: string) =>
    v.replace(/\\/g, '\\\\').replace(/"/g, '%22').replace(/[\u0000-\u001f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition =
      'filename' in part ? `form-data; name="${quote(part.name)}"; filename="${quote(part.filename)}"` : `form-data; name="${quote(part.name)}"`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`, 'utf8'));
    chunks.push('filename' in part ? Buffer.from(part.content) : Buffer.from(part.value, 'utf8'));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  const body = Buffer.concat(chunks);
  return {
    body,
    headers: {
      'user-agent': 'python-requests/2.28.1',
      'accept-encoding': 'gzip, deflate',
      accept: '*/*',
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(body.length),
    },
  };
}

/** schema-salad's Loader with `location` and `path` as @id: every such string resolved against the job file's URL. */
function resolveJobLocations(value: unknown, base: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveJobLocations(v, base));
  if (!isJsonObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = (k === 'location' || k === 'path') && typeof v === 'string' ? new URL(v, base).href : resolveJobLocations(v, base);
  }
  return out;
}

/** A job file as the clients load it (JSON with numbers kept exact; YAML otherwise). */
function loadJob(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  return file.endsWith('.json') ? parseJson(text) : yaml.load(text);
}

/** The request toil-wes-cwl-runner sends for `toil-wes-cwl-runner [engineOptions] cwlFile [inputFile]`, run in `cwd`. */
export function toilWesCwlRunnerRequest(cwd: string, cwlFile: string, inputFile: string | undefined, engineOptions: string[]): { body: Buffer; headers: Record<string, string> } {
  // get_deps_from_cwltool: the locations under the root's secondaryFiles, recursively, relative to cwd.
  const deps = (args: string[]): string[] => {
    const r = spawnSync(CWLTOOL, args, { cwd, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cwltool ${args.join(' ')} failed: ${r.stderr}`);
    const out: string[] = [];
    const walk = (files: unknown) => {
      for (const f of (files as Record<string, unknown>[]) ?? []) {
        if (typeof f.location !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(f.location) && !f.location.startsWith('file:')) continue;
        out.push(f.location);
        if (f.secondaryFiles) walk(f.secondaryFiles);
      }
    };
    walk((JSON.parse(r.stdout) as { secondaryFiles?: unknown }).secondaryFiles);
    return out;
  };
  const attachments = deps(['--print-deps', '--relative-deps', 'cwd', cwlFile]);
  if (inputFile) attachments.push(...deps(['--print-input-deps', '--relative-deps', 'cwd', cwlFile, inputFile]));
  if (!attachments.includes(cwlFile)) attachments.push(cwlFile);
  // generate_attachment_path_names: names relative to the common folder of all of them.
  const absolute = attachments.map((a) => path.resolve(cwd, a));
  let common = absolute.length === 1 ? path.dirname(absolute[0]) : absolute[0];
  while (!absolute.every((a) => a === common || a.startsWith(`${common}/`))) common = path.dirname(common);
  // parse_params + modify_param_paths: locations resolved, then made relative to the common folder.
  const params = inputFile ? (resolveJobLocations(loadJob(path.resolve(cwd, inputFile)), pathToFileURL(path.resolve(cwd, inputFile)).href) as Record<string, unknown>) : {};
  const relativise = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(relativise);
    if (!isJsonObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = (k === 'location' || k === 'path') && typeof v === 'string' && /^(file:|[^:]*$)/.test(v) ? path.relative(common, v.startsWith('file://') ? v.slice(7) : v) : relativise(v);
    }
    return out;
  };
  const engineParameters: Record<string, string | null> = {};
  for (const option of engineOptions) {
    const eq = option.indexOf('=');
    if (eq < 0) engineParameters[option] = null;
    else engineParameters[option.slice(0, eq)] = option.slice(eq + 1);
  }
  const cwlVersion = String((yaml.load(readFileSync(path.resolve(cwd, cwlFile.split('#')[0]), 'utf8')) as { cwlVersion: string }).cwlVersion);
  const fields: RequestsPart[] = [
    { name: 'workflow_url', value: path.relative(common, path.resolve(cwd, cwlFile)) },
    { name: 'workflow_params', value: pythonJsonDumps(relativise(params)) },
    { name: 'workflow_type', value: cwlFile.split('#')[0].toLowerCase().split('.').pop()! },
    { name: 'workflow_type_version', value: cwlVersion },
  ];
  if (engineOptions.length) fields.push({ name: 'workflow_engine_parameters', value: pythonJsonDumps(engineParameters) });
  const files: RequestsPart[] = absolute.map((a) => ({ name: 'workflow_attachment', filename: path.relative(common, a), content: readFileSync(a) }));
  return requestsMultipart([...fields, ...files]);
}

/**
 * The request `wes-client --run workflow job --attachments=a,b` sends: workflow_params holds the
 * job with every `path` turned into a `location` and every location an absolute file:// URL of
 * the client's machine; the workflow is attached under its base name and the attachments under
 * names relative to the workflow's folder; workflow_type is upper case.
 */
export function wesClientRequest(workflow: string, job: string, attachments: string[]): { body: Buffer; headers: Record<string, string> } {
  const jobUrl = pathToFileURL(path.resolve(job)).href;
  const params = resolveJobLocations(loadJob(job), jobUrl);
  const fixPaths = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(fixPaths);
    if (!isJsonObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (k !== 'path') out[k] = fixPaths(v);
    if (typeof value.path === 'string') out.location = value.path.includes(':') ? value.path : pathToFileURL(path.resolve(path.dirname(job), value.path)).href;
    return out;
  };
  const wfbase = path.dirname(path.resolve(workflow));
  const version = String((yaml.load(readFileSync(workflow, 'utf8')) as { cwlVersion: string }).cwlVersion);
  return requestsMultipart([
    { name: 'workflow_params', value: pythonJsonDumps(fixPaths(params)) },
    { name: 'workflow_type', value: 'CWL' },
    { name: 'workflow_type_version', value: version },
    { name: 'workflow_url', value: path.basename(workflow) },
    { name: 'workflow_attachment', filename: path.basename(workflow), content: readFileSync(workflow) },
    ...attachments.map((a) => ({ name: 'workflow_attachment', filename: path.relative(wfbase, path.resolve(a)), content: readFileSync(a) })),
  ]);
}

/** The local path a file:// URL names (for checks on what a client would read). */
export const localPathOf = (url: string) => fileURLToPath(url);
