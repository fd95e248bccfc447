import { fileURLToPath } from 'node:url';
import type { LanguageDefinition } from '../../language-definition';
import { forEachFileObject, isFileObject, mapFileObjects, mapFileObjectsSync } from '../cwl/file-objects';
import { isWdlDocument, readWdlDocument, wdlDocumentReferences } from './wdl-documents';

/**
 * A File the engine will read, written back into the inputs JSON as WDL wants it: its path as a
 * string. A replacement that is no local file (an output's stored reference) stays an object.
 */
function asWdlValue(value: unknown): unknown {
  if (isFileObject(value) && value.class === 'File' && typeof value.location === 'string' && value.location.startsWith('file://')) {
    return fileURLToPath(value.location);
  }
  return value;
}

/**
 * The Workflow Description Language, 1.0 and draft-2. Its inputs JSON names Files as plain
 * strings, which cannot be told from other strings without the document's types: here a File
 * the server is to stage (an attachment, a URL) is given as `{"class": "File", "location": ...}`
 * like CWL's, and reaches the engine as the path string of the staged copy; a plain string goes
 * through as it is. Outputs are File objects like CWL's (see engines/toil-wdl).
 */
export const WDL = {
  type: 'WDL',
  versions: ['1.0', 'draft-2'],
  documentDescription: 'a WDL document (with a workflow or task block)',
  mainDocument: { extensions: ['.wdl'], names: ['main.wdl', 'workflow.wdl'] },
  readDocument: readWdlDocument,
  isWorkflowDocument: isWdlDocument,
  documentReferences: wdlDocumentReferences,
  // WDL inputs only feed the workflow.
  workflowChangingKeys: { find: () => [], rule: 'WDL inputs cannot change the workflow' },
  files: {
    forEach: (value, visit) => forEachFileObject(value, visit),
    map: (value, replace) => mapFileObjects(value, async (obj, where) => asWdlValue(await replace(obj, where))),
    mapSync: (value, replace) => mapFileObjectsSync(value, replace),
  },
} as const satisfies LanguageDefinition;
