import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DependencyFinder, secondaryFileName, secondaryPatterns } from './cwl-dependencies';

let dir: string;
/** Writes files under the temporary folder: relative name → content. */
function files(tree: Record<string, string>): void {
  for (const [name, content] of Object.entries(tree)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
}
const abs = (name: string) => path.join(dir, name);
const found = (f: DependencyFinder) => [...f.files].map((p) => path.relative(dir, p)).sort();

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wes-cli-deps-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('secondary file patterns', () => {
  it('appends a plain suffix and drops one extension per ^', () => {
    expect(secondaryFileName('x.bam', '.bai')).toBe('x.bam.bai');
    expect(secondaryFileName('x.bam', '^.bai')).toBe('x.bai');
    expect(secondaryFileName('x.tar.gz', '^^.idx')).toBe('x.idx');
    expect(secondaryFileName('noext', '^.idx')).toBe('noext.idx');
  });

  it('reads strings, {pattern, required} and optional marks; skips expressions', () => {
    expect(secondaryPatterns(['.bai', { pattern: '^.idx', required: false }, '.crai?', '$(self.basename).x', { pattern: '.y', required: '$(true)' }])).toEqual([
      { pattern: '.bai', required: true },
      { pattern: '^.idx', required: false },
      { pattern: '.crai', required: false },
    ]);
    expect(secondaryPatterns('.bai')).toEqual([{ pattern: '.bai', required: true }]);
    expect(secondaryPatterns(undefined)).toEqual([]);
  });
});

describe('DependencyFinder: documents', () => {
  it('follows run: strings (with #fragments), inline processes, $import, $include, $mixin and $schemas', () => {
    files({
      'wf/main.cwl': `cwlVersion: v1.2
class: Workflow
$schemas: [local.owl, https://example.org/remote.owl]
requirements:
  SchemaDefRequirement:
    types:
      - $import: types/record.yml
inputs: []
outputs: []
steps:
  a:
    run: tools/a.cwl#tool
    in: {}
    out: []
  b:
    run:
      class: Workflow
      inputs: []
      outputs: []
      steps:
        inner:
          run: ../shared/inner.cwl
          in: {}
          out: []
    in: {}
    out: []
  c:
    run: https://example.org/remote.cwl
    in: {}
    out: []
`,
      'wf/local.owl': 'ontology',
      'wf/types/record.yml': 'name: rec\ntype: record\nfields:\n  - $import: field.yml\n',
      'wf/types/field.yml': 'name: f\ntype: string\n',
      'wf/tools/a.cwl': `cwlVersion: v1.2
$graph:
  - id: tool
    class: CommandLineTool
    $mixin: mixin.yml
    arguments:
      - $include: script.sh
    inputs: []
    outputs: []
`,
      'wf/tools/mixin.yml': 'baseCommand: echo\n',
      'wf/tools/script.sh': 'echo hi',
      'shared/inner.cwl': 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: true\ninputs: []\noutputs: []\n',
      'unrelated.txt': 'not referenced',
    });
    const f = new DependencyFinder();
    f.addDocument(abs('wf/main.cwl'));
    expect(found(f)).toEqual(
      ['shared/inner.cwl', 'wf/local.owl', 'wf/main.cwl', 'wf/tools/a.cwl', 'wf/tools/mixin.yml', 'wf/tools/script.sh', 'wf/types/field.yml', 'wf/types/record.yml'].sort(),
    );
  });

  it('follows run: references inside a packed $graph without reading the same document again', () => {
    files({
      'packed.cwl': `cwlVersion: v1.2
$graph:
  - id: main
    class: Workflow
    inputs: []
    outputs: []
    steps:
      s:
        run: '#tool'
        in: {}
        out: []
  - id: tool
    class: CommandLineTool
    baseCommand: [cat, data.txt]
    requirements:
      InitialWorkDirRequirement:
        listing:
          - class: File
            location: data.txt
    inputs: []
    outputs: []
`,
      'data.txt': 'x',
    });
    const f = new DependencyFinder();
    f.addDocument(abs('packed.cwl'));
    expect(found(f)).toEqual(['data.txt', 'packed.cwl']);
    expect(f.locate(abs('packed.cwl'))?.process.id).toBe('main');
    expect(f.locate(abs('packed.cwl'), 'tool')?.process.class).toBe('CommandLineTool');
    expect(f.cwlVersion(abs('packed.cwl'), 'tool')).toBe('v1.2');
  });

  it('sends File/Directory defaults (location or path, secondaryFiles, every file of a folder); a missing one is only a warning', () => {
    files({
      'tools/t.cwl': `cwlVersion: v1.2
class: CommandLineTool
baseCommand: true
inputs:
  a:
    type: File
    default: {class: File, location: defaults/a.txt, secondaryFiles: [{class: File, location: defaults/a.txt.idx}]}
  b:
    type: File
    default: {class: File, path: ../elsewhere/b.txt}
  d:
    type: Directory
    default: {class: Directory, location: defaults/folder}
  gone:
    type: File
    default: {class: File, location: missing.txt}
  literal:
    type: File
    default: {class: File, basename: x.txt, contents: "inline"}
outputs: []
`,
      'tools/defaults/a.txt': 'a',
      'tools/defaults/a.txt.idx': 'i',
      'elsewhere/b.txt': 'b',
      'tools/defaults/folder/one.txt': '1',
      'tools/defaults/folder/deep/two.txt': '2',
    });
    const f = new DependencyFinder();
    f.addDocument(abs('tools/t.cwl'));
    expect(found(f)).toEqual(
      ['elsewhere/b.txt', 'tools/defaults/a.txt', 'tools/defaults/a.txt.idx', 'tools/defaults/folder/deep/two.txt', 'tools/defaults/folder/one.txt', 'tools/t.cwl'].sort(),
    );
    expect([...f.directories]).toEqual([abs('tools/defaults/folder')]);
    expect(f.warnings.join('\n')).toContain(abs('tools/missing.txt'));
  });

  it('sends a referenced document js-yaml cannot read as it is, with a warning; the workflow itself must be readable', () => {
    files({ 'wf.cwl': 'cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n  s:\n    run: odd.cwl\n    in: {}\n    out: []\n', 'odd.cwl': 'a: [unclosed\n' });
    const f = new DependencyFinder();
    f.addDocument(abs('wf.cwl'));
    expect(found(f)).toEqual(['odd.cwl', 'wf.cwl']);
    expect(f.warnings.join()).toContain(`${abs('odd.cwl')}: not a YAML or JSON document`);
    expect(() => new DependencyFinder().addDocument(abs('odd.cwl'))).toThrow(`${abs('odd.cwl')}: not a YAML or JSON document`);
  });

  it('fails clearly on a run: document that is not there', () => {
    files({ 'wf.cwl': 'cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n  s:\n    run: nope.cwl\n    in: {}\n    out: []\n' });
    expect(() => new DependencyFinder().addDocument(abs('wf.cwl'))).toThrow(`${abs('nope.cwl')}: no such file (referenced by ${abs('wf.cwl')})`);
  });
});

describe('DependencyFinder: job', () => {
  const TOOL = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: true
inputs:
  bam:
    type: File
    secondaryFiles: [.bai, ^.idx, {pattern: .crai, required: false}, $(self.basename).never]
  many:
    type: File[]
    secondaryFiles: .bai
outputs: []
`;

  it('finds the job’s Files and Directories: location or path relative to the job, file:// URLs, secondaryFiles, listings', () => {
    files({
      'tool.cwl': TOOL,
      'jobs/job.yml': '',
      'data/x.txt': 'x',
      'data/y.txt': 'y',
      'data/y.txt.extra': 'e',
      'data/abs.txt': 'a',
      'data/listed/in.txt': 'l',
      'data/listed/not-listed.txt': 'n',
      'data/whole/w1.txt': '1',
      'data/whole/sub/w2.txt': '2',
    });
    const job = {
      x: { class: 'File', location: '../data/x.txt' },
      y: { class: 'File', path: '../data/y.txt', secondaryFiles: [{ class: 'File', location: '../data/y.txt.extra' }] },
      url: { class: 'File', location: pathToFileURL(abs('data/abs.txt')).href },
      remote: { class: 'File', location: 'https://example.org/r.txt' },
      s3: { class: 'Directory', location: 's3://bucket/prefix' },
      literal: { class: 'File', basename: 'l.txt', contents: 'inline' },
      listed: { class: 'Directory', location: '../data/listed', listing: [{ class: 'File', location: '../data/listed/in.txt' }] },
      whole: { class: 'Directory', location: '../data/whole' },
      nested: { record: [{ class: 'File', location: '../data/x.txt' }] },
    };
    const f = new DependencyFinder();
    f.addJob(job, abs('jobs/job.yml'), new Map());
    expect(found(f)).toEqual(
      ['data/abs.txt', 'data/listed/in.txt', 'data/whole/sub/w2.txt', 'data/whole/w1.txt', 'data/x.txt', 'data/y.txt', 'data/y.txt.extra'].sort(),
    );
    expect([...f.directories].sort()).toEqual([abs('data/listed'), abs('data/whole')]);
  });

  it('adds the secondary files the process’s input patterns name when they exist beside the input', () => {
    files({ 'tool.cwl': TOOL, 'job.yml': '', 'r.bam': '', 'r.bam.bai': '', 'r.idx': '', 'm1.bam': '', 'm1.bam.bai': '', 'm2.bam': '' });
    const f = new DependencyFinder();
    const located = f.locate(abs('tool.cwl'))!;
    const job = { bam: { class: 'File', location: 'r.bam' }, many: [{ class: 'File', location: 'm1.bam' }, { class: 'File', location: 'm2.bam' }] };
    f.addJob(job, abs('job.yml'), f.inputPatterns(located));
    expect(found(f)).toEqual(['m1.bam', 'm1.bam.bai', 'm2.bam', 'r.bam', 'r.bam.bai', 'r.idx', 'tool.cwl'].sort());
  });

  it('fails clearly on a job input that is not there', () => {
    files({ 'job.yml': '' });
    expect(() => new DependencyFinder().addJob({ inp: { class: 'File', location: 'nope.txt' } }, abs('job.yml'), new Map())).toThrow(
      `input inp: ${abs('nope.txt')}: no such file`,
    );
  });
});
