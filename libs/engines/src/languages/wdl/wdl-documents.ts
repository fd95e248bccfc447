import type { DocumentReference } from '../../language-definition';

/**
 * What the server reads of a WDL document (1.0 or draft-2) without a WDL parser: its version,
 * its imports, its workflow and task names, and the File outputs the workflow declares with
 * what names the files get. A small reading of the text, enough for submit checks and for
 * toil-wdl-runner 5.9's outputs (docs/ENGINES.md); the engine parses the document for real.
 */
export interface WdlDocument {
  /** `1.0`, or `draft-2` when the document declares no version. */
  version: string;
  imports: string[];
  workflows: string[];
  tasks: string[];
  /** The workflow's declared outputs: name, type, and the expression that gives it. */
  outputs: { name: string; type: string; expression: string }[];
  /** Each task's declared outputs: task → output name → expression. */
  taskOutputs: Record<string, Record<string, string>>;
  /** Each call's name (its alias, else the task's) → the task it calls. */
  calls: Record<string, string>;
}

/** The text without `#` comments (outside quoted strings). */
function withoutComments(text: string): string {
  return text.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|#[^\n]*/g, (m) => (m.startsWith('#') ? '' : m));
}

/** The text of the `{...}` block that opens at `open` (an index of `{`), or of the rest when it does not close. */
function block(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

/** Declarations `Type name = expression` of an output block (one per line). */
function declarations(body: string): { name: string; type: string; expression: string }[] {
  const out: { name: string; type: string; expression: string }[] = [];
  for (const m of body.matchAll(/^\s*([A-Za-z][\w[\]+?,\s]*?[\w\]+?])\s+([A-Za-z_]\w*)\s*=\s*(.+?)\s*$/gm)) out.push({ type: m[1].replace(/\s+/g, ''), name: m[2], expression: m[3] });
  return out;
}

/** Reads a WDL document's text (never throws: a text without a workflow or task is no WDL workflow). */
export function readWdlDocument(text: string): WdlDocument {
  const src = withoutComments(text);
  const version = /^\s*version\s+(\S+)/m.exec(src)?.[1] ?? 'draft-2';
  const imports = [...src.matchAll(/^\s*import\s+"([^"]+)"/gm)].map((m) => m[1]);
  const doc: WdlDocument = { version, imports, workflows: [], tasks: [], outputs: [], taskOutputs: {}, calls: {} };
  for (const m of src.matchAll(/^\s*(workflow|task)\s+([A-Za-z_]\w*)\s*\{/gm)) {
    const body = block(src, m.index! + m[0].length - 1);
    const output = /^\s*output\s*\{/m.exec(body);
    const outputs = output ? declarations(block(body, output.index + output[0].length - 1)) : [];
    if (m[1] === 'task') {
      doc.tasks.push(m[2]);
      doc.taskOutputs[m[2]] = Object.fromEntries(outputs.map((o) => [o.name, o.expression]));
    } else {
      doc.workflows.push(m[2]);
      doc.outputs = outputs;
      for (const c of body.matchAll(/^\s*call\s+([\w.]+)(?:\s+as\s+(\w+))?/gm)) {
        const task = c[1].split('.').pop()!;
        doc.calls[c[2] ?? task] = task;
      }
    }
  }
  return doc;
}

export const isWdlDocument = (doc: unknown): boolean => {
  const d = doc as WdlDocument | undefined;
  return !!d && Array.isArray(d.workflows) && d.workflows.length + d.tasks.length > 0;
};

/** Each `import "..."` of a document: another document the engine loads. */
export function wdlDocumentReferences(doc: unknown): DocumentReference[] {
  return ((doc as WdlDocument).imports ?? []).map((ref) => ({ ref, kind: 'document' as const }));
}

/**
 * The file name a File output of the workflow gets, as toil-wdl-runner 5.9 copies it into its
 * output folder (by basename): the workflow output `File x = call.out` leads to the task's
 * `File out = "name.txt"`; a string literal of the workflow's own is taken as it is. Undefined
 * when the name is computed (interpolation, functions): it cannot be known without running WDL.
 */
export function wdlOutputFileName(doc: WdlDocument, expression: string): string | undefined {
  const literal = (e: string) => {
    const m = /^"([^"$~{}]*)"$/.exec(e.trim());
    return m ? m[1].split('/').pop() || undefined : undefined;
  };
  const ref = /^([A-Za-z_]\w*)\.([A-Za-z_]\w*)$/.exec(expression.trim());
  if (!ref) return literal(expression);
  const task = doc.calls[ref[1]];
  const out = task === undefined ? undefined : doc.taskOutputs[task]?.[ref[2]];
  return out === undefined ? undefined : literal(out);
}
