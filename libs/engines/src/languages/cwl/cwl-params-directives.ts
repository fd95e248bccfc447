/**
 * Keys of `workflow_params` that change the workflow rather than feed it. cwltool reads the
 * input object as a CWL document: `cwl:requirements` (or any namespaced spelling of it, e.g.
 * under `$namespaces`, or the full URI) adds requirements to the workflow, `cwltool:overrides`
 * rewrites any tool's (an EnvVarRequirement with LD_PRELOAD, an InitialWorkDir script...), and a
 * top-level `$import` replaces the input object by a file that may hold either. Input names are
 * plain identifiers, so while an allow-list vets the workflow, every top-level key starting
 * with `$` or holding a `:` is refused.
 */
export function cwlWorkflowChangingKeys(params: Record<string, unknown>): string[] {
  return Object.keys(params).filter((key) => key.startsWith('$') || key.includes(':'));
}

/** The rule cwlWorkflowChangingKeys applies, as a refusal states it. */
export const CWL_WORKFLOW_CHANGING_RULE = 'a top-level key of workflow_params may not start with $ or hold a :';
