import { describe, expect, it } from 'vitest';
import { declaredOutputs, SMK } from './smk-language';

describe('the SMK language', () => {
  it('writes a staged input into the config as the plain path of its copy, nested or in lists', async () => {
    const params = { text: { class: 'File', location: 'data/in.txt' }, many: [{ class: 'File', location: 'https://x.org/a.txt' }], n: 3, s: 'data/in.txt' };
    const seen: string[] = [];
    const out = await SMK.files.map(params, (obj, where) => {
      seen.push(where);
      return { ...obj, location: `file:///wes/attachments/${String(obj.location).split('/').pop()}` };
    });
    expect(seen).toEqual(['text', 'many[0]']);
    expect(out).toEqual({ text: '/wes/attachments/in.txt', many: ['/wes/attachments/a.txt'], n: 3, s: 'data/in.txt' });
  });

  it('keeps File objects whose location is not a staged file (the RunLog\'s outputs)', () => {
    const outputs = { 'a.txt': { class: 'File', location: 'wes-output:a.txt', size: 1 } };
    expect(SMK.files.mapSync(outputs, (obj) => ({ ...obj, location: 'http://server/a.txt' }))).toEqual({
      'a.txt': { class: 'File', location: 'http://server/a.txt', size: 1 },
    });
  });

  it('checks the declared outputs: relative paths inside the work folder, not .snakemake', () => {
    expect(declaredOutputs({})).toEqual({ paths: [] });
    expect(declaredOutputs({ wes_outputs: ['a.txt', 'out/b', 'a.txt', './c/'] })).toEqual({ paths: ['a.txt', 'out/b', './c/'] });
    expect(SMK.checkParams({ wes_outputs: ['a.txt'] })).toBeUndefined();
    for (const [bad, why] of [
      ['x', 'must be a list'],
      [[1], 'must be a list'],
      [['/abs'], 'is absolute'],
      [['a/../../b'], 'leaves the work folder'],
      [['./.snakemake/log'], '.snakemake'],
      [['.'], 'whole work folder'],
      [[''], 'is empty'],
    ] as const) {
      expect(SMK.checkParams({ wes_outputs: bad })).toContain(why);
    }
  });

  it('finds the files a Snakefile names with a string literal, and only those', () => {
    const doc = SMK.readDocument(
      [
        'include: "rules/a.smk"',
        "include: 'rules/b.smk'  # comment",
        'include: f"rules/{name}.smk"',
        'module other:',
        '    snakefile: "other/Snakefile"',
        'rule x:',
        '    conda: "envs/x.yaml"',
        '    script: "scripts/x.py"',
        '    script: "scripts/x.py"',
        'configfile: "config.yaml"',
      ].join('\n'),
    );
    expect(SMK.isWorkflowDocument(doc)).toBe(true);
    expect(SMK.documentReferences(doc)).toEqual([
      { ref: 'rules/a.smk', kind: 'document' },
      { ref: 'rules/b.smk', kind: 'document' },
      { ref: 'other/Snakefile', kind: 'document' },
      { ref: 'envs/x.yaml', kind: 'file' },
      { ref: 'scripts/x.py', kind: 'include' },
      { ref: 'config.yaml', kind: 'include' },
    ]);
  });
});
