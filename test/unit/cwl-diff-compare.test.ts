import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Canon, canonicalize, parseOutputObject } from '../../scripts/cwl-diff/canonical';
import { compareCase, outputDifferences, SideOutcome } from '../../scripts/cwl-diff/compare';
import { runStateOf } from '../../scripts/cwl-diff/runners';

/** A File as canonicalize makes it, its bytes' sha1 given directly (no disk). */
function file(basename: string, sha1: string, extra: Record<string, Canon> = {}): Canon {
  return {
    t: 'File',
    fields: { class: { t: 'string', v: 'File' }, basename: { t: 'string', v: basename }, checksum: { t: 'string', v: sha1 }, size: { t: 'number', text: '5' }, ...extra },
    content: { sha1, size: 5 },
    place: basename,
  };
}
const obj = (fields: Record<string, Canon>): Canon => ({ t: 'object', fields });
const canonOf = (json: string) => canonicalize(parseOutputObject(json));
const ok = (outputs: Canon): SideOutcome => ({ exitCode: 0, timedOut: false, outputs });
const failed = (exitCode: number): SideOutcome => ({ exitCode, timedOut: false });

describe('cwl-diff output comparison (pure data)', () => {
  const A = 'sha1$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const B = 'sha1$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

  it('finds nothing between equal objects', () => {
    expect(outputDifferences(obj({ out: file('a.txt', A) }), obj({ out: file('a.txt', A) }))).toEqual([]);
  });

  it('catches a changed checksum, and bytes that do not match it', () => {
    expect(outputDifferences(obj({ out: file('a.txt', A) }), obj({ out: file('a.txt', B) }))).toEqual([
      `$.out.checksum: "${A}" (cwltool) vs "${B}" (server)`,
      `$.out<contents>: ${A} (5 bytes) (cwltool) vs ${B} (5 bytes) (server)`,
    ]);
    const lying = file('a.txt', A);
    if (lying.t === 'File') lying.content = { sha1: B, size: 5 };
    expect(outputDifferences(obj({ out: file('a.txt', A) }), obj({ out: lying }))).toEqual([`$.out<contents>: ${A} (5 bytes) (cwltool) vs ${B} (5 bytes) (server)`]);
  });

  it('catches a missing key on either side, at any depth', () => {
    expect(outputDifferences(obj({ a: { t: 'null' }, b: { t: 'null' } }), obj({ a: { t: 'null' } }))).toEqual(["$.b: only in cwltool's output"]);
    expect(outputDifferences(obj({ out: file('a.txt', A) }), obj({ out: file('a.txt', A, { format: { t: 'string', v: 'edam:format_2330' } }) }))).toEqual([
      "$.out.format: only in the server's output",
    ]);
  });

  it('catches a reordered array (arrays are sequences)', () => {
    const arr = (...v: string[]): Canon => ({ t: 'array', items: v.map((x) => ({ t: 'string', v: x })) });
    expect(outputDifferences(obj({ out: arr('one', 'two') }), obj({ out: arr('two', 'one') }))).toEqual([
      '$.out[0]: "one" (cwltool) vs "two" (server)',
      '$.out[1]: "two" (cwltool) vs "one" (server)',
    ]);
  });

  it('compares numbers by their JSON text: a big integer changed by 1, 4.2e+42 for the integer, 1.0 for 1', () => {
    expect(outputDifferences(canonOf('{"n": 9007199254740993}'), canonOf('{"n": 9007199254740992}'))).toEqual(['$.n: 9007199254740993 (cwltool) vs 9007199254740992 (server)']);
    expect(outputDifferences(canonOf('{"n": 4200000000000000000000000000000000000000000}'), canonOf('{"n": 4.2e+42}'))).toHaveLength(1);
    expect(outputDifferences(canonOf('{"n": 1.0}'), canonOf('{"n": 1}'))).toEqual(['$.n: 1.0 (cwltool) vs 1 (server)']);
    expect(outputDifferences(canonOf('{"n": 123456789012345678901234567890}'), canonOf('{"n": 123456789012345678901234567890}'))).toEqual([]);
  });

  it('catches a value of another type, and null against a value', () => {
    expect(outputDifferences(canonOf('{"x": "1"}'), canonOf('{"x": 1}'))).toEqual(['$.x: "1" (cwltool) vs 1 (server)']);
    expect(outputDifferences(canonOf('{"x": null}'), canonOf('{"x": false}'))).toEqual(['$.x: null (cwltool) vs false (server)']);
  });

  it('ignores only the listed paths, and what lies under them', () => {
    const direct = obj({ e_out: file('aaaa', A) });
    const server = obj({ e_out: file('bbbb', B) });
    expect(outputDifferences(direct, server, ['$.e_out.basename', '$.e_out<place>'])).toEqual([
      `$.e_out.checksum: "${A}" (cwltool) vs "${B}" (server)`,
      `$.e_out<contents>: ${A} (5 bytes) (cwltool) vs ${B} (5 bytes) (server)`,
    ]);
    expect(outputDifferences(direct, server, ['$.e_out'])).toEqual([]);
    expect(outputDifferences(direct, server, ['$.e_ou'])).toHaveLength(4);
  });
});

