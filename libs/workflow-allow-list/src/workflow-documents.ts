import { createHash } from 'node:crypto';
import type { LanguageDefinition } from '../../engines/src/language-definition';

/**
 * The documents of a run's workflow, as the allow-list judges them: the main document and,
 * transitively, every file of the run's attachment folder that a document names by relative
 * reference, as its language's walker finds them (CWL: `run:`, `$import`, `$mixin`, parsed in
 * turn; `$include`; and the `location`/`path` of a File or Directory written in a document: a
 * default, an InitialWorkDir listing, a script the tool runs, every file under a Directory). Their bytes are what the engine will read, so
 * hashing them leaves nothing of the workflow unchecked but its inputs.
 *
 * A reference that leaves the attachment folder (`../inputs/x.cwl`, `/etc/x`) cannot be
 * judged and is reported as a problem, and so is a `run:`, `$import` or `$include` of a file
 * that is not there (the engine loads those with the document, so the run would fail anyway,
 * and a file found there at run time, the worker's params file, was never judged). A File or
 * Directory location that is not there is skipped: data, which the run lacks if it uses it.
 * An absolute URL (`run: https://...`) is left to the document that holds it, whose bytes are
 * judged.
 */

/** Where the server fetched a document from (workflow_url and the documents it references). */
export interface DocumentSource {
  url: string;
  /** The URL after redirects. */
  finalUrl: string;
}

export interface WorkflowDocument {
  /** Path in the run's attachment folder. */
  name: string;
  sha256: string;
  /** Absent for an attachment (sent by the client, or unpacked from its zip). */
  source?: DocumentSource;
}

export interface WorkflowDocumentSet {
  /** The main document first. */
  documents: WorkflowDocument[];
  /** References that cannot be judged; a run with any is in no allow-list entry. */
  problems: string[];
}

/** How the documents' bytes are read (the API reads them back from the object store). */
export interface DocumentReader {
  /** The bytes of an attachment, or undefined when it holds more than `maxBytes`. */
  bytes(name: string, maxBytes: number): Promise<Buffer | undefined>;
  /** The sha256 (hex) of an attachment, streamed. */
  sha256(name: string): Promise<string>;
}

/** Larger documents are not parsed for references (a CWL document is far smaller). */
export const MAX_PARSED_DOCUMENT_BYTES = 32 * 1024 * 1024;

/** How a workflow's language reads its documents and finds their references (LanguageDefinition in libs/engines). */
export type DocumentLanguage = Pick<LanguageDefinition, 'readDocument' | 'documentReferences'>;

/**
 * Resolves a reference as the engine does (a URI relative to the referring document): the
 * path in the attachment folder, `outside` when it leaves it, undefined when there is nothing to
 * resolve (an absolute URL, a fragment of the same document).
 */
export function resolveReference(from: string, ref: string): string | 'outside' | undefined {
  if (!ref || ref.startsWith('#') || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(ref)) return undefined;
  const base = new URL(`file:///r/${from.split('/').map(encodeURIComponent).join('/')}`);
  let resolved: URL;
  try {
    resolved = new URL(ref, base);
  } catch {
    return 'outside';
  }
  if (!resolved.pathname.startsWith('/r/')) return 'outside';
  try {
    const name = resolved.pathname.slice(3).split('/').map(decodeURIComponent).join('/').replace(/\/+$/, '');
    return name && !name.split('/').includes('..') ? name : 'outside';
  } catch {
    return 'outside';
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Collects the documents of a run whose main document is `main` (a path in the attachment
 * folder, a `#fragment` ignored) among `attachments`, read as `language` reads them; `sources`
 * says which were fetched, from where.
 */
export async function collectWorkflowDocuments(
  main: string,
  attachments: readonly string[],
  sources: ReadonlyMap<string, DocumentSource>,
  reader: DocumentReader,
  language: DocumentLanguage,
): Promise<WorkflowDocumentSet> {
  const present = new Set(attachments);
  const documents = new Map<string, WorkflowDocument>();
  const problems: string[] = [];
  const parsed = new Set<string>();
  const queue: { name: string; parse: boolean }[] = [{ name: main.split('#')[0], parse: true }];
  const add = (name: string, sha: string) => {
    if (!documents.has(name)) documents.set(name, { name, sha256: sha, ...(sources.has(name) ? { source: sources.get(name) } : {}) });
  };
  while (queue.length) {
    const { name, parse } = queue.shift()!;
    if (!present.has(name) || (parse ? parsed.has(name) : documents.has(name))) continue;
    if (!parse) {
      add(name, await reader.sha256(name));
      continue;
    }
    parsed.add(name);
    const bytes = await reader.bytes(name, MAX_PARSED_DOCUMENT_BYTES);
    if (!bytes) {
      problems.push(`${name} is larger than ${MAX_PARSED_DOCUMENT_BYTES} bytes: what it references cannot be checked`);
      add(name, await reader.sha256(name));
      continue;
    }
    add(name, sha256(bytes));
    let doc: unknown;
    try {
      doc = language.readDocument(bytes.toString('utf8'));
    } catch (err) {
      problems.push(`${name} cannot be read as YAML or JSON (${(err as Error).message.split('\n')[0]}): what it references cannot be checked`);
      continue;
    }
    for (const { ref, kind } of language.documentReferences(doc)) {
      const target = resolveReference(name, ref);
      if (target === 'outside') problems.push(`${name} references "${ref}", outside the workflow's folder`);
      else if (target === undefined) continue;
      else if (kind !== 'directory' && !present.has(target)) {
        // The engine loads these with the document: a missing one would fail the run anyway,
        // and a file it finds there at run time (the params file) was never judged.
        if (kind === 'document' || kind === 'include') problems.push(`${name} references "${ref}", which is not among the run's files`);
      } else if (kind === 'directory') {
        for (const a of attachments) if (a.startsWith(`${target}/`)) queue.push({ name: a, parse: false });
      } else queue.push({ name: target, parse: kind === 'document' });
    }
  }
  return { documents: [...documents.values()], problems };
}
