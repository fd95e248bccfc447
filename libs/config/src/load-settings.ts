import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { validateSync } from 'class-validator';
import yaml from 'js-yaml';
import { checkAuthUsers, checkOidcSettings } from './auth-settings';
import { InvalidSettingError } from './invalid-setting-error';
import { listSetting } from './list-setting';
import { checkPoolSettings, readPoolVariables } from './pool-settings';
import { SETTING_SOURCES, SettingKey, WesSettings } from './settings';
import { checkWorkflowAllowList } from './workflow-allow-list-settings';

export { InvalidSettingError, listSetting };

const CONFIG_FILE_ENV = 'WES_CONFIG_FILE';

/** Optional settings that an empty variable leaves unset. */
const OPTIONAL_WHEN_EMPTY = new Set<SettingKey>([
  'publicUrl',
  'cancelSignal',
  's3Bucket',
  's3Endpoint',
  's3AccessKeyId',
  's3SecretAccessKey',
  's3InputEndpoint',
  's3InputRegion',
  's3InputAccessKeyId',
  's3InputSecretAccessKey',
  'linkSigningKey',
  'redisSentinelPassword',
]);

/** Settings whose value an error message must not repeat. */
const SECRET_SETTINGS = new Set<SettingKey>(['s3SecretAccessKey', 's3InputSecretAccessKey', 'linkSigningKey', 'redisSentinelPassword']);

function parseText(key: SettingKey, text: string, origin: string): unknown {
  const { kind } = SETTING_SOURCES[key];
  if (kind === 'int') {
    if (!/^-?\d+$/.test(text.trim())) {
      throw new InvalidSettingError(`${origin}: "${text}" is not a whole number`);
    }
    return Number(text);
  }
  if (kind === 'number') {
    if (!/^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/.test(text)) throw new InvalidSettingError(`${origin}: "${text}" is not a number`);
    return Number(text);
  }
  if (kind === 'bool') {
    const t = text.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(t)) return false;
    throw new InvalidSettingError(`${origin}: "${text}" is not true or false`);
  }
  if (kind === 'map') {
    const out: Record<string, string> = {};
    for (const item of listSetting(text)) {
      const eq = item.indexOf('=');
      if (eq <= 0 || eq === item.length - 1) throw new InvalidSettingError(`${origin}: "${item}" is not KEY=value (e.g. CWL=cwltool)`);
      out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
    }
    return out;
  }
  return text;
}

/** An engine's executable variable: WES_ENGINE_<NAME>_PATH, the name upper case with `-` as `_`. */
const ENGINE_PATH_ENV = /^WES_ENGINE_([A-Z0-9_]+)_PATH$/;

/** Deprecated names of an engine's executable setting (variable, YAML key), kept working. */
const DEPRECATED_ENGINE_PATHS = [{ env: 'WES_CWLTOOL_PATH', yaml: 'cwltoolPath', engine: 'cwltool' }] as const;

/**
 * Reads the engine executables of the file's deprecated keys and of the environment into
 * enginePaths: the file first, then WES_CWLTOOL_PATH (deprecated), then WES_ENGINE_<NAME>_PATH.
 */
function readEnginePaths(settings: WesSettings, fromFile: Record<string, unknown>, env: NodeJS.ProcessEnv, fileName: string | undefined): void {
  const paths: Record<string, unknown> = { ...(settings.enginePaths as Record<string, unknown>) };
  const origin = new Map<string, string>(Object.keys(paths).map((engine) => [engine, `${fileName}: enginePaths.${engine}`]));
  const set = (engine: string, value: unknown, from: string) => {
    paths[engine] = value;
    origin.set(engine, from);
  };
  for (const old of DEPRECATED_ENGINE_PATHS) {
    if (fromFile[old.yaml] !== undefined && paths[old.engine] === undefined) set(old.engine, fromFile[old.yaml], `${fileName}: ${old.yaml}`);
  }
  for (const old of DEPRECATED_ENGINE_PATHS) if (env[old.env] !== undefined) set(old.engine, env[old.env], old.env);
  for (const [name, value] of Object.entries(env)) {
    const m = ENGINE_PATH_ENV.exec(name);
    if (m && value !== undefined) set(m[1].toLowerCase().replace(/_/g, '-'), value, name);
  }
  for (const [engine, file] of Object.entries(paths)) {
    if (typeof file !== 'string' || file.trim() === '') {
      throw new InvalidSettingError(`invalid setting ${origin.get(engine)}=${JSON.stringify(file)}: the executable of ${engine} must be a non-empty string`);
    }
  }
  settings.enginePaths = paths as Record<string, string>;
}