describe('cwl-diff canonical form (files on disk)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cwl-diff-spec-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** A folder `name` holding the given files (relative path → text). */
  function folder(name: string, files: Record<string, string>): string {
    const dir = path.join(tmp, name);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    }
    return dir;
  }
  const entry = (dir: string, name: string, cls = 'File') => ({ class: cls, basename: name, location: `file://${path.join(dir, name)}` });
  const dirObject = (dir: string, names: string[]) => ({ out: { class: 'Directory', basename: 'd', location: `file://${dir}`, listing: names.map((n) => entry(dir, n)) } });

  it('leaves locations out and reads each File where its location points', () => {
    const a = folder('a', { 'x.txt': 'hello' });
    const b = folder('b', { 'x.txt': 'hello' });
    const c = folder('c', { 'x.txt': 'hellO' });
    const canon = (dir: string) => canonicalize({ out: { ...entry(dir, 'x.txt'), path: path.join(dir, 'x.txt') } });
    expect(outputDifferences(canon(a), canon(b))).toEqual([]);
    expect(outputDifferences(canon(a), canon(c))[0]).toMatch(/^\$\.out<contents>: sha1\$\w+ \(5 bytes\) \(cwltool\) vs sha1\$\w+ \(5 bytes\) \(server\)$/);
  });

  it('catches a file laid out under another name in --outdir (cwltool: out.txt, then out.txt_2)', () => {
    const a = folder('pa', { 'x.txt': 'same', 'x.txt_2': 'same' });
    const b = folder('pb', { 'x.txt': 'same', 'x.txt_3': 'same' });
    const canon = (dir: string, second: string) =>
      canonicalize({ one: { class: 'File', basename: 'x.txt', location: `file://${dir}/x.txt` }, two: { class: 'File', basename: 'x.txt', location: `file://${dir}/${second}` } }, dir);
    expect(outputDifferences(canon(a, 'x.txt_2'), canon(b, 'x.txt_3'))).toEqual(['$.two<place>: "x.txt_2" (cwltool) vs "x.txt_3" (server), relative to --outdir']);
    expect(outputDifferences(canon(a, 'x.txt_2'), canonicalize({ one: entry(tmp, 'pb/x.txt'), two: entry(b, 'x.txt_3') }, a))).toContain(
      '$.one<place>: "x.txt" (cwltool) vs "(outside --outdir)" (server), relative to --outdir',
    );
  });

  it('a File that is not there never matches', () => {
    const a = folder('gone', {});
    const canon = canonicalize({ out: entry(a, 'missing.txt') });
    expect(outputDifferences(canon, canon)[0]).toMatch(/^\$\.out<contents>: unreadable: ENOENT/);
  });

  it('a Directory listing is a set: reordered it is the same, with a file changed or added it is not', () => {
    const a = folder('da', { '1.txt': 'one', '2.txt': 'two' });
    const b = folder('db', { '1.txt': 'one', '2.txt': 'two' });
    expect(outputDifferences(canonicalize(dirObject(a, ['1.txt', '2.txt'])), canonicalize(dirObject(b, ['2.txt', '1.txt'])))).toEqual([]);
    const changed = folder('dc', { '1.txt': 'one', '2.txt': 'TWO' });
    expect(outputDifferences(canonicalize(dirObject(a, ['1.txt', '2.txt'])), canonicalize(dirObject(changed, ['1.txt', '2.txt'])))).toEqual([
      expect.stringMatching(/^\$\.out\.listing\[1\]<contents>: /),
      expect.stringMatching(/^\$\.out<on disk>\/2\.txt: /),
    ]);
    const extra = folder('dd', { '1.txt': 'one', '2.txt': 'two', 'sub/3.txt': 'three' });
    expect(outputDifferences(canonicalize(dirObject(a, ['1.txt', '2.txt'])), canonicalize(dirObject(extra, ['1.txt', '2.txt'])))).toEqual([
      "$.out<on disk>/sub: only in the server's folder",
    ]);
  });
});

