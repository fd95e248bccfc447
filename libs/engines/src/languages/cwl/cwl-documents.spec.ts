import { describe, expect, it } from 'vitest';
import { cwlDocumentReferences, isCwlDocument, readCwlDocument } from './cwl-documents';

const refsOf = (text: string) => cwlDocumentReferences(readCwlDocument(text)).sort((a, b) => a.ref.localeCompare(b.ref));

describe('cwlDocumentReferences (the one walker behind the URL import and the allow-list)', () => {
  it('finds run:, $import, $mixin and cwl:tool as documents, $include as text', () => {
    const refs = refsOf(`
cwlVersion: v1.2
class: Workflow
requirements:
  - $import: types.yml
steps:
  a:
    run: tools/a.cwl
  b:
    run: {class: CommandLineTool, $mixin: mixin.yml, arguments: [{$include: script.sh}]}
  c:
    run: https://example.org/c.cwl
  d:
    run: "#inline"
cwl:tool: job-tool.cwl
`);
    expect(refs).toEqual([
      { ref: '#inline', kind: 'document' },
      { ref: 'https://example.org/c.cwl', kind: 'document' },
      { ref: 'job-tool.cwl', kind: 'document' },
      { ref: 'mixin.yml', kind: 'document' },
      { ref: 'script.sh', kind: 'include' },
      { ref: 'tools/a.cwl', kind: 'document' },
      { ref: 'types.yml', kind: 'document' },
    ]);
  });

  it('finds the location or path of a File or Directory written in a document, and $schemas, as data', () => {
    const refs = refsOf(`
class: CommandLineTool
$schemas: [formats.owl]
inputs:
  ref: {type: File, default: {class: File, location: data/ref.fa}}
  dir: {type: Directory, default: {class: Directory, path: data/dir}}
  named: {type: string, default: location}
`);
    expect(refs).toEqual([
      { ref: 'data/dir', kind: 'directory' },
      { ref: 'data/ref.fa', kind: 'file' },
      { ref: 'formats.owl', kind: 'file' },
    ]);
  });

  it('visits an object a YAML alias repeats once', () => {
    const refs = refsOf(`
class: Workflow
steps:
  a: &step {run: tool.cwl}
  b: *step
  c: *step
`);
    expect(refs).toEqual([{ ref: 'tool.cwl', kind: 'document' }]);
  });

  it('walks a document nested far deeper than a recursive walker could go', () => {
    let doc: unknown = { run: 'deep.cwl' };
    for (let i = 0; i < 100_000; i++) doc = i % 2 ? [doc] : { step: doc };
    expect(cwlDocumentReferences(doc)).toEqual([{ ref: 'deep.cwl', kind: 'document' }]);
  });
});

describe('isCwlDocument', () => {
  it('takes a mapping with cwlVersion, $graph or class', () => {
    expect(isCwlDocument(readCwlDocument('cwlVersion: v1.2\nclass: Workflow\n'))).toBe(true);
    expect(isCwlDocument(readCwlDocument('{"$graph": []}'))).toBe(true);
    expect(isCwlDocument(readCwlDocument('class: CommandLineTool'))).toBe(true);
  });

  it('refuses a job file, a list, text and nothing', () => {
    expect(isCwlDocument(readCwlDocument('cwl:tool: a.cwl\nx: 1\n'))).toBe(false);
    expect(isCwlDocument(readCwlDocument('- class: Workflow'))).toBe(false);
    expect(isCwlDocument(readCwlDocument('hello'))).toBe(false);
    expect(isCwlDocument(readCwlDocument(''))).toBe(false);
  });

  it('is not reached for text that is not YAML: readCwlDocument throws', () => {
    expect(() => readCwlDocument('a: [1, 2')).toThrow();
  });
});
