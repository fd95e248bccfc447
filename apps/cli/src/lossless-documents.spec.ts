import { isLosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { parseDocument, parseJson, parseYaml, toJson } from './lossless-documents';

describe('lossless documents', () => {
  const BIG = '9007199254740993';
  const HUGE = '4200000000000000000000000000000000000000000';

  it('keeps integers beyond 2^53 from JSON, digit for digit', () => {
    const doc = parseJson(`{"n": ${BIG}, "m": ${HUGE}, "tiny": 1e-400, "d": 0.10000000000000000001}`);
    expect(toJson(doc, 0)).toBe(`{"n":${BIG},"m":${HUGE},"tiny":1e-400,"d":0.10000000000000000001}`);
  });

  it('keeps integers beyond 2^53 from YAML (core schema), where js-yaml alone rounds them', () => {
    const text = `n: ${BIG}\nm: ${HUGE}\nneg: -${BIG}\nlist: [${BIG}, 2]\n`;
    expect(toJson(parseYaml(text), 0)).toBe(`{"n":${BIG},"m":${HUGE},"neg":-${BIG},"list":[${BIG},2]}`);
  });

  it('reads YAML integers in other bases and YAML floats as JSON numbers', () => {
    const doc = parseYaml('hex: 0x1F\noct: 0o17\nbin: 0b101\nlead: 007\nplus: +5\nhalf: .5\ndot: 1.\nexp: 1.5e-400\nbig: 1e400\n');
    expect(toJson(doc, 0)).toBe('{"hex":31,"oct":15,"bin":5,"lead":7,"plus":5,"half":0.5,"dot":1,"exp":1.5e-400,"big":1e400}');
    expect(isLosslessNumber((doc as Record<string, unknown>).hex)).toBe(true);
  });

  it('leaves strings, booleans and nulls of the core schema alone', () => {
    const doc = parseYaml('s: "12"\nt: true\nn: null\nu: 1_000\nd: 2024-01-01\n');
    expect(doc).toEqual({ s: '12', t: true, n: null, u: '1_000', d: '2024-01-01' });
  });

  it('reads a document as JSON when it is JSON and as YAML otherwise', () => {
    expect(toJson(parseDocument(`{"a": ${BIG}}`), 0)).toBe(`{"a":${BIG}}`);
    expect(toJson(parseDocument(`a: ${BIG}`), 0)).toBe(`{"a":${BIG}}`);
    // Flow-style YAML that is not JSON.
    expect(toJson(parseDocument(`{a: ${BIG}}`), 0)).toBe(`{"a":${BIG}}`);
  });
});
