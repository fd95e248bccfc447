import type { LanguageDefinition } from '../../language-definition';
import { cwlDocumentReferences, isCwlDocument, readCwlDocument } from './cwl-documents';
import { CWL_WORKFLOW_CHANGING_RULE, cwlWorkflowChangingKeys } from './cwl-params-directives';
import { forEachFileObject, mapFileObjects, mapFileObjectsSync } from './file-objects';

/** The Common Workflow Language: YAML or JSON documents, File and Directory objects in values. */
export const CWL = {
  type: 'CWL',
  versions: ['v1.0', 'v1.1', 'v1.2'],
  documentDescription: 'a CWL document (YAML or JSON with cwlVersion or class)',
  mainDocument: { extensions: ['.cwl'], names: ['workflow.cwl', 'main.cwl'] },
  readDocument: readCwlDocument,
  isWorkflowDocument: isCwlDocument,
  documentReferences: cwlDocumentReferences,
  workflowChangingKeys: { find: cwlWorkflowChangingKeys, rule: CWL_WORKFLOW_CHANGING_RULE },
  files: {
    forEach: (value, visit) => forEachFileObject(value, visit),
    map: (value, replace) => mapFileObjects(value, replace),
    mapSync: (value, replace) => mapFileObjectsSync(value, replace),
  },
} as const satisfies LanguageDefinition;
