import { describe, expect, it } from 'vitest';
import { isJsonNumber, isJsonObject, parseJson, stringifyJson } from './lossless-json';

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
});
