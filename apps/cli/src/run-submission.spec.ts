import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringifyJson } from '../../../libs/json/src';
import { commonFolder, parseWorkflowArgument, prepareSubmission, relativeName, rewriteLocations } from './run-submission';

describe('relative naming', () => {
  it('finds the deepest common folder', () => {
    expect(commonFolder(['/a/b/c', '/a/b/d/e', '/a/b'])).toBe('/a/b');
    expect(commonFolder(['/a/bc', '/a/b'])).toBe('/a');
    expect(commonFolder(['/x', '/y/z'])).toBe('/');
    expect(commonFolder(['/only/one'])).toBe('/only/one');
  });

  it('names a file relative to the common folder with / separators, never outside it', () => {
    expect(relativeName('/a', '/a/b/c.txt')).toBe('b/c.txt');
    expect(relativeName('/', '/tmp/x')).toBe('tmp/x');
    expect(() => relativeName('/a/b', '/a/c.txt')).toThrow();
    expect(() => relativeName('/a', '/a')).toThrow();
  });

  it('splits a #fragment off the workflow argument unless the file name holds it', () => {
    expect(parseWorkflowArgument('/w/packed.cwl#main')).toEqual({ file: '/w/packed.cwl', fragment: 'main' });
    expect(parseWorkflowArgument('/w/plain.cwl')).toEqual({ file: '/w/plain.cwl' });
  });
});

describe('rewriteLocations', () => {
  it('makes local locations (location or path) relative names, drops path, keeps remote ones and literals', () => {
    const job = {
      f: { class: 'File', path: 'data/x.txt', secondaryFiles: [{ class: 'File', location: 'data/x.txt.bai' }] },
      u: { class: 'File', location: 'file:///abs/y.txt' },
      r: { class: 'File', location: 'https://example.org/r.txt' },
      d: { class: 'Directory', location: 'data/dir', listing: [{ class: 'File', location: 'data/dir/a.txt' }] },
      l: { class: 'File', contents: 'inline', basename: 'l.txt' },
    };
    const out = rewriteLocations(job, '/root/jobs/job.yml', (p) => `NAME(${p})`) as any;
    expect(out.f).toEqual({ class: 'File', location: 'NAME(/root/jobs/data/x.txt)', secondaryFiles: [{ class: 'File', location: 'NAME(/root/jobs/data/x.txt.bai)' }] });
    expect(out.u.location).toBe('NAME(/abs/y.txt)');
    expect(out.r.location).toBe('https://example.org/r.txt');
    expect(out.d.location).toBe('NAME(/root/jobs/data/dir)');
    expect(out.d.listing[0].location).toBe('NAME(/root/jobs/data/dir/a.txt)');
    expect(out.l).toEqual(job.l);
  });

  it('makes a Directory it has no name for a literal: basename and listing', () => {
    const job = { d: { class: 'Directory', path: 'empty' }, n: { class: 'Directory', location: 'named', basename: 'kept', listing: [] } };
    expect(rewriteLocations(job, '/root/job.yml', () => undefined)).toEqual({
      d: { class: 'Directory', basename: 'empty', listing: [] },
      n: { class: 'Directory', basename: 'kept', listing: [] },
    });
  });
});

