import { listSetting as listOf } from '../../config/src/list-setting';
import { DEFAULT_ENGINE_FOR_TYPE, ENGINE_NAMES, EngineName, ENGINES, isEngineName, isWorkflowType, LANGUAGES, WorkflowType, workflowTypeNamed } from './engine-catalog';
import { EngineDefinition, EngineOptions } from './engine-definition';

/** The engine settings (WesSettings' enginePaths, engines, defaultEngines), read by name here. */
export interface EngineSettings {
  enginePaths: Readonly<Record<string, string>>;
  engineOptions: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Comma-separated engine names; empty: every engine whose executable is found. */
  engines: string;
  /** Where engines run (WES_SANDBOX): engines that need the sandbox are left out without it. Absent: bwrap. */
  sandbox?: 'bwrap' | 'none';
  defaultEngines: Readonly<Record<string, string>>;
}

/** An engine setting names an engine or workflow type the table does not hold. */
export class InvalidEngineSettingError extends Error {
  override name = 'InvalidEngineSettingError';
}

const known = () => ENGINE_NAMES.join(', ');

/** Throws InvalidEngineSettingError for an engine name of enginePaths or WES_ENGINES that is not in the table. */
export function checkEngineNames(settings: EngineSettings): void {
  for (const name of Object.keys(settings.enginePaths)) {
    if (!isEngineName(name)) throw new InvalidEngineSettingError(`invalid setting enginePaths (WES_ENGINE_<NAME>_PATH): no engine "${name}" (known: ${known()})`);
  }
  for (const [name, options] of Object.entries(settings.engineOptions)) {
    if (!isEngineName(name)) throw new InvalidEngineSettingError(`invalid setting engineOptions: no engine "${name}" (known: ${known()})`);
    if (!options || typeof options !== 'object' || Array.isArray(options) || Object.values(options).some((v) => typeof v !== 'string')) {
      throw new InvalidEngineSettingError(`invalid setting engineOptions.${name}: must map option names to strings`);
    }
    const engine: EngineDefinition = ENGINES[name];
    const why = engine.checkOptions?.(options);
    if (why) throw new InvalidEngineSettingError(`invalid setting engineOptions.${name}: ${why}`);
  }
  for (const name of listOf(settings.engines)) {
    if (!isEngineName(name)) throw new InvalidEngineSettingError(`invalid setting WES_ENGINES: no engine "${name}" (known: ${known()})`);
  }
}

/**
 * The engine of each workflow type when a run names none: the built-in default, unless
 * defaultEngines (WES_DEFAULT_ENGINES) names another that runs the type. Throws
 * InvalidEngineSettingError for an unknown type or engine, or an engine that does not run it.
 */
export function defaultEngines(settings: Pick<EngineSettings, 'defaultEngines'>): Record<WorkflowType, EngineName> {
  const out: Record<WorkflowType, EngineName> = { ...DEFAULT_ENGINE_FOR_TYPE };
  for (const [given, name] of Object.entries(settings.defaultEngines)) {
    const type = workflowTypeNamed(given) ?? given.trim().toUpperCase();
    if (!isWorkflowType(type)) {
      throw new InvalidEngineSettingError(`invalid setting WES_DEFAULT_ENGINES: no workflow type "${given}" (known: ${Object.keys(LANGUAGES).join(', ')})`);
    }
    if (!isEngineName(name)) throw new InvalidEngineSettingError(`invalid setting WES_DEFAULT_ENGINES: no engine "${name}" (known: ${known()})`);
    const engine: EngineDefinition = ENGINES[name];
    if (!engine.workflowTypes[type]) throw new InvalidEngineSettingError(`invalid setting WES_DEFAULT_ENGINES: ${name} does not run ${type}`);
    out[type] = name;
  }
  return out;
}

/** One engine a worker is to run, and whether it must (named by a setting) or may be left out (not found). */
export interface EngineToRun {
  name: EngineName;
  engine: EngineDefinition;
  /** Its executable: its enginePaths entry, else its default name on PATH. */
  executable: string;
  /** Where the executable came from, for a start-up error (`WES_ENGINE_CWLTOOL_PATH=/x`, or the default). */
  setting: string;
  /** The variable that names its executable (`WES_ENGINE_CWLTOOL_PATH`). */
  variable: string;
  /** Named by WES_ENGINES or enginePaths: a worker that cannot run it refuses to start. */
  required: boolean;
  /** Why this worker cannot run it whatever its executable (it needs the sandbox, which is off). */
  leftOut?: string;
}

/**
 * The engines a worker is to run, in the table's order (checks the names first). An engine that
 * needs the sandbox is `leftOut` under WES_SANDBOX=none; one a setting names then is an
 * InvalidEngineSettingError (the worker refuses to start rather than run it unaccounted for).
 */
export function enginesToRun(settings: EngineSettings): EngineToRun[] {
  checkEngineNames(settings);
  const listed = listOf(settings.engines);
  const names = listed.length ? ENGINE_NAMES.filter((n) => listed.includes(n)) : ENGINE_NAMES;
  return names.map((name) => {
    const engine: EngineDefinition = ENGINES[name];
    const path = settings.enginePaths[name];
    const variable = `WES_ENGINE_${name.toUpperCase().replace(/-/g, '_')}_PATH`;
    const required = listed.length > 0 || path !== undefined;
    const leftOut = settings.sandbox === 'none' && engine.sandboxOnly ? `${name} runs only in the sandbox (WES_SANDBOX=bwrap): ${engine.sandboxOnly}` : undefined;
    if (leftOut && required) throw new InvalidEngineSettingError(`invalid setting WES_SANDBOX=none: ${leftOut}; remove it from WES_ENGINES and enginePaths, or run the sandbox`);
    return {
      name,
      engine,
      executable: path ?? engine.executable.default,
      setting: path === undefined ? `${variable} unset: ${engine.executable.default} on PATH` : `${variable}=${path}`,
      variable,
      required,
      ...(leftOut ? { leftOut } : {}),
    };
  });
}

/** An engine's options on this worker (engineOptions), empty when none are set. */
export function engineOptions(engine: EngineDefinition, settings: Pick<EngineSettings, 'engineOptions'>): EngineOptions {
  return settings.engineOptions[engine.name] ?? {};
}

/** The executable of an engine on this worker: its enginePaths entry, else its default. */
export function engineExecutable(engine: EngineDefinition, settings: Pick<EngineSettings, 'enginePaths'>): string {
  return settings.enginePaths[engine.name] ?? engine.executable.default;
}
