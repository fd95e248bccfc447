import { IsNotEmpty, IsObject, IsOptional, IsString, validateSync } from 'class-validator';
import { JsonTooDeepError, parseJson } from '../../../../libs/json/src';
import { BadRequestError } from '../common/wes-errors';

/** Fields of a WES RunRequest as they arrive (multipart text or JSON). */
export const RUN_REQUEST_FIELDS = [
  'workflow_params',
  'workflow_type',
  'workflow_type_version',
  'tags',
  'workflow_engine_parameters',
  'workflow_engine',
  'workflow_engine_version',
  'workflow_url',
] as const;
export type RunRequestField = (typeof RUN_REQUEST_FIELDS)[number];

const JSON_FIELDS: readonly RunRequestField[] = ['workflow_params', 'tags', 'workflow_engine_parameters'];

/** A RunRequest after its JSON fields are parsed, before the server's own checks. */
export class RunRequestDto {
  @IsOptional()
  @IsObject({ message: 'must be a JSON object' })
  workflow_params?: Record<string, unknown>;

  @IsString({ message: 'is required (e.g. "CWL")' })
  @IsNotEmpty({ message: 'is required (e.g. "CWL")' })
  workflow_type: string;

  @IsString({ message: 'is required (e.g. "v1.2")' })
  @IsNotEmpty({ message: 'is required (e.g. "v1.2")' })
  workflow_type_version: string;

  @IsOptional()
  @IsObject({ message: 'must be a JSON object of string values' })
  tags?: Record<string, unknown>;

  @IsOptional()
  @IsObject({ message: 'must be a JSON object of string values' })
  workflow_engine_parameters?: Record<string, unknown>;

  @IsOptional()
  @IsString({ message: 'must be a string' })
  workflow_engine?: string;

  @IsOptional()
  @IsString({ message: 'must be a string' })
  workflow_engine_version?: string;

  @IsString({ message: 'is required: the workflow document, an attachment name or a URL' })
  @IsNotEmpty({ message: 'is required: the workflow document, an attachment name or a URL' })
  workflow_url: string;
}

function parseJsonField(name: RunRequestField, value: string | object): unknown {
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return undefined;
  try {
    return parseJson(value);
  } catch (err) {
    if (err instanceof JsonTooDeepError) throw new BadRequestError(`${name}: ${err.message}`);
    throw new BadRequestError(`${name}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Builds the DTO from raw fields (strings from multipart, or values from a JSON body) and
 * validates it with class-validator; the first problem becomes a 400 naming the field.
 */
export function parseRunRequest(raw: Partial<Record<RunRequestField, unknown>>): RunRequestDto {
  const dto = new RunRequestDto();
  for (const name of RUN_REQUEST_FIELDS) {
    const value = raw[name];
    if (value === undefined || value === null) continue;
    const parsed = JSON_FIELDS.includes(name) ? parseJsonField(name, value as string | object) : value;
    if (parsed !== undefined) (dto as unknown as Record<string, unknown>)[name] = parsed;
  }
  const errors = validateSync(dto, { forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length > 0) {
    const e = errors[0];
    throw new BadRequestError(`${e.property}: ${Object.values(e.constraints ?? {})[0] ?? 'is invalid'}`);
  }
  return dto;
}

/** Tag and engine parameter values are strings in WES; scalars are accepted and stringified. */
export function stringMap(field: string, value: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value ?? {})) {
    if (v !== null && typeof v === 'object') throw new BadRequestError(`${field}: the value of "${k}" must be a string`);
    out[k] = v === null ? '' : String(v);
  }
  return out;
}
