import { describe, expect, it } from 'vitest';
import { checkJsonDepth, isJsonNumber, isJsonObject, JsonTooDeepError, MAX_JSON_DEPTH, parseJson, stringifyJson } from './lossless-json';

describe('lossless JSON', () => {
  it.each([
    '4200000000000000000000000000000000000000000',
    '9007199254740993',
    '-9007199254740993',
    '1.0',
    '0.1000000000000000055511151231257827',
    '1e-400',
    '1E400',
    '-0',
    '123456789012345678901234567890.123456789',
  ])('writes %s back as it was read', (n) => {
    const text = `{"a":${n},"b":[${n}],"c":{"d":${n}}}`;
    expect(stringifyJson(parseJson(text))).toBe(text);
  });

  it('reads the numbers a double holds exactly as plain numbers', () => {
    const v = parseJson('{"a": 1, "b": 2.5, "c": -3, "d": 1e+21, "e": 0}') as Record<string, unknown>;
    expect(v).toEqual({ a: 1, b: 2.5, c: -3, d: 1e21, e: 0 });
    expect(Object.values(v).every((x) => typeof x === 'number')).toBe(true);
  });

  it('would lose what JSON.parse loses (the reason for this module)', () => {
    expect(JSON.stringify(JSON.parse('[9007199254740993]'))).not.toBe('[9007199254740993]');
    expect(stringifyJson(parseJson('[9007199254740993]'))).toBe('[9007199254740993]');
  });

  it('keeps a big number a leaf, not an object', () => {
    const v = parseJson('{"n": 9007199254740993}') as Record<string, unknown>;
    expect(isJsonNumber(v.n)).toBe(true);
    expect(isJsonObject(v.n)).toBe(false);
    expect(isJsonObject(v)).toBe(true);
  });

  it('keeps __proto__ an ordinary key', () => {
    const v = parseJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(stringifyJson(v)).toBe('{"__proto__":{"polluted":1}}');
  });

  it('indents like JSON.stringify', () => {
    expect(stringifyJson(parseJson('{"a":[1,2]}'), 2)).toBe(JSON.stringify({ a: [1, 2] }, null, 2));
  });

  it('refuses bad JSON with a SyntaxError', () => {
    expect(() => parseJson('{"a": }')).toThrow(SyntaxError);
  });

  describe('depth limit', () => {
    const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);
    const objects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

    it('reads and writes JSON nested exactly MAX_JSON_DEPTH (1000) deep', () => {
      expect(MAX_JSON_DEPTH).toBe(1000);
      expect(stringifyJson(parseJson(nested(1000)))).toBe(nested(1000));
      expect(stringifyJson(parseJson(objects(1000)))).toBe(objects(1000));
    });

    it.each([
      ['arrays 1001 deep', nested(1001)],
      ['objects 1001 deep', objects(1001)],
      ['arrays 100,000 deep (past the parser\'s own stack)', nested(100_000)],
      ['unclosed brackets 100,000 deep', '['.repeat(100_000)],
      ['objects and arrays mixed, 2,000 deep', '{"a":['.repeat(1000) + ']}'.repeat(1000)],
    ])('refuses %s with JsonTooDeepError, before parsing (no stack overflow)', (_what, text) => {
      expect(() => parseJson(text)).toThrow(JsonTooDeepError);
      expect(() => parseJson(text)).toThrow('JSON nested deeper than 1000 levels (arrays and objects)');
    });

    it('does not count brackets inside strings, escaped quotes included', () => {
      const text = `{"s": "${'['.repeat(5000)}", "t": "\\"${'{'.repeat(5000)}\\\\", "u": [1]}`;
      expect(() => checkJsonDepth(text, 2)).not.toThrow();
      expect(() => checkJsonDepth(text, 1)).toThrow(JsonTooDeepError);
      expect((parseJson(text) as { u: number[] }).u).toEqual([1]);
    });

    it('counts depth, not the number of containers', () => {
      expect(() => checkJsonDepth(`[${'[],'.repeat(100_000)}[]]`, 2)).not.toThrow();
    });
  });
});
