import { describe, expect, it } from 'vitest';
import { lineAndColumn, parseParams, parseTagFilter, parseTags } from './params';

describe('parseParams', () => {
  it('sends JSON as typed, so big numbers reach the server exactly', () => {
    const text = '{"n": 12345678901234567890, "x": 1.0}';
    expect(parseParams(text, 'json')).toEqual({ ok: true, json: text });
  });

  it('sends nothing for empty text', () => {
    expect(parseParams('  \n', 'json')).toEqual({ ok: true, json: undefined });
  });

  it('names the line and column of a JSON error', () => {
    const r = parseParams('{\n  "a": 1,\n  "b" 2\n}', 'json');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^Not valid JSON \(line 3, column \d+\)/);
  });

  it('refuses a JSON value that is not an object', () => {
    for (const [text, what] of [['[1]', 'a list'], ['null', 'null'], ['"x"', 'a string'], ['3', 'a number']]) {
      const r = parseParams(text, 'json');
      expect(r).toEqual({ ok: false, error: expect.stringContaining(`not ${what}`) });
    }
  });

  it('converts YAML to JSON without turning dates into other strings', () => {
    const r = parseParams('text:\n  class: File\n  location: input.txt\nwhen: 2024-01-02\nn: 3', 'yaml');
    expect(r.ok).toBe(true);
    if (r.ok) expect(JSON.parse(r.json!)).toEqual({ text: { class: 'File', location: 'input.txt' }, when: '2024-01-02', n: 3 });
  });

  it('names the line of a YAML error', () => {
    const r = parseParams('a: 1\nb: [1, 2\nc: 3', 'yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^Not valid YAML \(line \d+, column \d+\)/);
  });

  it('refuses a YAML list', () => {
    expect(parseParams('- a\n- b', 'yaml')).toEqual({ ok: false, error: expect.stringContaining('not a list') });
  });
});

describe('lineAndColumn', () => {
  it('counts from 1', () => {
    expect(lineAndColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});

describe('parseTags', () => {
  it('reads key=value lines, values may hold =', () => {
    expect(parseTags('project = x\n\nurl=a=b\n')).toEqual({ ok: true, tags: { project: 'x', url: 'a=b' } });
  });
  it('refuses a line without a key, and a key given twice', () => {
    expect(parseTags('a=1\nnovalue')).toEqual({ ok: false, error: 'Line 2: write a tag as key=value' });
    expect(parseTags('a=1\na=2')).toEqual({ ok: false, error: 'Line 2: the tag "a" is given twice' });
  });
});

describe('parseTagFilter', () => {
  it('splits at the first colon', () => {
    expect(parseTagFilter(' project:x:y ')).toEqual({ key: 'project', value: 'x:y' });
    expect(parseTagFilter('project')).toEqual({ key: 'project' });
    expect(parseTagFilter('  ')).toBeUndefined();
  });
});
