import yaml from 'js-yaml';
import { isLosslessNumber, isNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/**
 * Job objects and outputs pass through the client without losing a digit: every number is read
 * as a LosslessNumber (its decimal text), never as a double, and printed back as that text.
 */

/** Parses JSON text; every number becomes a LosslessNumber. */
export function parseJson(text: string): unknown {
  return parse(text);
}

/** JSON text of a value holding LosslessNumbers (2-space indent unless `indent` says otherwise). */
export function toJson(value: unknown, indent: number | undefined = 2): string {
  return stringify(value, null, indent) ?? 'null';
}

const YAML_INT = /^[-+]?(?:0b[01]+|0o[0-7]+|0x[0-9a-fA-F]+|[0-9]+)$/;
const YAML_FLOAT = /^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;
const YAML_INF_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/** A YAML integer (decimal, 0b, 0o, 0x; any size) as a LosslessNumber. */
const losslessInt = new yaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && YAML_INT.test(data),
  construct: (data: string) => {
    const negative = data.startsWith('-');
    const digits = data.replace(/^[-+]/, '');
    // BigInt reads 0b/0o/0x itself and drops leading zeros of decimals.
    const magnitude = BigInt(digits).toString();
    return new LosslessNumber(negative && magnitude !== '0' ? `-${magnitude}` : magnitude);
  },
  predicate: isLosslessNumber,
});

/**
 * A YAML float as a LosslessNumber, normalised to JSON's number grammar (`.5` → `0.5`, `1.` →
 * `1`); `.inf` and `.nan`, which JSON cannot hold, stay plain numbers.
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
    return isNumber(json) ? new LosslessNumber(json) : Number(data);
  },
  predicate: isLosslessNumber,
});

/** YAML's core schema, with integers and floats read losslessly. */
const LOSSLESS_CORE_SCHEMA = yaml.CORE_SCHEMA.extend({ implicit: [losslessInt, losslessFloat] });

/** Parses YAML text with the core schema; every number becomes a LosslessNumber. */
export function parseYaml(text: string, filename?: string): unknown {
  return yaml.load(text, { schema: LOSSLESS_CORE_SCHEMA, filename });
}

/** Parses a job or output document: JSON when it is JSON, YAML otherwise; numbers lossless. */
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

/** A plain object (not an array, not a LosslessNumber). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}

/** The decimal text of a number read by these parsers (or of a plain number). */
export function numberText(value: unknown): string | undefined {
  if (isLosslessNumber(value)) return value.value;
  if (typeof value === 'number') return String(value);
  return undefined;
}
