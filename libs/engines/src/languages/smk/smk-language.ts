import { fileURLToPath } from 'node:url';
import { isJsonObject } from '../../../../json/src';
import type { FileReferences, LanguageDefinition } from '../../language-definition';
import { FileObject, forEachFileObject, isFileObject, mapFileObjects, mapFileObjectsSync } from '../cwl/file-objects';
import { isSnakefile, readSnakefile, snakefileReferences } from './smk-documents';

/** The params key that declares a run's outputs: paths relative to the work folder. */
export const WES_OUTPUTS_KEY = 'wes_outputs';

/**
 * An input staged on the worker (its new location a file:// URL) is written into the config as
 * the plain path a Snakefile reads (`input: config["reads"]`); anything else (an output File of
 * the RunLog, a location left as it was) stays the object it is.
 */
function asConfigValue(replaced: unknown): unknown {
  if (isFileObject(replaced) && typeof replaced.location === 'string' && replaced.location.startsWith('file://')) {
    return fileURLToPath(replaced.location);
  }
  return replaced;
}

/**
 * Why a declared output path cannot be one (undefined when it can): a path relative to the work
 * folder, inside it, and not Snakemake's own `.snakemake/` (its locks, logs and sources).
 */
export function whyNotAnOutputPath(p: string): string | undefined {
  if (p === '' || p.includes('\0')) return 'is empty';
  if (p.startsWith('/')) return 'is absolute (outputs are paths relative to the work folder)';
  const segments = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0) return 'is the whole work folder (name the files or folders to keep)';
  if (segments.includes('..')) return 'leaves the work folder';
  if (segments[0] === '.snakemake') return "is inside Snakemake's own .snakemake folder";
  return undefined;
}

/** The declared outputs of a run's params (`wes_outputs`), or a reason they are not a list of usable paths. */
export function declaredOutputs(params: Readonly<Record<string, unknown>>): { paths: string[] } | { error: string } {
  const given = params[WES_OUTPUTS_KEY];
  if (given === undefined) return { paths: [] };
  if (!Array.isArray(given) || given.some((p) => typeof p !== 'string')) {
    return { error: `${WES_OUTPUTS_KEY} must be a list of paths (relative to the work folder)` };
  }
  for (const p of given as string[]) {
    const why = whyNotAnOutputPath(p);
    if (why) return { error: `${WES_OUTPUTS_KEY}: "${p}" ${why}` };
  }
  return { paths: [...new Set(given as string[])] };
}

const files: FileReferences = {
  forEach: (value, visit) => forEachFileObject(value, visit),
  map: (value, replace) => mapFileObjects(value, async (obj: FileObject, where) => asConfigValue(await replace(obj, where))),
  mapSync: (value, replace) => mapFileObjectsSync(value, (obj: FileObject, where) => asConfigValue(replace(obj, where))),
};

/**
 * Snakemake workflows (`SMK`, also `Snakemake`): a Snakefile (Python) and its files as
 * attachments, workflow_params as the config. A File or Directory input is written in the
 * params as CWL writes one (`{"class": "File", "location": "data/a.txt"}`: an attachment's name,
 * or a URL the workers may fetch) and reaches the Snakefile as the absolute path of the staged
 * copy; the outputs kept are those the `wes_outputs` list names (see the engine).
 */
export const SMK = {
  type: 'SMK',
  aliases: ['SNAKEMAKE'],
  // The major version of Snakemake whose Snakefiles the workers run (Debian 12: 7.21).
  versions: ['7'],
  documentDescription: 'a Snakefile',
  // A zip's top-level `Snakefile` (or one `*.smk`); a fetched URL ending with `/` is stored as `Snakefile`.
  mainDocument: { extensions: ['snakefile', '.smk'], names: ['snakefile', 'workflow.smk', 'main.smk'] },
  readDocument: readSnakefile,
  isWorkflowDocument: isSnakefile,
  documentReferences: snakefileReferences,
  // The config feeds the workflow; nothing in it changes the Snakefile.
  workflowChangingKeys: { find: () => [], rule: 'Snakemake params are its config: none change the workflow' },
  files,
  checkParams(params: Readonly<Record<string, unknown>>): string | undefined {
    if (!isJsonObject(params)) return undefined;
    const declared = declaredOutputs(params);
    return 'error' in declared ? declared.error : undefined;
  },
} as const satisfies LanguageDefinition;
