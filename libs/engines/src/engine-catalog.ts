import { EngineDefinition } from './engine-definition';
import { CWLTOOL } from './engines/cwltool/cwltool-engine';
import { SNAKEMAKE } from './engines/snakemake/snakemake-engine';
import { TOIL_CWL } from './engines/toil-cwl/toil-cwl-engine';
import { TOIL_WDL } from './engines/toil-wdl/toil-wdl-engine';
import { LanguageDefinition } from './language-definition';
import { CWL } from './languages/cwl/cwl-language';
import { SMK } from './languages/smk/smk-language';
import { WDL } from './languages/wdl/wdl-language';

/**
 * The workflow languages this server accepts, by workflow_type (upper case). Adding one: its
 * folder under languages/, and a row here.
 */
export const LANGUAGES = { CWL, SMK, WDL } as const satisfies Record<string, LanguageDefinition>;

export type WorkflowType = keyof typeof LANGUAGES;

/**
 * The engines this server knows, by name: the one table the API (submit checks,
 * service-info), the workers (detection at start-up, launch) and the docs read. Adding one:
 * its folder under engines/, and a row here; an engine missing a piece does not compile.
 */
export const ENGINES = { cwltool: CWLTOOL, snakemake: SNAKEMAKE, 'toil-cwl': TOIL_CWL, 'toil-wdl': TOIL_WDL } as const satisfies Record<string, EngineDefinition>;

export type EngineName = keyof typeof ENGINES;

export const ENGINE_NAMES = Object.keys(ENGINES) as EngineName[];

/** The built-in default engine of each workflow type (WES_DEFAULT_ENGINES overrides it). */
export const DEFAULT_ENGINE_FOR_TYPE = { CWL: 'cwltool', SMK: 'snakemake', WDL: 'toil-wdl' } as const satisfies Record<WorkflowType, EngineName>;

export function isEngineName(name: string): name is EngineName {
  return Object.prototype.hasOwnProperty.call(ENGINES, name);
}

export function isWorkflowType(type: string): type is WorkflowType {
  return Object.prototype.hasOwnProperty.call(LANGUAGES, type);
}

/** The engine named `name`, or undefined (a client's name: never an inherited property). */
export function engineNamed(name: string): EngineDefinition | undefined {
  return isEngineName(name) ? ENGINES[name] : undefined;
}

/**
 * The workflow type a client's workflow_type names, case-insensitively, by its name or an alias
 * of its language (`Snakemake` → `SMK`); undefined when none.
 */
export function workflowTypeNamed(given: string): WorkflowType | undefined {
  const name = given.trim().toUpperCase();
  if (isWorkflowType(name)) return name;
  return (Object.keys(LANGUAGES) as WorkflowType[]).find((t) => (LANGUAGES[t] as LanguageDefinition).aliases?.includes(name));
}

/** The language of a workflow_type (upper case), or undefined. */
export function languageOf(type: string): LanguageDefinition | undefined {
  return isWorkflowType(type) ? LANGUAGES[type] : undefined;
}

/** Workflow types and their versions that the given engines run (all engines of the table by default). */
export function supportedWorkflowTypes(engines: readonly string[] = ENGINE_NAMES): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const name of engines) {
    if (!isEngineName(name)) continue;
    const e: EngineDefinition = ENGINES[name];
    for (const [type, versions] of Object.entries(e.workflowTypes)) {
      out[type] ??= new Set();
      versions.forEach((v) => out[type].add(v));
    }
  }
  return Object.fromEntries(Object.entries(out).map(([t, v]) => [t, [...v]]));
}
