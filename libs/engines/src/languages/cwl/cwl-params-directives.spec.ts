import { describe, expect, it } from 'vitest';
import { CWL } from './cwl-language';
import { cwlWorkflowChangingKeys } from './cwl-params-directives';

describe('workflow_params that would change the workflow', () => {
  it('are the top-level directives and namespaced keys cwltool reads as requirements or overrides', () => {
    const params = {
      inp: { class: 'File', location: 'x', $include: 'data only' },
      count_2: 1,
      'cwl:requirements': [],
      'x:requirements': [],
      $namespaces: { x: 'https://w3id.org/cwl/cwl#' },
      'cwltool:overrides': {},
      'https://w3id.org/cwl/cwl#requirements': [],
      $import: 'job.yml',
    };
    expect(cwlWorkflowChangingKeys(params)).toEqual(['cwl:requirements', 'x:requirements', '$namespaces', 'cwltool:overrides', 'https://w3id.org/cwl/cwl#requirements', '$import']);
    expect(cwlWorkflowChangingKeys({ inp: 'https://a/b:c', n: 1 })).toEqual([]);
    expect(CWL.workflowChangingKeys.find(params)).toEqual(cwlWorkflowChangingKeys(params));
  });
});
