import { isLosslessNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/**
 * JSON that keeps every number exactly as written. `JSON.parse` reads each number as a double:
 * 9007199254740993 becomes ...992 and 4200000000000000000000000000000000000000000 comes back
 * as 4.2e+42. A workflow's params and outputs belong to the client and the engine (Python
 * reads integers of any size), so they pass through us byte for byte: a number whose text a
 * double reproduces exactly is a plain number; any other (big integers, 1.0, 1e-400, -0) is a
 * LosslessNumber holding its text. Values read with parseJson must be written with
 * stringifyJson (JSON.stringify would write a LosslessNumber as an object).
 */
export type JsonNumber = LosslessNumber;

function parseNumber(text: string): number | LosslessNumber {
  const n = Number(text);
  return String(n) === text ? n : new LosslessNumber(text);
}

/**
 * How deep arrays and objects may nest in JSON read here. The parser recurses once per level
 * (its stack gives out between 2,000 and 5,000), and so do the writer and every walker after
 * it; no workflow's params or outputs come near.
 */
export const MAX_JSON_DEPTH = 1000;

/** JSON nested deeper than MAX_JSON_DEPTH: refused before it is parsed. */
export class JsonTooDeepError extends Error {
  override name = 'JsonTooDeepError';
  constructor(readonly maxDepth: number) {
    super(`JSON nested deeper than ${maxDepth} levels (arrays and objects)`);
  }
}

/**
 * Throws JsonTooDeepError when `text` nests arrays and objects deeper than `max`. One pass over
 * the text, no recursion; brackets inside strings do not count. Bad JSON is left to the parser.
 */
export function checkJsonDepth(text: string, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) throw new JsonTooDeepError(max);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
}

/** Parses JSON text, keeping numbers exact. Throws SyntaxError on bad JSON, JsonTooDeepError past MAX_JSON_DEPTH. */
export function parseJson(text: string): unknown {
  checkJsonDepth(text);
  return parse(text, null, parseNumber);
}

/** Writes JSON, numbers as they were read; `indent` as for JSON.stringify. */
export function stringifyJson(value: unknown, indent?: number): string {
  const out = stringify(value, undefined, indent);
  if (out === undefined) throw new TypeError('value cannot be written as JSON');
  return out;
}

/** True for a number kept as its text (walkers treat it as a leaf, never as an object). */
export function isJsonNumber(value: unknown): value is JsonNumber {
  return isLosslessNumber(value);
}

/** A plain object (not an array, not null, not a kept number). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !isLosslessNumber(value);
}
