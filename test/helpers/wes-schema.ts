import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import yaml from 'js-yaml';

/**
 * Validates response bodies against the official GA4GH WES 1.1.0 OpenAPI document (a copy in
 * test/reference/ga4gh-wes, see SOURCE.txt there). Its ServiceInfo extends the service-info
 * Service schema by an absolute URL; the local copy of that document is registered under the
 * very URL, so the $ref resolves without network access.
 */

const REFERENCE_DIR = path.resolve(__dirname, '..', 'reference', 'ga4gh-wes');
export const WES_DOC_ID = 'https://wes.test/workflow_execution_service.openapi.yaml';
export const SERVICE_INFO_DOC_ID = 'https://raw.githubusercontent.com/ga4gh-discovery/ga4gh-service-info/v1.0.0/service-info.yaml';
/** Where the WES paths are mounted on the server. */
export const WES_BASE_PATH = '/ga4gh/wes/v1';

type Json = Record<string, any>;

function loadYaml(file: string): Json {
  return yaml.load(readFileSync(path.join(REFERENCE_DIR, file), 'utf8')) as Json;
}

export const wesDocument: Json = loadYaml('workflow_execution_service.openapi.yaml');
const serviceInfoDocument: Json = loadYaml('service-info.yaml');

function isInt(min: number, max: number) {
  return { type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= min && n <= max };
}

function createAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, validateFormats: true });
  addFormats(ajv, ['uri', 'date-time', 'email', 'date']);
  ajv.addFormat('int32', isInt(-(2 ** 31), 2 ** 31 - 1));
  ajv.addFormat('int64', isInt(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  ajv.addFormat('binary', { type: 'string', validate: () => true });
  ajv.addSchema(wesDocument, WES_DOC_ID);
  ajv.addSchema(serviceInfoDocument, SERVICE_INFO_DOC_ID);
  return ajv;
}

const ajv = createAjv();
const compiled = new Map<string, ValidateFunction>();

function pointerSegment(s: string): string {
  return encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'));
}

function validatorFor(pointer: string[]): ValidateFunction {
  const ref = `${WES_DOC_ID}#/${pointer.map(pointerSegment).join('/')}`;
  let v = compiled.get(ref);
  if (!v) {
    v = ajv.compile({ $ref: ref });
    compiled.set(ref, v);
  }
  return v;
}

/** The validator of one component schema of the WES document, e.g. 'RunLog'. */
export function componentValidator(name: string): ValidateFunction {
  if (!wesDocument.components?.schemas?.[name]) throw new Error(`the WES document has no schema ${name}`);
  return validatorFor(['components', 'schemas', name]);
}

export class SchemaViolationError extends Error {
  override name = 'SchemaViolationError';
  constructor(
    readonly where: string,
    readonly errors: ErrorObject[],
    readonly body: unknown,
  ) {
    super(
      `${where}: the body does not match the WES 1.1.0 schema:\n` +
        errors.map((e) => `  ${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`).join('\n') +
        `\nbody: ${JSON.stringify(body).slice(0, 2000)}`,
    );
  }
}

function check(v: ValidateFunction, where: string, body: unknown): void {
  if (!v(body)) throw new SchemaViolationError(where, v.errors ?? [], body);
}

/**
 * Checks a response body against the schema the WES document gives for that operation and
 * status. Throws when the operation is not in the document, when the document lists no such
 * status for it (an undocumented status is itself a deviation), or when the body does not
 * validate (the message lists every AJV error).
 *
 * @param method HTTP method, any case
 * @param pathTemplate the document's path, e.g. '/runs/{run_id}/status' (without /ga4gh/wes/v1)
 */
export function expectValid(method: string, pathTemplate: string, status: number, body: unknown): void {
  const m = method.toLowerCase();
  const op = wesDocument.paths?.[pathTemplate]?.[m];
  if (!op) throw new Error(`the WES document has no operation ${method.toUpperCase()} ${pathTemplate}`);
  const where = `${method.toUpperCase()} ${pathTemplate} → ${status}`;
  const key = String(status) in op.responses ? String(status) : 'default' in op.responses ? 'default' : undefined;
  if (!key) {
    throw new Error(`${where}: status ${status} is not documented for ${op.operationId} (documented: ${Object.keys(op.responses).join(', ')}); body: ${JSON.stringify(body).slice(0, 500)}`);
  }
  const content = op.responses[key].content;
  if (!content?.['application/json']?.schema) return; // no body schema documented
  check(validatorFor(['paths', pathTemplate, m, 'responses', key, 'content', 'application/json', 'schema']), where, body);
}

/** Validates a body against one component schema (e.g. ErrorResponse for non-WES endpoints). */
export function expectValidComponent(name: string, body: unknown, where = name): void {
  check(componentValidator(name), where, body);
}

const templates = Object.keys(wesDocument.paths ?? {}).map((template) => {
  const names: string[] = [];
  const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, n: string) => {
    names.push(n);
    return '([^/]+)';
  });
  return { template, re: new RegExp(`^${source}$`), literalLength: template.replace(/\{[^}]+\}/g, '').length };
});

/**
 * The document's path template matching a concrete path (with or without /ga4gh/wes/v1 and a
 * query string), or undefined for paths the WES document does not define (logs, outputs...).
 * When several match, the one with the most literal characters wins (/runs/x/status beats /runs/{id}).
 */
export function matchTemplate(method: string, urlPath: string): string | undefined {
  let p = urlPath.split('?')[0];
  if (p.startsWith(WES_BASE_PATH)) p = p.slice(WES_BASE_PATH.length);
  const m = method.toLowerCase();
  const hits = templates.filter((t) => t.re.test(p) && wesDocument.paths[t.template][m]);
  hits.sort((a, b) => b.literalLength - a.literalLength);
  return hits[0]?.template;
}
