import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AllowListEntryError, compileAllowList } from './allow-list-entries';
import { matchAllowList } from './allow-list-matcher';
import { CWL } from '../../engines/src/languages/cwl/cwl-language';
import { collectWorkflowDocuments, DocumentReader, DocumentSource, resolveReference } from './workflow-documents';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A run's attachment folder in memory. */
function reader(files: Record<string, string>): DocumentReader {
  return {
    async bytes(name, max) {
      const b = Buffer.from(files[name]);
      return b.length > max ? undefined : b;
    },
    async sha256(name) {
      return sha(files[name]);
    },
  };
}

const MAIN = `cwlVersion: v1.2
class: Workflow
$schemas: [edam.owl, https://example.org/other.owl]
requirements:
  - $import: types.yml
  - {$mixin: mixin.yml}
inputs: {x: File}
outputs: []
steps:
  rev: {run: tools/rev.cwl, in: {x: x}, out: []}
  sub: {run: "sub%20flow.cwl#main", in: {}, out: []}
`;
const REV = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: [bash, script.sh]
requirements:
  InitialWorkDirRequirement:
    listing:
      - entry: {$include: ../lib/helper.sh}
inputs:
  script: {type: File, default: {class: File, location: script.sh}}
  data: {type: Directory, default: {class: Directory, location: ../data/}}
