import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CliError } from './cli-errors';
import { isJsonObject } from '../../../libs/json/src';
import { parseYaml } from './lossless-documents';

/** A secondaryFiles pattern of an input: `.bai` (appended) or `^.bai` (replaces an extension). */
export interface SecondaryPattern {
  pattern: string;
  required: boolean;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const isExpression = (s: string) => s.includes('$(') || s.includes('${');

/**
 * The local file a CWL reference names, or undefined when it is not local (http(s), s3, a `_:`
 * literal, an expression). `location` and references are URIs relative to `base` (a file whose
 * folder they are relative to); a `path` is a plain path.
 */
export function localPathOf(ref: string, base: string, kind: 'uri' | 'path' = 'uri'): string | undefined {
  if (ref.startsWith('_:') || isExpression(ref)) return undefined;
  if (kind === 'path') return path.resolve(path.dirname(base), ref);
  if (SCHEME.test(ref)) return ref.toLowerCase().startsWith('file:') ? fileURLToPath(new URL(ref).href.split('#')[0]) : undefined;
  return fileURLToPath(new URL(ref, pathToFileURL(base)).href.split('#')[0]);
}

/** The local file or folder a File/Directory object names (its location, else its path). */
export function localLocationOf(obj: Record<string, unknown>, base: string): string | undefined {
  if (typeof obj.location === 'string') return localPathOf(obj.location, base, 'uri');
  if (typeof obj.path === 'string') return localPathOf(obj.path, base, 'path');
  return undefined;
}

/** The patterns a `secondaryFiles` field declares (string, {pattern, required}, or a list); expressions skipped. */
export function secondaryPatterns(value: unknown): SecondaryPattern[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const out: SecondaryPattern[] = [];
  for (const item of items) {
    let pattern: string | undefined;
    let required = true;
    if (typeof item === 'string') pattern = item;
    else if (isJsonObject(item) && typeof item.pattern === 'string') {
      pattern = item.pattern;
      if (typeof item.required === 'boolean') required = item.required;
      else if (typeof item.required === 'string') continue; // an expression decides: cannot know here
    }
    if (!pattern || isExpression(pattern)) continue;
    if (pattern.endsWith('?')) {
      pattern = pattern.slice(0, -1);
      required = false;
    }
    out.push({ pattern, required });
  }
  return out;
}

/** The name a pattern gives next to a primary file: each leading `^` drops one extension. */
export function secondaryFileName(primaryBasename: string, pattern: string): string {
  let name = primaryBasename;
  let rest = pattern;
  while (rest.startsWith('^')) {
    const dot = name.lastIndexOf('.');
    if (dot > 0) name = name.slice(0, dot);
    rest = rest.slice(1);
  }
  return name + rest;
}

/** The last segment of a CWL id or source (`#main/step/inp`, `main/inp`, `inp` → `inp`). */
export function shortId(id: string): string {
  return id.split('#').pop()!.split('/').pop()!;
}

/** Parameters of a process's `inputs`: a list with ids or a map by id. */
function parameters(section: unknown): { id: string; param: Record<string, unknown> }[] {
  if (Array.isArray(section)) {
    return section.filter(isJsonObject).flatMap((p) => (typeof p.id === 'string' ? [{ id: shortId(p.id), param: p }] : []));
  }
  if (isJsonObject(section)) {
    return Object.entries(section).map(([id, v]) => ({ id, param: isJsonObject(v) ? v : {} }));
  }
  return [];
}

/** A process object and the document it was read from. */
interface Located {
  process: Record<string, unknown>;
  docPath: string;
}

function fromGraph(graph: unknown[], fragment: string | undefined): Record<string, unknown> | undefined {
  const items = graph.filter(isJsonObject);
  const wanted = fragment ?? 'main';
  return items.find((p) => typeof p.id === 'string' && p.id.replace(/^#/, '') === wanted) ?? (fragment ? undefined : items.length === 1 ? items[0] : undefined);
}

/**
 * Finds every local file a CWL workflow and its job need, as cwltool --print-deps does and
 * more: documents referenced by `run:` (strings or inline processes), `$import`, `$include`,
 * `$mixin`, `$schemas`; File/Directory literals anywhere in them (defaults, InitialWorkDir
 * listings) with their secondaryFiles and listings; the job's File/Directory inputs, their
 * secondaryFiles, every file under a Directory; and the secondary files the process's inputs
 * declare by pattern, when they exist next to the input. Paths are absolute; nothing is read
 * twice.
 */
export class DependencyFinder {
  /** Every local file to send, in the order found. */
  readonly files = new Set<string>();
  /** Every local folder a Directory object names. */
  readonly directories = new Set<string>();
  /** Things skipped that the user may want to know about (e.g. a missing default file). */
  readonly warnings: string[] = [];
  private readonly documents = new Map<string, unknown>();

  /** Adds a CWL document and everything it references; returns its parsed content. */
  addDocument(docPath: string, referencedBy?: string): unknown {
    const abs = path.resolve(docPath);
    const known = this.documents.get(abs);
    if (known !== undefined) return known;
    this.requireFile(abs, referencedBy ? `referenced by ${referencedBy}` : undefined);
    let doc: unknown;
    this.files.add(abs);
    try {
      doc = parseYaml(readFileSync(abs, 'utf8'), abs);
    } catch (err) {
      const why = `${abs}: not a YAML or JSON document: ${(err as Error).message.split('\n')[0]}`;
      if (!referencedBy) throw new CliError(why);
      // The engine's reader may accept what js-yaml does not: send it and let the engine judge.
      this.warnings.push(`${why} (sent as it is; what it references is not)`);
      this.documents.set(abs, null);
      return null;
    }
    this.documents.set(abs, doc ?? null);
    this.scanDocumentNode(doc, abs);
    return doc;
  }

  /** Adds the local File/Directory inputs of a job (locations relative to `jobBase`, a file in the job's folder). */
  addJob(job: Record<string, unknown>, jobBase: string, patterns: Map<string, SecondaryPattern[]>): void {
    for (const [input, value] of Object.entries(job)) {
      this.scanValue(value, jobBase, `input ${input}`, 'required');
      for (const file of topLevelFiles(value)) {
        const primary = localLocationOf(file, jobBase);
        if (!primary) continue;
        for (const p of patterns.get(input) ?? []) {
          const candidate = path.join(path.dirname(primary), secondaryFileName(path.basename(primary), p.pattern));
          if (isFile(candidate)) this.files.add(candidate);
        }
      }
    }
  }

  /**
   * The process a workflow argument names (`wf.cwl`, or `packed.cwl#main`): the document, or
   * the $graph entry named by the fragment (default `main`).
   */
  locate(docPath: string, fragment?: string): Located | undefined {
    const abs = path.resolve(docPath);
    const doc = this.addDocument(abs);
    if (!isJsonObject(doc)) return undefined;
    if (Array.isArray(doc.$graph)) {
      const process = fromGraph(doc.$graph, fragment);
      return process ? { process, docPath: abs } : undefined;
    }
    return { process: doc, docPath: abs };
  }

  /** cwlVersion of a workflow argument (of the document, or of its $graph entry). */
  cwlVersion(docPath: string, fragment?: string): string | undefined {
    const doc = this.addDocument(docPath);
    const located = this.locate(docPath, fragment);
    const own = located?.process.cwlVersion;
    if (typeof own === 'string') return own;
    return isJsonObject(doc) && typeof doc.cwlVersion === 'string' ? doc.cwlVersion : undefined;
  }

  /**
   * The secondaryFiles patterns each input of a process declares. (cwltool itself looks only at
   * these for a job's files: in a workflow, a step's patterns the workflow input lacks fail.)
   */
  inputPatterns(located: Located): Map<string, SecondaryPattern[]> {
    return new Map(parameters(located.process.inputs).map(({ id, param }) => [id, secondaryPatterns(param.secondaryFiles)]));
  }

  /** Walks a document: references to other documents and files, and File/Directory literals. */
  private scanDocumentNode(node: unknown, docPath: string): void {
    if (Array.isArray(node)) {
      for (const item of node) this.scanDocumentNode(item, docPath);
      return;
    }
    if (!isJsonObject(node)) return;
    if (typeof node.$import === 'string') {
      const target = localPathOf(node.$import, docPath);
      if (target) this.addDocument(target, docPath);
      return;
    }
    if (typeof node.$include === 'string') {
      const target = localPathOf(node.$include, docPath);
      if (target) {
        this.requireFile(target, `included by ${docPath}`);
        this.files.add(target);
      }
      return;
    }
    if (node.class === 'File' || node.class === 'Directory') {
      // A default or a listing entry: the process may never use it, so a missing one is only noted.
      this.scanValue(node, docPath, `a ${node.class} in ${docPath}`, 'optional');
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'run' || key === '$mixin') && typeof value === 'string') {
        const target = value.startsWith('#') ? undefined : localPathOf(value, docPath);
        if (target) this.addDocument(target, docPath);
      } else if (key === '$schemas' && Array.isArray(value)) {
        for (const s of value) {
          const target = typeof s === 'string' ? localPathOf(s, docPath) : undefined;
          if (target && isFile(target)) this.files.add(target);
        }
      } else {
        this.scanDocumentNode(value, docPath);
      }
    }
  }

  /** Walks a job value or a literal: each File/Directory, its secondaryFiles and its listing. */
  private scanValue(value: unknown, base: string, where: string, presence: 'required' | 'optional'): void {
    if (Array.isArray(value)) {
      for (const item of value) this.scanValue(item, base, where, presence);
      return;
    }
    if (!isJsonObject(value)) return;
    if (value.class !== 'File' && value.class !== 'Directory') {
      for (const v of Object.values(value)) this.scanValue(v, base, where, presence);
      return;
    }
    const local = localLocationOf(value, base);
    if (local) {
      const ok = value.class === 'File' ? isFile(local) : isDirectory(local);
      if (!ok) {
        const what = `${where}: ${local}: no such ${value.class === 'File' ? 'file' : 'folder'}`;
        if (presence === 'required') throw new CliError(what);
        this.warnings.push(`${what} (not sent)`);
      } else if (value.class === 'File') {
        this.files.add(local);
      } else {
        this.directories.add(local);
        if (!Array.isArray(value.listing)) for (const f of filesUnder(local)) this.files.add(f);
      }
    }
    this.scanValue(value.secondaryFiles, base, where, presence);
    if (value.class === 'Directory') this.scanValue(value.listing, base, where, presence);
  }

  private requireFile(file: string, context?: string): void {
    if (!isFile(file)) throw new CliError(`${file}: no such file${context ? ` (${context})` : ''}`);
  }
}

/** The File objects of a job input value itself (or of its array), where patterns apply. */
function topLevelFiles(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.flatMap(topLevelFiles);
  return isJsonObject(value) && value.class === 'File' ? [value] : [];
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Every file under a folder (links followed, each real folder once), sorted. */
export function filesUnder(dir: string, seen = new Set<string>()): string[] {
  const real = realpathSync(dir);
  if (seen.has(real)) return [];
  seen.add(real);
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (isDirectory(full)) out.push(...filesUnder(full, seen));
    else if (isFile(full)) out.push(full);
  }
  return out;
}
