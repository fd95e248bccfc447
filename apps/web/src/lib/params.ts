import { CORE_SCHEMA, JSON_SCHEMA, load, YAMLException } from 'js-yaml';

export type ParamsFormat = 'json' | 'yaml';

/** What the submit form sends as workflow_params (JSON text), or why it cannot. */
export type ParsedParams = { ok: true; json: string | undefined } | { ok: false; error: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Line and column (1-based) of a character offset in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/** The position V8 names in a JSON.parse error ("... at position 12 ..."), as line and column. */
function jsonErrorPlace(text: string, message: string): string {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return ` (line ${lc[1]}, column ${lc[2]})`;
  const pos = /position (\d+)/.exec(message);
  if (pos) {
    const { line, column } = lineAndColumn(text, Number(pos[1]));
    return ` (line ${line}, column ${column})`;
  }
  // V8 does not always say where; JSON is (nearly) YAML, whose parser does.
  try {
    load(text, { schema: JSON_SCHEMA });
  } catch (err) {
    if (err instanceof YAMLException && err.mark) return ` (line ${err.mark.line + 1}, column ${err.mark.column + 1})`;
  }
  return '';
}

/**
 * Checks the params a user typed before anything is sent: they must be one JSON (or YAML)
 * object. JSON is sent as typed, so its numbers reach the engine exactly (the server reads
 * it losslessly); YAML is converted to JSON (CORE schema: no dates, so nothing is reinterpreted).
 * Empty text sends no params.
 */
export function parseParams(text: string, format: ParamsFormat): ParsedParams {
  if (text.trim() === '') return { ok: true, json: undefined };
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      const message = (err as Error).message;
      return { ok: false, error: `Not valid JSON${jsonErrorPlace(text, message)}: ${message}` };
    }
  } else {
    try {
      value = load(text, { schema: CORE_SCHEMA });
    } catch (err) {
      if (err instanceof YAMLException) {
        const mark = err.mark ? ` (line ${err.mark.line + 1}, column ${err.mark.column + 1})` : '';
        return { ok: false, error: `Not valid YAML${mark}: ${err.reason}` };
      }
      return { ok: false, error: `Not valid YAML: ${(err as Error).message}` };
    }
  }
  if (!isPlainObject(value)) {
    const what = Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`;
    return { ok: false, error: `The params must be an object of input names (e.g. {"text": ...}), not ${what}` };
  }
  return { ok: true, json: format === 'json' ? text : JSON.stringify(value) };
}

export type ParsedTags = { ok: true; tags: Record<string, string> } | { ok: false; error: string };

/** Tags typed one per line as `key=value` (blank lines ignored). */
export function parseTags(text: string): ParsedTags {
  const tags: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { ok: false, error: `Line ${i + 1}: write a tag as key=value` };
    const key = line.slice(0, eq).trim();
    if (key in tags) return { ok: false, error: `Line ${i + 1}: the tag "${key}" is given twice` };
    tags[key] = line.slice(eq + 1).trim();
  }
  return { ok: true, tags };
}

/** The runs list's tag filter, `key:value` (or `key` alone), as GET /runs's tag parameter; undefined when empty. */
export function parseTagFilter(text: string): { key: string; value?: string } | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const colon = t.indexOf(':');
  return colon < 0 ? { key: t } : { key: t.slice(0, colon).trim(), value: t.slice(colon + 1).trim() };
}