outputs: []
`;
const WORKFLOW: Record<string, string> = {
  'main.cwl': MAIN,
  'types.yml': '- {name: T, type: record, fields: []}\n',
  'mixin.yml': 'class: InlineJavascriptRequirement\n',
  'edam.owl': '<rdf:RDF/>\n',
  'tools/rev.cwl': REV,
  'tools/script.sh': 'rev "$1"\n',
  'lib/helper.sh': 'echo help\n',
  'data/a.txt': 'a',
  'data/b/c.txt': 'c',
  'sub flow.cwl': 'cwlVersion: v1.2\nclass: Workflow\n$graph: []\n',
};
/** Input data the client sent beside the workflow: no document names it. */
const INPUT = { 'input.txt': 'some data\n' };
const DOCUMENTS = Object.keys(WORKFLOW);

async function documentsOf(files: Record<string, string>, main = 'main.cwl', sources = new Map<string, DocumentSource>()) {
  return collectWorkflowDocuments(main, Object.keys(files), sources, reader(files), CWL);
}

describe('the documents of a workflow', () => {
  it('are the main document and everything it runs, imports, includes or names as a File or Directory, transitively', async () => {
    const set = await documentsOf({ ...WORKFLOW, ...INPUT });
    expect(set.problems).toEqual([]);
    expect(set.documents.map((d) => d.name).sort()).toEqual([...DOCUMENTS].sort());
    expect(set.documents[0]).toEqual({ name: 'main.cwl', sha256: sha(MAIN) });
  });

  it('resolve references as URIs relative to their document, and see those that leave the folder', () => {
    expect(resolveReference('tools/rev.cwl', '../lib/x.sh')).toBe('lib/x.sh');
    expect(resolveReference('main.cwl', 'sub%20flow.cwl#main')).toBe('sub flow.cwl');
    expect(resolveReference('main.cwl', '#tool')).toBeUndefined();
    expect(resolveReference('main.cwl', 'https://example.org/x.cwl')).toBeUndefined();
    expect(resolveReference('main.cwl', '../inputs/evil.cwl')).toBe('outside');
    expect(resolveReference('main.cwl', '/etc/passwd')).toBe('outside');
    expect(resolveReference('a/b.cwl', '%2e%2e/%2e%2e/x')).toBe('outside');
  });

  it('report what cannot be checked: a reference out of the folder, a document that does not parse', async () => {
    const out = await documentsOf({ 'main.cwl': 'class: Workflow\nsteps: {a: {run: ../inputs/tool.cwl}}\n' });
    expect(out.problems).toEqual(['main.cwl references "../inputs/tool.cwl", outside the workflow\'s folder']);
    const bad = await documentsOf({ 'main.cwl': 'class: Workflow\nsteps: {a: {run: t.cwl}}\n', 't.cwl': 'class: [unclosed\n' });
    expect(bad.problems[0]).toMatch(/^t\.cwl cannot be read as YAML or JSON/);
    // The worker writes its params file beside the attachments: a tool named but not sent could be it.
    const missing = await documentsOf({ 'main.cwl': 'class: Workflow\nsteps: {a: {run: wes-params.json}, b: {in: {x: {default: {$include: lib.js}}}}}\n' });
    expect(missing.problems.sort()).toEqual([
      'main.cwl references "lib.js", which is not among the run\'s files',
      'main.cwl references "wes-params.json", which is not among the run\'s files',
    ]);
  });

  it('follow cwl:tool, which makes a job document run the tool it names', async () => {
    const set = await documentsOf({ 'job.yml': 'cwl:tool: tools/t.cwl\nx: 1\n', 'tools/t.cwl': 'class: CommandLineTool\n' }, 'job.yml');
    expect(set.documents.map((d) => d.name)).toEqual(['job.yml', 'tools/t.cwl']);
  });

  it('walk a YAML alias bomb once per node', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 30 }, (_, i) => `${String.fromCharCode(98 + (i % 24))}${i}: &n${i} [${`*${i ? `n${i - 1}` : 'a'}, `.repeat(9)}]`)].join('\n');
    const set = await documentsOf({ 'main.cwl': `class: Workflow\n${bomb}\n` });
    expect(set.problems).toEqual([]);
    expect(set.documents).toHaveLength(1);
  });
});

const ENTRIES = compileAllowList([
  { name: 'rev', sha256: DOCUMENTS.map((d) => sha(WORKFLOW[d])) },
  { name: 'hosted', urlPrefix: 'https://ok.example/wf/' },
  { name: 'dockstore', trsId: '#workflow/github.com/org/repo', trsVersions: ['v1'] },
  { name: 'team', roles: ['team'], sha256: [sha('class: Workflow\n')] },
]);

describe('the allow-list', () => {
  it('allows a workflow whose every document is in one sha256 set, whatever its inputs', async () => {
    expect(matchAllowList(ENTRIES, [], await documentsOf({ ...WORKFLOW, ...INPUT }))).toEqual({ allowed: true, entry: 'rev' });
  });

  it('refuses it when one import changed, naming the document and its sha256', async () => {
    for (const changed of ['tools/rev.cwl', 'tools/script.sh', 'lib/helper.sh', 'data/b/c.txt', 'types.yml', 'mixin.yml']) {
      const files = { ...WORKFLOW, [changed]: `${WORKFLOW[changed]}# changed\n` };
      const decision = matchAllowList(ENTRIES, [], await documentsOf(files));
      expect(decision.allowed, changed).toBe(false);
      if (decision.allowed) continue;
      expect(decision.reason).toContain('rules tried: sha256, URL prefix, TRS id');
      expect(decision.reason).toContain(`sha256: 1 of the ${DOCUMENTS.length} documents are in no allowed set: ${changed} (sha256 ${sha(files[changed])})`);
    }
  });

  it('refuses a document added where a listed one points, and a reference it cannot check', async () => {
    // Approved while the default script it names was absent (the client was to pass one).
    const approved = { 'main.cwl': 'class: CommandLineTool\ninputs: {s: {type: File, default: {class: File, location: optional.sh}}}\n' };
    const entries = compileAllowList([{ sha256: [sha(approved['main.cwl'])] }]);
    expect(matchAllowList(entries, [], await documentsOf(approved)).allowed).toBe(true);
    const added = matchAllowList(entries, [], await documentsOf({ ...approved, 'optional.sh': 'rm -rf ~\n' }));
    expect(!added.allowed && added.reason).toContain('sha256: 1 of the 2 documents are in no allowed set: optional.sh');
    const escape: Record<string, string> = { ...WORKFLOW, 'main.cwl': `${MAIN}  evil: {run: ../inputs/evil.cwl, in: {}, out: []}\n` };
    const decision = matchAllowList(compileAllowList([{ sha256: DOCUMENTS.map((d) => sha(escape[d])) }]), [], await documentsOf(escape));
    expect(decision).toMatchObject({ allowed: false });
    expect(!decision.allowed && decision.reason).toContain('cannot be checked: main.cwl references "../inputs/evil.cwl"');
  });

  it('does not let documents of two sets be mixed', async () => {
    const entries = compileAllowList([{ sha256: [sha(MAIN)] }, { sha256: DOCUMENTS.filter((d) => d !== 'main.cwl').map((d) => sha(WORKFLOW[d])) }]);
    const decision = matchAllowList(entries, [], await documentsOf(WORKFLOW));
    expect(!decision.allowed && decision.reason).toContain('no one set holds them all');
  });

  const fetched = (urls: Record<string, string | [string, string]>) =>
    new Map(Object.entries(urls).map(([name, u]) => [name, Array.isArray(u) ? { url: u[0], finalUrl: u[1] } : { url: u, finalUrl: u }]));
  const TWO = { 'main.cwl': 'class: Workflow\nsteps: {a: {run: tools/t.cwl}}\n', 'tools/t.cwl': 'class: CommandLineTool\n' };

  it('allows by URL prefix when every document was fetched from under it, redirects included', async () => {
    const ok = fetched({ 'main.cwl': 'https://ok.example/wf/main.cwl', 'tools/t.cwl': 'https://ok.example/wf/tools/t.cwl' });
    expect(matchAllowList(ENTRIES, [], await documentsOf(TWO, 'main.cwl#main', ok))).toEqual({ allowed: true, entry: 'hosted' });
    const redirected = fetched({ 'main.cwl': ['https://ok.example/wf/main.cwl', 'https://evil.example/main.cwl'], 'tools/t.cwl': 'https://ok.example/wf/tools/t.cwl' });
    const decision = matchAllowList(ENTRIES, [], await documentsOf(TWO, 'main.cwl', redirected));
    expect(!decision.allowed && decision.reason).toContain('URL prefix: https://evil.example/main.cwl: not under https://ok.example/wf/');
    // A document the client attached beside a fetched workflow is not vouched for by the prefix.
    const mixed = fetched({ 'main.cwl': 'https://ok.example/wf/main.cwl' });
    const refused = matchAllowList(ENTRIES, [], await documentsOf(TWO, 'main.cwl', mixed));
    expect(!refused.allowed && refused.reason).toContain('tools/t.cwl was attached, not fetched from a URL');
  });

  it('allows by TRS id the documents fetched from that tool version, and nothing else', async () => {
    const base = 'https://dockstore.org/api/ga4gh/trs/v2/tools/%23workflow%2Fgithub.com%2Forg%2Frepo/versions';
    const trs = (version: string) => fetched({ 'main.cwl': `${base}/${version}/PLAIN_CWL/descriptor/%2Fmain.cwl`, 'tools/t.cwl': `${base}/${version}/PLAIN_CWL/descriptor/tools/t.cwl` });
    expect(matchAllowList(ENTRIES, [], await documentsOf(TWO, 'main.cwl', trs('v1')))).toEqual({ allowed: true, entry: 'dockstore' });
    const other = matchAllowList(ENTRIES, [], await documentsOf(TWO, 'main.cwl', trs('v2')));
    expect(!other.allowed && other.reason).toContain('is version v2');
    const elsewhere = fetched({ 'main.cwl': `https://trs.evil.example/ga4gh/trs/v2/tools/%23workflow%2Fgithub.com%2Forg%2Frepo/versions/v1/PLAIN_CWL/descriptor`, 'tools/t.cwl': 'x' });
    const refused = matchAllowList(ENTRIES, [], await documentsOf(TWO, 'main.cwl', elsewhere));
    expect(!refused.allowed && refused.reason).toContain('is tool #workflow/github.com/org/repo of https://trs.evil.example');
  });

  it('uses an entry with roles only for callers holding one of them', async () => {
    const files = { 'main.cwl': 'class: Workflow\n' };
    expect(matchAllowList(ENTRIES, ['team'], await documentsOf(files))).toEqual({ allowed: true, entry: 'team' });
    expect(matchAllowList(ENTRIES, ['other', 'admin'], await documentsOf(files)).allowed).toBe(false);
    const onlyTeam = compileAllowList([{ roles: ['team'], urlPrefix: 'https://ok.example/' }]);
    expect(matchAllowList(onlyTeam, [], await documentsOf(files))).toEqual({
      allowed: false,
      reason: `no entry of the allow-list is for your roles; the workflow's documents: main.cwl (sha256 ${sha(files['main.cwl'])})`,
    });
  });

  it('is off when empty', async () => {
    expect(matchAllowList([], [], await documentsOf({ 'main.cwl': 'anything' })).allowed).toBe(true);
  });
});