describe('prepareSubmission', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wes-cli-sub-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string) => {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  };

  it('names every file relative to the common folder and rewrites the job to match, numbers exact', () => {
    write('project/wf/main.cwl', 'cwlVersion: v1.1\nclass: Workflow\ninputs: {inp: File}\noutputs: []\nsteps:\n  s:\n    run: ../tools/t.cwl\n    in: {inp: inp}\n    out: []\n');
    write('project/tools/t.cwl', 'cwlVersion: v1.1\nclass: CommandLineTool\nbaseCommand: cat\ninputs: {inp: File}\noutputs: []\n');
    write('project/data/in put.txt', 'x');
    write('elsewhere/jobs/job.yml', `inp: {class: File, location: ${pathToFileURL(path.join(dir, 'project/data/in put.txt')).href}}\nbig: 4200000000000000000000000000000000000000000\n`);
    const s = prepareSubmission(path.join(dir, 'project/wf/main.cwl'), path.join(dir, 'elsewhere/jobs/job.yml'));
    expect(s.root).toBe(path.join(dir, 'project'));
    expect(s.attachments.map((a) => a.name).sort()).toEqual(['data/in put.txt', 'tools/t.cwl', 'wf/main.cwl']);
    expect(s.workflowUrl).toBe('wf/main.cwl');
    expect(s.workflowTypeVersion).toBe('v1.1');
    expect(stringifyJson(s.params)).toBe('{"inp":{"class":"File","location":"data/in put.txt"},"big":4200000000000000000000000000000000000000000}');
  });

  it('keeps the #fragment of a packed workflow in workflow_url', () => {
    write('packed.cwl', 'cwlVersion: v1.2\n$graph:\n  - {id: main, class: CommandLineTool, baseCommand: "true", inputs: [], outputs: []}\n');
    const s = prepareSubmission(`${path.join(dir, 'packed.cwl')}#main`);
    expect(s.workflowUrl).toBe('packed.cwl#main');
    expect(s.params).toEqual({});
  });

  it('asks for a #fragment when a packed document has no #main, naming its processes', () => {
    write('two.cwl', 'cwlVersion: v1.2\n$graph:\n  - {id: tool, class: CommandLineTool, baseCommand: "true", inputs: [], outputs: []}\n  - {id: wf, class: Workflow, inputs: [], outputs: [], steps: []}\n');
    const file = path.join(dir, 'two.cwl');
    expect(() => prepareSubmission(file)).toThrow(`${file}: its $graph has no process #main: name one (#tool, #wf), e.g. ${file}#tool`);
    expect(prepareSubmission(`${file}#wf`).workflowUrl).toBe('two.cwl#wf');
  });

  it('runs the tool a job names by cwl:tool, reads the job’s $include and $import, drops cwl:tool and id', () => {
    write('tools/echo.cwl', 'cwlVersion: v1.0\nclass: CommandLineTool\nbaseCommand: echo\ninputs: {text: string, opts: Any}\noutputs: []\n');
    write('jobs/run-me.yml', 'cwl:tool: ../tools/echo.cwl\nid: x\ntext: {$include: words.txt}\nopts: {$import: opts.yml}\n');
    write('jobs/words.txt', 'hello');
    write('jobs/opts.yml', 'n: 9007199254740993\n');
    const s = prepareSubmission(path.join(dir, 'jobs/run-me.yml'));
    expect(s.workflowUrl).toBe('echo.cwl'); // the only file sent: the job's own references are read in
    expect(stringifyJson(s.params)).toBe('{"text":"hello","opts":{"n":9007199254740993}}');
  });

  it('names a Directory input by its folder (relative to the common folder, never ".")', () => {
    write('wf.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: ls\ninputs: {d: Directory}\noutputs: []\n');
    write('sub/d/a.txt', 'a');
    write('sub/job.json', '{"d": {"class": "Directory", "location": "d"}}');
    const s = prepareSubmission(path.join(dir, 'wf.cwl'), path.join(dir, 'sub/job.json'));
    expect(s.attachments.map((a) => a.name).sort()).toEqual(['sub/d/a.txt', 'wf.cwl']);
    expect(s.params).toEqual({ d: { class: 'Directory', location: 'sub/d' } });
  });

  it('sends an empty Directory input as a literal (no attachment can carry an empty folder)', () => {
    write('wf.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: ls\ninputs: {d: Directory, e: Directory}\noutputs: []\n');
    write('full/a.txt', 'a');
    mkdirSync(path.join(dir, 'empty'));
    write('job.yml', 'd: {class: Directory, location: empty}\ne: {class: Directory, location: full}\n');
    const s = prepareSubmission(path.join(dir, 'wf.cwl'), path.join(dir, 'job.yml'));
    expect(s.params).toEqual({ d: { class: 'Directory', basename: 'empty', listing: [] }, e: { class: 'Directory', location: 'full' } });
  });

  it('fails clearly on a missing workflow or job, and on a job that is not an object', () => {
    write('wf.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: ls\ninputs: []\noutputs: []\n');
    write('list.yml', '- 1\n- 2\n');
    expect(() => prepareSubmission(path.join(dir, 'nope.cwl'))).toThrow(`${path.join(dir, 'nope.cwl')}: no such file`);
    expect(() => prepareSubmission(path.join(dir, 'wf.cwl'), path.join(dir, 'nope.yml'))).toThrow(`${path.join(dir, 'nope.yml')}: no such file`);
    expect(() => prepareSubmission(path.join(dir, 'wf.cwl'), path.join(dir, 'list.yml'))).toThrow('the job must be an object of inputs');
  });
});
