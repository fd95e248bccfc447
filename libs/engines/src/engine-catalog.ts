import { CWLTOOL } from './cwltool';
import { EngineDefinition } from './engine-definition';

/** Engines this server knows, by name. */
export const ENGINES: Readonly<Record<string, EngineDefinition>> = { cwltool: CWLTOOL };

/** Default engine of each workflow type (upper case). */
export const DEFAULT_ENGINE_FOR_TYPE: Readonly<Record<string, string>> = { CWL: 'cwltool' };

/** Workflow types and their versions, over all known engines. */
export function supportedWorkflowTypes(): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const e of Object.values(ENGINES)) {
    for (const [type, versions] of Object.entries(e.workflowTypes)) {
      out[type] ??= new Set();
      versions.forEach((v) => out[type].add(v));
    }
  }
  return Object.fromEntries(Object.entries(out).map(([t, v]) => [t, [...v]]));
}