describe('allow-list entries', () => {
  const error = (raw: unknown[]) => {
    try {
      compileAllowList(raw);
    } catch (err) {
      expect(err).toBeInstanceOf(AllowListEntryError);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('normalise what they hold', () => {
    expect(compileAllowList([{ urlPrefix: 'HTTPS://OK.example/a/../wf/' }, { name: 'x', roles: ['r'], sha256: ['A'.repeat(64)] }, { trsId: '#workflow/x', trsServer: 'https://trs.example/api/' }])).toEqual([
      { name: 'entry 0', rule: { kind: 'urlPrefix', prefix: 'https://ok.example/wf/' } },
      { name: 'x', roles: ['r'], rule: { kind: 'sha256', hashes: new Set(['a'.repeat(64)]) } },
      { name: 'entry 2', rule: { kind: 'trs', server: 'https://trs.example/api', toolId: '#workflow/x' } },
    ]);
    expect(compileAllowList([{ trsId: '#workflow/x' }])[0].rule).toMatchObject({ server: 'https://dockstore.org/api' });
  });

  it('refuse malformed ones, naming the entry and the field', () => {
    expect(error([{ name: 'a' }])).toBe('[0]: must hold exactly one of urlPrefix, sha256 or trsId (holds none)');
    expect(error([{ urlPrefix: 'https://a/', sha256: ['a'.repeat(64)] }])).toContain('holds urlPrefix and sha256');
    expect(error([{ urlPrefix: 'https://a/', extra: 1 }])).toContain('unknown field "extra"');
    expect(error([{ urlPrefix: 'https://a/' }, { urlPrefix: 'relative/' }])).toMatch(/^\[1\]\.urlPrefix: "relative\/" is not an absolute URL/);
    expect(error([{ sha256: ['abc'] }])).toContain('[0].sha256: "abc" is not 64 hex digits');
    expect(error([{ sha256: [] }])).toContain('[0].sha256: must be a non-empty list');
    expect(error([{ urlPrefix: 'https://a/', roles: [] }])).toContain('[0].roles: must be a non-empty list');
    expect(error([{ urlPrefix: 'https://a/', trsVersions: ['1'] }])).toContain('[0].trsVersions: goes with trsId only');
    expect(error([{ trsId: '#workflow/x', trsServer: 'https://dockstore.org/api/ga4gh/trs/v2' }])).toContain('[0].trsServer');
    expect(error([{ name: 'a', urlPrefix: 'https://a/' }, { name: 'a', urlPrefix: 'https://b/' }])).toContain('names another entry too');
    expect(error([{ name: ' a', urlPrefix: 'https://a/' }])).toContain('[0].name');
    expect(error([{ name: 'a\nb', urlPrefix: 'https://a/' }])).toContain('control characters');
    expect(compileAllowList([{ name: 'md5sum: 1.0 (team)', urlPrefix: 'https://a/' }])[0].name).toBe('md5sum: 1.0 (team)');
    expect(error(['https://a/'])).toContain('must be a mapping');
  });
});