describe('cwl-diff verdicts', () => {
  const same = canonicalize({ n: 1 });

  it('identical when both succeed with equal outputs, or both fail', () => {
    expect(compareCase(ok(same), ok(same), { directExit: 0 })).toMatchObject({ verdict: 'identical', differences: [] });
    expect(compareCase(failed(1), failed(1), { directExit: 1 })).toMatchObject({ verdict: 'identical', note: undefined });
  });

  it('a failing case fails through the server only as a run that ended EXECUTOR_ERROR', () => {
    expect(compareCase(failed(1), { ...failed(1), runState: 'EXECUTOR_ERROR' }, { directExit: 1 }).verdict).toBe('identical');
    const refused = runStateOf('wes: uploading 1 file (277 B) from /x to http://h\nwes: 400 Bad Request: "--enable-ext" is not a parameter\n');
    expect(refused).toBe('no run ended (400 Bad Request: "--enable-ext" is not a parameter)');
    expect(compareCase(failed(1), { ...failed(1), runState: refused }, { directExit: 1 })).toMatchObject({
      verdict: 'different',
      firstDifference: `both failed, but the server's run did not fail as the workflow: ${refused}`,
    });
    expect(compareCase(failed(1), { ...failed(1), runState: 'SYSTEM_ERROR' }, { directExit: 1 }).verdict).toBe('different');
    expect(runStateOf('wes: run 01a: RUNNING\nwes: run 01a: EXECUTOR_ERROR\nwes: run 01a ended EXECUTOR_ERROR (exit code 1)\n')).toBe('EXECUTOR_ERROR');
    expect(runStateOf('wes: run 01a: RUNNING\nwes: run 01a: COMPLETE\n')).toBe('COMPLETE');
  });

  it('says when both failed with different codes', () => {
    expect(compareCase(failed(1), failed(33), { directExit: 1 })).toMatchObject({
      verdict: 'identical',
      note: 'both failed, with different codes: exit 1 (cwltool) vs exit 33 (server)',
    });
  });

  it('different when one side fails or times out, or outputs differ', () => {
    expect(compareCase(ok(same), failed(1), { directExit: 0 })).toMatchObject({ verdict: 'different', firstDifference: 'exit 0 (cwltool) vs exit 1 (server)' });
    expect(compareCase(failed(2), ok(same), { directExit: 2 }).verdict).toBe('different');
    expect(compareCase(ok(same), { exitCode: null, timedOut: true }, { directExit: 0 }).firstDifference).toBe('exit 0 (cwltool) vs timed out (server)');
    expect(compareCase(ok(same), ok(canonicalize({ n: 2 })), { directExit: 0 }).firstDifference).toBe('$.n: 1 (cwltool) vs 2 (server)');
    expect(compareCase(ok(same), { exitCode: 0, timedOut: false, outputError: 'empty stdout' }, { directExit: 0 }).verdict).toBe('different');
  });

  it('different when the direct run no longer does what the case table records', () => {
    expect(compareCase(failed(1), failed(1), { directExit: 0 }).firstDifference).toBe('cwltool exit 1, but the case table records exit 0 (the environment changed?)');
  });
});
