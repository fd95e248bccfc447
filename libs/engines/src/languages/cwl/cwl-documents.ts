import yaml from 'js-yaml';
import type { DocumentReference } from '../../language-definition';

/** Reads a CWL document's text (YAML, of which JSON is a part); throws when it is neither. */
export function readCwlDocument(text: string): unknown {
  return yaml.load(text);
}

/** A CWL document: a mapping with cwlVersion, $graph or class (a job file with `cwl:tool` is not one). */
export function isCwlDocument(doc: unknown): boolean {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return false;
  return 'cwlVersion' in doc || '$graph' in doc || 'class' in doc;
}

/** Keys naming another document the engine loads: `cwl:tool` makes a job document run the tool it names. */
const DOCUMENT_KEYS = new Set(['run', '$import', '$mixin', 'cwl:tool', 'https://w3id.org/cwl/cwl#tool']);

/**
 * The references of a parsed CWL document to other files: `run:`, `$import`, `$mixin`,
 * `cwl:tool` (documents), `$include` (text), the `location`/`path` of a File or Directory written
 * in it (a default, an InitialWorkDir listing), and `$schemas` (ontologies cwltool reads for
 * `format:` checks: data). Without recursion, each object visited once (YAML aliases).
 */
export function cwlDocumentReferences(doc: unknown): DocumentReference[] {
  const out: DocumentReference[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = [doc];
  while (stack.length) {
    const node = stack.pop();
    if (!node || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    const obj = node as Record<string, unknown>;
    const fileClass = obj.class === 'File' || obj.class === 'Directory';
    for (const [key, value] of Object.entries(obj)) {
      if (typeof value === 'string') {
        if (DOCUMENT_KEYS.has(key)) out.push({ ref: value, kind: 'document' });
        else if (key === '$include') out.push({ ref: value, kind: 'include' });
        else if (fileClass && (key === 'location' || key === 'path')) out.push({ ref: value, kind: obj.class === 'File' ? 'file' : 'directory' });
      } else if (key === '$schemas' && Array.isArray(value)) {
        for (const v of value) if (typeof v === 'string') out.push({ ref: v, kind: 'file' });
      } else stack.push(value);
    }
  }
  return out;
}
