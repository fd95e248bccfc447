import { EngineDefinition } from './engine-definition';
import { CWLTOOL } from './engines/cwltool/cwltool-engine';
import { TOIL_CWL } from './engines/toil-cwl/toil-cwl-engine';
import { TOIL_WDL } from './engines/toil-wdl/toil-wdl-engine';
import { LanguageDefinition } from './language-definition';
import { CWL } from './languages/cwl/cwl-language';
import { WDL } from './languages/wdl/wdl-language';

/**
 * The workflow languages this server accepts, by workflow_type (upper case). Adding one: its
 * folder under languages/, and a row here.
 */
export const LANGUAGES = { CWL, WDL } as const satisfies Record<string, LanguageDefinition>;

export type WorkflowType = keyof typeof LANGUAGES;

/**
 * The engines this server knows, by name: the one table the API (submit checks,
 * service-info), the workers (detection at start-up, launch) and the docs read. Adding one:
 * its folder under engines/, and a row here; an engine missing a piece does not compile.
 */
export const ENGINES = { cwltool: CWLTOOL, 'toil-cwl': TOIL_CWL, 'toil-wdl': TOIL_WDL } as const satisfies Record<string, EngineDefinition>;

export type EngineName = keyof typeof ENGINES;

export const ENGINE_NAMES = Object.keys(ENGINES) as EngineName[];

/** The built-in default engine of each workflow type (WES_DEFAULT_ENGINES overrides it). */
export const DEFAULT_ENGINE_FOR_TYPE = { CWL: 'cwltool', WDL: 'toil-wdl' } as const satisfies Record<WorkflowType, EngineName>;

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

/** The language of a workflow_type (upper case), or undefined. */
export function languageOf(type: string): LanguageDefinition | undefined {
  return isWorkflowType(type) ? LANGUAGES[type] : undefined;
}

/** Workflow types and their versions, over all known engines. */
export function supportedWorkflowTypes(): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const e of Object.values(ENGINES) as EngineDefinition[]) {
    for (const [type, versions] of Object.entries(e.workflowTypes)) {
      out[type] ??= new Set();
      versions.forEach((v) => out[type].add(v));
    }
  }
  return Object.fromEntries(Object.entries(out).map(([t, v]) => [t, [...v]]));
}
