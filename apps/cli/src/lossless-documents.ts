import yaml from 'js-yaml';
import { isLosslessNumber, isNumber, LosslessNumber } from 'lossless-json';
import { isJsonNumber, parseJson } from '../../../libs/json/src';

/**
 * Job documents, YAML or JSON, read without losing a digit: as libs/json does for JSON, a
 * number a double does not reproduce exactly is kept as its text (a LosslessNumber), so it is
 * written back (stringifyJson) as it was read.
 */

/** A number's JSON text as a plain number when a double reproduces it, else kept as text. */
function jsonNumber(text: string): number | LosslessNumber {
  return String(Number(text)) === text ? Number(text) : new LosslessNumber(text);
}

const YAML_INT = /^[-+]?(?:0b[01]+|0o[0-7]+|0x[0-9a-fA-F]+|[0-9]+)$/;
const YAML_FLOAT = /^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;
const YAML_INF_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/** A YAML integer (decimal, 0b, 0o, 0x; any size), exact. */
const losslessInt = new yaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && YAML_INT.test(data),
  construct: (data: string) => {
    const negative = data.startsWith('-');
    const digits = data.replace(/^[-+]/, '');
    // BigInt reads 0b/0o/0x itself and drops leading zeros of decimals.
    const magnitude = BigInt(digits).toString();
    return jsonNumber(negative && magnitude !== '0' ? `-${magnitude}` : magnitude);
  },
  predicate: isLosslessNumber,
});

/**
 * A YAML float, exact, normalised to JSON's number grammar (`.5` → `0.5`, `1.` → `1`); `.inf`
 * and `.nan`, which JSON cannot hold, stay plain numbers.
 */
const losslessFloat = new yaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && (YAML_FLOAT.test(data) || YAML_INF_NAN.test(data)),
  construct: (data: string) => {
    if (YAML_INF_NAN.test(data)) return /nan/i.test(data) ? NaN : data.startsWith('-') ? -Infinity : Infinity;
    const negative = data.startsWith('-');
    const text = data
      .replace(/^[-+]/, '')
      .replace(/^\./, '0.')
      .replace(/\.(?=[eE]|$)/, '')
      .replace(/^0+(?=\d)/, '');
    const json = (negative ? '-' : '') + text;
    return isNumber(json) ? jsonNumber(json) : Number(data);
  },
  predicate: isLosslessNumber,
});

/** YAML's core schema, with integers and floats read losslessly. */
const LOSSLESS_CORE_SCHEMA = yaml.CORE_SCHEMA.extend({ implicit: [losslessInt, losslessFloat] });

/** Parses YAML text with the core schema, numbers exact. */
export function parseYaml(text: string, filename?: string): unknown {
  return yaml.load(text, { schema: LOSSLESS_CORE_SCHEMA, filename });
}

/** Parses a job document: JSON when it is JSON, YAML otherwise; numbers exact. */
export function parseDocument(text: string, filename?: string): unknown {
  if (/^\s*[{[]/.test(text)) {
    try {
      return parseJson(text);
    } catch {
      // YAML flow style looks like JSON at first sight: let the YAML parser have it.
    }
  }
  return parseYaml(text, filename);
}

/** The decimal text of a number read by these parsers or libs/json. */
export function numberText(value: unknown): string | undefined {
  if (isJsonNumber(value)) return value.value;
  if (typeof value === 'number') return String(value);
  return undefined;
}
