import { describe, expect, it } from 'vitest';
import { isJsonNumber, stringifyJson } from '../../../libs/json/src';
import { parseDocument, parseYaml } from './lossless-documents';

describe('lossless documents', () => {
  const BIG = '9007199254740993';
  const HUGE = '4200000000000000000000000000000000000000000';

  it('keeps integers beyond 2^53 from a JSON job, digit for digit', () => {
    const doc = parseDocument(`{"n": ${BIG}, "m": ${HUGE}, "tiny": 1e-400, "d": 0.10000000000000000001}`);
    expect(stringifyJson(doc)).toBe(`{"n":${BIG},"m":${HUGE},"tiny":1e-400,"d":0.10000000000000000001}`);
  });

  it('keeps integers beyond 2^53 from YAML (core schema), where js-yaml alone rounds them', () => {
    const text = `n: ${BIG}\nm: ${HUGE}\nneg: -${BIG}\nlist: [${BIG}, 2]\n`;
    expect(stringifyJson(parseYaml(text))).toBe(`{"n":${BIG},"m":${HUGE},"neg":-${BIG},"list":[${BIG},2]}`);
  });

  it('reads YAML integers in other bases and YAML floats as JSON numbers', () => {
    const doc = parseYaml('hex: 0x1F\noct: 0o17\nbin: 0b101\nlead: 007\nplus: +5\nhalf: .5\ndot: 1.\nexp: 1.5e-400\nbig: 1e400\n');
    expect(stringifyJson(doc)).toBe('{"hex":31,"oct":15,"bin":5,"lead":7,"plus":5,"half":0.5,"dot":1,"exp":1.5e-400,"big":1e400}');
    // As libs/json reads JSON: what a double holds exactly is a plain number, the rest kept as text.
    expect((doc as Record<string, unknown>).hex).toBe(31);
    expect(isJsonNumber((doc as Record<string, unknown>).exp)).toBe(true);
  });

  it('leaves strings, booleans and nulls of the core schema alone', () => {
    const doc = parseYaml('s: "12"\nt: true\nn: null\nu: 1_000\nd: 2024-01-01\n');
    expect(doc).toEqual({ s: '12', t: true, n: null, u: '1_000', d: '2024-01-01' });
  });

  it('reads a document as JSON when it is JSON and as YAML otherwise', () => {
    expect(stringifyJson(parseDocument(`{"a": ${BIG}}`))).toBe(`{"a":${BIG}}`);
    expect(stringifyJson(parseDocument(`a: ${BIG}`))).toBe(`{"a":${BIG}}`);
    // Flow-style YAML that is not JSON.
    expect(stringifyJson(parseDocument(`{a: ${BIG}}`))).toBe(`{"a":${BIG}}`);
  });
});
