import type { FileObject } from './languages/cwl/file-objects';

/**
 * How a document names another file, as a language's reference walker reports it:
 * - `document`: another document the engine loads and parses with it (CWL `run:`, `$import`;
 *   WDL `import "x.wdl"`; Snakemake `include:`, `module ... snakefile:`);
 * - `include`: a file whose text the engine loads with the document (CWL `$include`);
 * - `file` / `directory`: data the document names (a CWL default's File, a script a tool runs).
 */
export type DocumentReferenceKind = 'document' | 'include' | 'file' | 'directory';

export interface DocumentReference {
  /** As written in the document: relative to it, or an absolute URL. */
  ref: string;
  kind: DocumentReferenceKind;
}

/**
 * The File and Directory references of a language's values (workflow params, an engine's
 * output object), each seen as a CWL-shaped FileObject (`class`, `location`/`path`, `basename`,
 * `secondaryFiles`, `listing`): input staging, submit checks, output collection and the RunLog
 * read values through this and nothing else. Walks are iterative and bounded in depth (they
 * throw CwlValueTooDeepError past MAX_CWL_VALUE_DEPTH).
 */
export interface FileReferences {
  /** Visits every File and Directory of a value, parents before what they hold, in document order. */
  forEach(value: unknown, visit: (obj: FileObject, where: string) => void): void;
  /** Rebuilds a value with every File and Directory replaced (what it holds first), one at a time. */
  map(value: unknown, replace: (obj: FileObject, where: string) => Promise<unknown> | unknown): Promise<unknown>;
  /** `map` for a `replace` that does not wait. */
  mapSync(value: unknown, replace: (obj: FileObject, where: string) => unknown): unknown;
}

/**
 * A workflow language (a `workflow_type`): what the API and the workers must know of its
 * documents and values whatever engine runs it. An engine (EngineDefinition) names the
 * languages it runs; a language names no engine.
 *
 * How the languages to come fill it:
 * - WDL (`WDL`, versions `1.0`, `draft-2`): `readDocument` is a small parse of its own (WDL is
 *   not YAML: the imports, the workflow and task names), `isWorkflowDocument` wants a
 *   `workflow` or `task` block;
 *   `documentReferences` yields each `import "..."` as a `document`; `mainDocument` `.wdl`;
 *   `files` walks the inputs JSON, whose File values are strings: it yields each as
 *   `{class: 'File', location}` and, when the replacement is a FileObject, writes back its
 *   location as a string (types come from the document's input declarations).
 * - Snakemake (`SMK`, also `Snakemake`: the API upper-cases the type, and a language may list
 *   aliases): `readDocument` reads the rule and include lines (a Snakefile is Python),
 *   `isWorkflowDocument` accepts any; `documentReferences`
 *   yields `include:` and `module` snakefiles as `document`s, `script:`/`conda:` files as
 *   `file`s; `mainDocument` `Snakefile` or `.smk`; `files` yields the paths a `wes_inputs` list
 *   of the params names, and for outputs turns the declared output list into Files.
 */
export interface LanguageDefinition {
  /** The workflow_type, upper case (as the API normalises it). */
  type: string;
  /** Other names clients give the type (upper case), e.g. `SNAKEMAKE` for `SMK`: runs record `type`. */
  aliases?: readonly string[];
  /** Versions of the language (workflow_type_version) this server accepts. */
  versions: readonly string[];
  /** What a main document is, for the 400 when workflow_url names none (e.g. `a CWL document (YAML or JSON with cwlVersion or class)`). */
  documentDescription: string;
  /**
   * How to find the main document among the files of a zip named as workflow_url: the top-level
   * files whose name ends with one of `extensions`; among several, the one named as in `names`.
   * `names[0]` is also the name of a fetched document whose URL ends with `/`.
   */
  mainDocument: { extensions: readonly string[]; names: readonly string[] };
  /** Reads a document's text in the language's syntax (CWL: YAML); throws when it cannot. */
  readDocument(text: string): unknown;
  /** Whether what readDocument gave is a workflow or tool of the language (a main document). */
  isWorkflowDocument(doc: unknown): boolean;
  /**
   * The references of a parsed document to other files (relative or absolute, as written),
   * found without recursion, each node once: the one walker behind the import of a URL
   * workflow's documents and the workflow allow-list's judgment of every document.
   */
  documentReferences(doc: unknown): DocumentReference[];
  /**
   * Keys of workflow_params that change the workflow rather than feed it (CWL: `cwl:requirements`,
   * `cwltool:overrides`, `$import`...), refused while an allow-list vets the workflow; `rule`
   * states the refusal. WDL and Snakemake params feed the workflow only: `find` returns [].
   */
  workflowChangingKeys: { find(params: Record<string, unknown>): string[]; rule: string };
  /** The File and Directory references of its values (params and outputs). */
  files: FileReferences;
  /**
   * What is wrong with workflow_params besides their File references (a 400 at submit), or
   * undefined: e.g. Snakemake's `wes_outputs` list, which must name paths in the work folder.
   */
  checkParams?(params: Readonly<Record<string, unknown>>): string | undefined;
}