function readFile(path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = yaml.load(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidSettingError(`${CONFIG_FILE_ENV}=${path}: cannot be read as YAML: ${(err as Error).message}`);
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new InvalidSettingError(`${CONFIG_FILE_ENV}=${path}: must hold a mapping of setting names to values`);
  }
  const known = new Set<string>([...Object.keys(SETTING_SOURCES), ...DEPRECATED_ENGINE_PATHS.map((d) => d.yaml)]);
  for (const key of Object.keys(doc)) {
    if (!known.has(key)) {
      throw new InvalidSettingError(`${CONFIG_FILE_ENV}=${path}: unknown setting "${key}" (known: ${[...known].join(', ')})`);
    }
  }
  return doc as Record<string, unknown>;
}

/**
 * Reads the settings once at start-up: defaults, then the YAML file named by WES_CONFIG_FILE,
 * then the environment. Throws InvalidSettingError naming the first bad setting.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): WesSettings {
  const settings = new WesSettings();
  const origins = new Map<string, string>();
  const file = env[CONFIG_FILE_ENV];
  const fromFile = file ? readFile(file) : {};
  if (file) {
    for (const [key, value] of Object.entries(fromFile)) {
      if (DEPRECATED_ENGINE_PATHS.some((d) => d.yaml === key)) continue;
      const k = key as SettingKey;
      const origin = `${file}: ${key}`;
      const kind = SETTING_SOURCES[k].kind;
      (settings as unknown as Record<string, unknown>)[k] =
        typeof value === 'string' && kind !== 'string' && kind !== 'yaml' ? parseText(k, value, origin) : value;
      origins.set(k, origin);
    }
  }
  for (const key of Object.keys(SETTING_SOURCES) as SettingKey[]) {
    const name = SETTING_SOURCES[key].env;
    if (name === null) continue;
    const text = env[name];
    if (text === undefined || (text === '' && OPTIONAL_WHEN_EMPTY.has(key))) continue;
    (settings as unknown as Record<string, unknown>)[key] = parseText(key, text, name);
    origins.set(key, name);
  }
  if (settings.enginePaths === null || typeof settings.enginePaths !== 'object' || Array.isArray(settings.enginePaths)) {
    throw new InvalidSettingError(`invalid setting ${origins.get('enginePaths') ?? 'enginePaths'}: must be a mapping of engine names to executables`);
  }
  readEnginePaths(settings, fromFile, env, file);
  readPoolVariables(settings, env, origins);
  const errors = validateSync(settings, { forbidUnknownValues: false });
  if (errors.length > 0) {
    const e = errors[0];
    const origin = origins.get(e.property) ?? `${SETTING_SOURCES[e.property as SettingKey]?.env ?? e.property} (default)`;
    const why = Object.values(e.constraints ?? {}).join('; ');
    const shown = SECRET_SETTINGS.has(e.property as SettingKey) ? '(secret, not shown)' : JSON.stringify(e.value);
    throw new InvalidSettingError(`invalid setting ${origin}=${shown}: ${why}`);
  }
  if (settings.outputUrls === 'presigned' && settings.objectStore !== 's3') {
    throw new InvalidSettingError('invalid setting WES_OUTPUT_URLS=presigned: needs WES_OBJECT_STORE=s3');
  }
  if (settings.objectStore === 's3' && !settings.s3Bucket) {
    throw new InvalidSettingError('invalid setting WES_OBJECT_STORE=s3: WES_S3_BUCKET must name the bucket');
  }
  if (!settings.s3AccessKeyId !== !settings.s3SecretAccessKey) {
    throw new InvalidSettingError('invalid settings: WES_S3_ACCESS_KEY_ID and WES_S3_SECRET_ACCESS_KEY go together');
  }
  if (!settings.s3InputAccessKeyId !== !settings.s3InputSecretAccessKey) {
    throw new InvalidSettingError('invalid settings: WES_S3_INPUT_ACCESS_KEY_ID and WES_S3_INPUT_SECRET_ACCESS_KEY go together');
  }
  // Two WAITs in line on the shared connection must not outlast a worker's heartbeat record.
  if (settings.redisMinReplicasAck > 0 && 2 * settings.redisReplicaAckTimeoutMs >= 3 * settings.heartbeatMs) {
    throw new InvalidSettingError(
      `invalid setting WES_REDIS_REPLICA_ACK_TIMEOUT_MS=${settings.redisReplicaAckTimeoutMs}: must be under 1.5 × WES_HEARTBEAT_MS (${settings.heartbeatMs}), or workers look lost while replicas are away`,
    );
  }
  if (settings.defaultPageSize > settings.maxPageSize) {
    throw new InvalidSettingError(
      `invalid setting WES_DEFAULT_PAGE_SIZE=${settings.defaultPageSize}: larger than WES_MAX_PAGE_SIZE=${settings.maxPageSize}`,
    );
  }
  checkPoolSettings(settings, origins);
  checkAuthUsers(settings, origins.get('authUsers') ?? 'authUsers');
  checkOidcSettings(settings);
  checkWorkflowAllowList(settings, origins.get('workflowAllowList') ?? 'workflowAllowList');
  return settings;
}
