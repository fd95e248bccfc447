import type { DocumentReference } from '../../language-definition';

/**
 * A Snakefile as the server reads it: Python, so not parsed, only scanned line by line for the
 * directives that name other files with a plain string literal. A reference built at run time
 * (an f-string, a variable, `workflow.source_path(...)`) cannot be found this way: a workflow
 * that uses them is to be sent as attachments or a zip, not fetched by URL.
 */
export interface SnakefileDocument {
  text: string;
}

/** `include: "x.smk"`, `snakefile: "x"` (inside a `module` block), `script: "x.py"`, `conda: "env.yaml"`, `notebook:`, `configfile:`. */
const DIRECTIVE = /^\s*(include|snakefile|script|notebook|conda|configfile)\s*:\s*(?:r?(["'])(.*?)\2)\s*(?:#.*)?$/;

export function readSnakefile(text: string): SnakefileDocument {
  if (typeof text !== 'string') throw new Error('a Snakefile is text');
  return { text };
}

/** Any text may be a Snakefile (it is Python); a document the scan cannot use is one without rules. */
export function isSnakefile(doc: unknown): boolean {
  return typeof (doc as SnakefileDocument | undefined)?.text === 'string';
}

/**
 * The files a Snakefile names with a string literal: `include:` and a module's `snakefile:` are
 * documents the engine parses with it; `script:`, `notebook:` and `configfile:` files it loads
 * at run time (include: fetched with it); `conda:` environments are files it names.
 */
export function snakefileReferences(doc: unknown): DocumentReference[] {
  if (!isSnakefile(doc)) return [];
  const out: DocumentReference[] = [];
  const seen = new Set<string>();
  for (const line of (doc as SnakefileDocument).text.split('\n')) {
    const m = DIRECTIVE.exec(line);
    if (!m || !m[3] || seen.has(`${m[1]}:${m[3]}`)) continue;
    seen.add(`${m[1]}:${m[3]}`);
    const kind = m[1] === 'include' || m[1] === 'snakefile' ? 'document' : m[1] === 'conda' ? 'file' : 'include';
    out.push({ ref: m[3], kind });
  }
  return out;
}
