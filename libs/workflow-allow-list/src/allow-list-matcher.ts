import type { AllowListEntry, AllowRule } from './allow-list-entries';
import { parseTrsDescriptorUrl } from './trs-url';
import { whyNotUnderPrefix } from './url-prefix';
import type { WorkflowDocument, WorkflowDocumentSet } from './workflow-documents';

export type AllowListDecision = { allowed: true; entry: string } | { allowed: false; reason: string };

/** Most documents named in a refusal (the message stays readable). */
const MAX_NAMED = 20;

const RULE_NAMES: Record<AllowRule['kind'], string> = { urlPrefix: 'URL prefix', sha256: 'sha256', trs: 'TRS id' };

/** The entries a caller may use: those without roles, and those naming one of the caller's. */
export function entriesFor(entries: readonly AllowListEntry[], roles: readonly string[]): AllowListEntry[] {
  return entries.filter((e) => !e.roles || e.roles.some((r) => roles.includes(r)));
}

/** Why the documents were not all fetched from under the prefix, or undefined when they were. */
function urlPrefixMiss(prefix: string, docs: readonly WorkflowDocument[]): string | undefined {
  for (const d of docs) {
    if (!d.source) return `${d.name} was attached, not fetched from a URL`;
    for (const url of new Set([d.source.url, d.source.finalUrl])) {
      const why = whyNotUnderPrefix(url, prefix);
      if (why) return `${url}: ${why}`;
    }
  }
  return undefined;
}

/** Why the documents were not all fetched from the TRS tool's descriptor URLs (one version), or undefined. */
function trsMiss(rule: Extract<AllowRule, { kind: 'trs' }>, docs: readonly WorkflowDocument[]): string | undefined {
  let version: string | undefined;
  for (const d of docs) {
    if (!d.source) return `${d.name} was attached, not fetched from a URL`;
    for (const url of new Set([d.source.url, d.source.finalUrl])) {
      const trs = parseTrsDescriptorUrl(url);
      if (!trs) return `${url} is not a TRS descriptor URL (<server>/ga4gh/trs/v2/tools/{id}/versions/{version}/{type}/descriptor[/{path}])`;
      if (trs.server !== rule.server || trs.toolId !== rule.toolId) return `${url} is tool ${trs.toolId} of ${trs.server}`;
      if (rule.versions && !rule.versions.has(trs.version)) return `${url} is version ${trs.version}`;
      if (version !== undefined && trs.version !== version) return `${url} is version ${trs.version}, the workflow ${version}`;
      version = trs.version;
    }
  }
  return undefined;
}

function matches(rule: AllowRule, docs: readonly WorkflowDocument[]): boolean {
  if (rule.kind === 'urlPrefix') return urlPrefixMiss(rule.prefix, docs) === undefined;
  if (rule.kind === 'trs') return trsMiss(rule, docs) === undefined;
  return docs.every((d) => rule.hashes.has(d.sha256));
}

function named(docs: readonly WorkflowDocument[]): string {
  const shown = docs.slice(0, MAX_NAMED).map((d) => `${d.name} (sha256 ${d.sha256})`);
  return shown.join(', ') + (docs.length > MAX_NAMED ? `, and ${docs.length - MAX_NAMED} more` : '');
}

/** What each kind of rule found wrong, in the order of the entries (the same finding said once). */
function whyRefused(usable: readonly AllowListEntry[], set: WorkflowDocumentSet): string {
  const docs = set.documents;
  const rulesOf = <K extends AllowRule['kind']>(kind: K) => usable.map((e) => e.rule).filter((r): r is Extract<AllowRule, { kind: K }> => r.kind === kind);
  const unique = (found: (string | undefined)[]) => [...new Set(found.filter((f) => f !== undefined))].join('; ') || 'matched, but see below';
  const findings: Record<AllowRule['kind'], () => string> = {
    urlPrefix: () => unique(rulesOf('urlPrefix').map((r) => urlPrefixMiss(r.prefix, docs))),
    trs: () => unique(rulesOf('trs').map((r) => trsMiss(r, docs))),
    sha256: () => {
      const sets = rulesOf('sha256');
      const missing = docs.filter((d) => !sets.some((r) => r.hashes.has(d.sha256)));
      return missing.length
        ? `${missing.length} of the ${docs.length} documents are in no allowed set: ${named(missing)}`
        : `every document is in an allowed set, but no one set holds them all: ${named(docs)}`;
    },
  };
  const kinds = [...new Set(usable.map((e) => e.rule.kind))];
  const reasons = kinds.map((k) => `${RULE_NAMES[k]}: ${findings[k]()}`);
  if (set.problems.length) reasons.push(`the workflow cannot be checked: ${set.problems.slice(0, MAX_NAMED).join('; ')}`);
  return `rules tried: ${kinds.map((k) => RULE_NAMES[k]).join(', ')}. ${reasons.join('. ')}`;
}

/**
 * Judges a run's documents against the entries the caller may use: allowed when one entry's
 * rule covers every document and no reference is left unchecked. An empty list allows all
 * (the allow-list is off); a caller with no usable entry is refused.
 */
export function matchAllowList(entries: readonly AllowListEntry[], roles: readonly string[], set: WorkflowDocumentSet): AllowListDecision {
  if (entries.length === 0) return { allowed: true, entry: '' };
  const usable = entriesFor(entries, roles);
  if (usable.length === 0) return { allowed: false, reason: `no entry of the allow-list is for your roles; the workflow's documents: ${named(set.documents)}` };
  if (set.problems.length === 0 && set.documents.length > 0) {
    const entry = usable.find((e) => matches(e.rule, set.documents));
    if (entry) return { allowed: true, entry: entry.name };
  }
  return { allowed: false, reason: whyRefused(usable, set) };
}
