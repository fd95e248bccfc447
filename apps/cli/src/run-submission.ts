import { existsSync, openAsBlob, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { FormData } from 'undici';
import { CliError } from './cli-errors';
import { DependencyFinder, localLocationOf, localPathOf } from './cwl-dependencies';
import { isJsonObject, stringifyJson } from '../../../libs/json/src';
import { parseDocument } from './lossless-documents';

/** The workflow argument: a file, and the process inside it named by a `#fragment`. */
export interface WorkflowArgument {
  file: string;
  fragment?: string;
}

/** Splits `wf.cwl#main`; a file whose own name holds `#` is taken whole. */
export function parseWorkflowArgument(arg: string): WorkflowArgument {
  const hash = arg.lastIndexOf('#');
  if (hash <= 0 || existsSync(arg)) return { file: path.resolve(arg) };
  return { file: path.resolve(arg.slice(0, hash)), fragment: arg.slice(hash + 1) || undefined };
}

/** The deepest folder holding every one of `folders` (absolute paths). */
export function commonFolder(folders: string[]): string {
  if (folders.length === 0) throw new Error('commonFolder of nothing');
  let common = path.resolve(folders[0]).split(path.sep);
  for (const f of folders.slice(1)) {
    const parts = path.resolve(f).split(path.sep);
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return common.join(path.sep) || path.sep;
}

/** The attachment name of a file or folder under `root`: relative, with `/` separators. */
export function relativeName(root: string, abs: string): string {
  const rel = path.relative(root, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${abs} is not inside ${root}`);
  return rel.split(path.sep).join('/');
}

/**
 * A copy of a job object in which every local File/Directory location (relative to `base`, a
 * file in the job's folder) is replaced by `nameOf` its absolute path, `path` dropped; remote
 * locations, literals and every other value (LosslessNumbers included) are kept as they are.
 * A Directory `nameOf` has no name for (a folder holding no file, which no attachment can
 * carry) becomes a Directory literal: its basename and its listing (empty unless given).
 */
export function rewriteLocations(value: unknown, base: string, nameOf: (abs: string) => string | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteLocations(v, base, nameOf));
  if (!isJsonObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = rewriteLocations(v, base, nameOf);
  if (value.class === 'File' || value.class === 'Directory') {
    const local = localLocationOf(value, base);
    const name = local && nameOf(local);
    if (local) delete out.path;
    if (name) out.location = name;
    else if (local && value.class === 'Directory') {
      delete out.location;
      out.basename ??= path.basename(local);
      out.listing ??= [];
    }
  }
  return out;
}

export interface Attachment {
  /** Name relative to the common folder (sub-folders kept). */
  name: string;
  /** The local file. */
  file: string;
}

/** Everything a RunRequest for `wes run` / `wes submit` carries, found from the local files. */
export interface Submission {
  /** The common folder of every file sent: attachment names and locations are relative to it. */
  root: string;
  attachments: Attachment[];
  /** The workflow's attachment name, with its `#fragment`. */
  workflowUrl: string;
  workflowTypeVersion: string;
  /** The job object with local locations relative to `root`. */
  params: Record<string, unknown>;
  warnings: string[];
}

/**
 * Reads a job file (YAML or JSON, numbers lossless); it must hold an object. Its `$include`s
 * and `$import`s of local files are read in, `cwl:tool` and `id` dropped.
 */
export function readJob(jobFile: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(jobFile, 'utf8');
  } catch (err) {
    throw new CliError(`${jobFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let job: unknown;
  try {
    job = parseDocument(text, jobFile);
  } catch (err) {
    throw new CliError(`${jobFile}: not a YAML or JSON document: ${(err as Error).message.split('\n')[0]}`);
  }
  if (job === undefined || job === null) return {};
  if (!isJsonObject(job)) throw new CliError(`${jobFile}: the job must be an object of inputs`);
  const inputs = resolveJobReferences(job, jobFile) as Record<string, unknown>;
  // Keys for cwltool, not inputs: it drops them from the job too.
  delete inputs['cwl:tool'];
  delete inputs.id;
  return inputs;
}

/** `$include` (the file's text) and `$import` (the document) of local files in a job, as cwltool's job loader reads them. */
function resolveJobReferences(value: unknown, jobFile: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveJobReferences(v, jobFile));
  if (!isJsonObject(value)) return value;
  const ref = typeof value.$include === 'string' ? value.$include : typeof value.$import === 'string' ? value.$import : undefined;
  const target = ref && !ref.startsWith('#') ? localPathOf(ref, jobFile) : undefined;
  if (target) {
    if (!existsSync(target)) throw new CliError(`${jobFile}: ${target}: no such file`);
    const text = readFileSync(target, 'utf8');
    return typeof value.$include === 'string' ? text : resolveJobReferences(parseDocument(text, target), target);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveJobReferences(v, jobFile)]));
}

/** The tool a job document names by `cwl:tool` (`cwltool job.yml` runs it), if the file is such a job. */
function toolNamedByJob(file: string): string | undefined {
  let doc: unknown;
  try {
    doc = parseDocument(readFileSync(file, 'utf8'), file);
  } catch {
    return undefined;
  }
  if (!isJsonObject(doc) || typeof doc['cwl:tool'] !== 'string' || 'class' in doc || '$graph' in doc) return undefined;
  const [ref, fragment] = doc['cwl:tool'].split('#', 2);
  const tool = localPathOf(ref, file);
  return tool && (fragment ? `${tool}#${fragment}` : tool);
}

/**
 * Finds what a workflow and its job need and lays it out as a submission: every file named
 * relative to the common folder of all of them, the job's locations rewritten to match.
 */
export function prepareSubmission(workflowArg: string, jobFile?: string): Submission {
  const named = jobFile ? undefined : existsSync(workflowArg) ? toolNamedByJob(workflowArg) : undefined;
  if (named) return prepareSubmission(named, workflowArg);
  const workflow = parseWorkflowArgument(workflowArg);
  if (!existsSync(workflow.file) || !statSync(workflow.file).isFile()) throw new CliError(`${workflow.file}: no such file`);
  const finder = new DependencyFinder();
  finder.addDocument(workflow.file);
  const located = finder.locate(workflow.file, workflow.fragment);
  if (!located) {
    const doc = finder.addDocument(workflow.file);
    const graph = isJsonObject(doc) && Array.isArray(doc.$graph) ? doc.$graph.filter(isJsonObject) : [];
    const ids = graph.map((p) => `#${String(p.id ?? '').replace(/^#/, '')}`).join(', ');
    throw new CliError(`${workflow.file}: its $graph has no process ${workflow.fragment ? `#${workflow.fragment}` : '#main'}: name one (${ids}), e.g. ${workflowArg.split('#')[0]}${ids.split(',')[0]}`);
  }
  const typeVersion = finder.cwlVersion(workflow.file, workflow.fragment);
  if (!typeVersion) throw new CliError(`${workflow.file}: no cwlVersion: not a CWL document`);

  const jobBase = jobFile ? path.resolve(jobFile) : path.join(process.cwd(), 'job');
  const job = jobFile ? readJob(jobFile) : {};
  finder.addJob(job, jobBase, finder.inputPatterns(located));

  const files = [...finder.files];
  const root = commonFolder([...files, ...finder.directories].map((p) => path.dirname(p)));
  // A folder no file is sent from has no attachment name: it goes as a Directory literal.
  const sentFrom = (dir: string) => files.some((f) => f.startsWith(dir + path.sep));
  const nameOf = (abs: string) => (finder.directories.has(abs) && !sentFrom(abs) ? undefined : relativeName(root, abs));
  const params = rewriteLocations(job, jobBase, nameOf) as Record<string, unknown>;
  const workflowName = relativeName(root, workflow.file);
  return {
    root,
    attachments: files.map((file) => ({ name: relativeName(root, file), file })),
    workflowUrl: workflow.fragment ? `${workflowName}#${workflow.fragment}` : workflowName,
    workflowTypeVersion: typeVersion,
    params,
    warnings: finder.warnings,
  };
}

/** What the user adds to a submission besides the files. */
export interface SubmissionOptions {
  engine?: string;
  engineParameters?: Record<string, string>;
  tags?: Record<string, string>;
}

/** The multipart RunRequest: fields first, then every attachment streamed from its file. */
export async function submissionForm(s: Submission, options: SubmissionOptions = {}): Promise<FormData> {
  const form = new FormData();
  form.append('workflow_type', 'CWL');
  form.append('workflow_type_version', s.workflowTypeVersion);
  form.append('workflow_url', s.workflowUrl);
  form.append('workflow_params', stringifyJson(s.params));
  if (options.tags && Object.keys(options.tags).length) form.append('tags', JSON.stringify(options.tags));
  if (options.engine) form.append('workflow_engine', options.engine);
  if (options.engineParameters && Object.keys(options.engineParameters).length) {
    form.append('workflow_engine_parameters', JSON.stringify(options.engineParameters));
  }
  for (const a of s.attachments) form.append('workflow_attachment', await openAsBlob(a.file), a.name);
  return form;
}
