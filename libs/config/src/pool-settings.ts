import { InvalidSettingError } from './invalid-setting-error';
import { listSetting } from './list-setting';
import type { PoolSetting, WesSettings } from './settings';

/** A pool's name: part of its BullMQ queue name and of WES_POOL_<NAME>_* variables. */
export const POOL_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** A pool's fields, the variable suffix of each (WES_POOL_<NAME>_<SUFFIX>), and how its text is read. */
const POOL_FIELDS = {
  engines: { suffix: 'ENGINES', kind: 'list' },
  concurrency: { suffix: 'CONCURRENCY', kind: 'int' },
  jobLockMs: { suffix: 'JOB_LOCK_MS', kind: 'int' },
  maxAttempts: { suffix: 'MAX_ATTEMPTS', kind: 'int' },
  // A map of maps: from the YAML file only (no variable).
  engineOptions: { suffix: null, kind: 'yaml' },
} as const satisfies { [K in keyof PoolSetting]-?: { suffix: string | null; kind: 'list' | 'int' | 'yaml' } };

type PoolField = keyof typeof POOL_FIELDS;

const POOL_ENV = new RegExp(`^WES_POOL_([A-Z0-9_]+?)_(${Object.values(POOL_FIELDS).flatMap((f) => (f.suffix ? [f.suffix] : [])).join('|')})$`);

/** Smallest and largest value of each whole-number field. */
const INT_RANGE: Record<Exclude<PoolField, 'engines' | 'engineOptions'>, [number, number]> = {
  concurrency: [1, 256],
  jobLockMs: [1000, Number.MAX_SAFE_INTEGER],
  maxAttempts: [1, 100],
};

/**
 * Adds the pools of WES_POOL_<NAME>_<FIELD> variables to settings.pools (a field of the
 * environment wins over the same field in the file). `origins` gets where each pool came from.
 */
export function readPoolVariables(settings: WesSettings, env: NodeJS.ProcessEnv, origins: Map<string, string>): void {
  if (settings.pools === null || typeof settings.pools !== 'object' || Array.isArray(settings.pools)) {
    throw new InvalidSettingError(`invalid setting ${origins.get('pools') ?? 'pools'}: must be a mapping of pool names to pools`);
  }
  const pools: Record<string, Record<string, unknown>> = { ...(settings.pools as unknown as Record<string, Record<string, unknown>>) };
  for (const [name, text] of Object.entries(env)) {
    const m = POOL_ENV.exec(name);
    if (!m || text === undefined) continue;
    const pool = m[1].toLowerCase().replace(/_/g, '-');
    const field = (Object.keys(POOL_FIELDS) as PoolField[]).find((f) => POOL_FIELDS[f].suffix === m[2])!;
    let value: unknown = text;
    if (POOL_FIELDS[field].kind === 'list') value = listSetting(text);
    else if (/^\d+$/.test(text.trim())) value = Number(text);
    const existing = pools[pool];
    pools[pool] = { ...(existing && typeof existing === 'object' ? existing : {}), [field]: value };
    origins.set(`pools.${pool}.${field}`, name);
  }
  settings.pools = pools as unknown as Record<string, PoolSetting>;
}

/**
 * Checks the shape of every pool: a plain name, a non-empty list of engine names, a
 * concurrency, and in range jobLockMs and maxAttempts when given. The engine names are checked
 * against the engine table by the pool table, which libs/config does not know.
 */
export function checkPoolSettings(settings: WesSettings, origins: Map<string, string>): void {
  for (const [name, pool] of Object.entries(settings.pools)) {
    const where = (field?: string) =>
      `invalid setting ${(field && origins.get(`pools.${name}.${field}`)) ?? `${origins.get('pools') ?? 'pools'}: pools.${name}${field ? `.${field}` : ''}`}`;
    if (!POOL_NAME.test(name)) throw new InvalidSettingError(`${where()}: a pool name is 1 to 40 of a-z, 0-9 and - (starting with a letter or digit)`);
    if (!pool || typeof pool !== 'object' || Array.isArray(pool)) {
      throw new InvalidSettingError(`${where()}: must be a mapping with engines and concurrency (and optionally jobLockMs, maxAttempts)`);
    }
    const p = pool as unknown as Record<string, unknown>;
    const unknown = Object.keys(p).find((k) => !(k in POOL_FIELDS));
    if (unknown) throw new InvalidSettingError(`${where()}: unknown field "${unknown}" (known: ${Object.keys(POOL_FIELDS).join(', ')})`);
    if (p.engines === undefined) throw new InvalidSettingError(`${where()}: engines is missing (the engines whose runs the pool takes, e.g. [cwltool])`);
    if (!Array.isArray(p.engines) || p.engines.length === 0 || p.engines.some((e) => typeof e !== 'string' || e.trim() === '')) {
      throw new InvalidSettingError(`${where('engines')}=${JSON.stringify(p.engines)}: must be a non-empty list of engine names`);
    }
    if (p.concurrency === undefined) throw new InvalidSettingError(`${where()}: concurrency is missing (the runs one worker takes at once from the pool)`);
    const options = p.engineOptions;
    const isMap = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v);
    if (options !== undefined && (!isMap(options) || Object.values(options as object).some((o) => !isMap(o) || Object.values(o as object).some((v) => typeof v !== 'string')))) {
      throw new InvalidSettingError(`${where('engineOptions')}: must map engine names to maps of option names to strings (e.g. {snakemake: {cores: "8"}})`);
    }
    for (const [field, [min, max]] of Object.entries(INT_RANGE)) {
      const v = p[field];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) {
        throw new InvalidSettingError(`${where(field)}=${JSON.stringify(v)}: must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`);
      }
    }
  }
}
