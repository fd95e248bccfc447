import { normaliseTrsServer } from './trs-url';
import { normaliseUrlPrefix } from './url-prefix';

/**
 * One entry of the workflow allow-list as written in the config file (`workflowAllowList`):
 * exactly one rule (`urlPrefix`, `sha256` or `trsId`), optionally a name and the roles it is for.
 */
export interface WorkflowAllowListEntry {
  /** Shown in service-info and in refusals; `entry <n>` when none. */
  name?: string;
  /** Only callers holding one of these roles may use the entry; absent: everyone. */
  roles?: string[];
  /** Every document of the run was fetched from under this URL (after redirects too). */
  urlPrefix?: string;
  /** Every document of the run (the main one, what it imports, includes, runs) has one of these sha256. */
  sha256?: string[];
  /** Every document of the run was fetched from this TRS tool's descriptor URLs (e.g. `#workflow/github.com/org/repo`). */
  trsId?: string;
  /** Versions of the TRS tool allowed; absent: any. */
  trsVersions?: string[];
  /** The TRS server's base URL, before `/ga4gh/trs/v2`. */
  trsServer?: string;
}

/** The TRS server of an entry that names none. */
export const DEFAULT_TRS_SERVER = 'https://dockstore.org/api';

export type AllowRule =
  | { kind: 'urlPrefix'; prefix: string }
  | { kind: 'sha256'; hashes: ReadonlySet<string> }
  | { kind: 'trs'; server: string; toolId: string; versions?: ReadonlySet<string> };

/** An entry checked and normalised. */
export interface AllowListEntry {
  name: string;
  roles?: readonly string[];
  rule: AllowRule;
}

/** A malformed entry: its index, the field at fault and why. */
export class AllowListEntryError extends Error {
  override name = 'AllowListEntryError';
  constructor(
    readonly index: number,
    readonly field: string | undefined,
    readonly reason: string,
  ) {
    super(`[${index}]${field ? `.${field}` : ''}: ${reason}`);
  }
}

const FIELDS = ['name', 'roles', 'urlPrefix', 'sha256', 'trsId', 'trsVersions', 'trsServer'];
const RULES = ['urlPrefix', 'sha256', 'trsId'] as const;

function stringList(value: unknown, index: number, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || !v.trim())) {
    throw new AllowListEntryError(index, field, 'must be a non-empty list of non-empty strings');
  }
  return value.map((v: string) => v.trim());
}

/** The value of `normalise()`, its Error turned into an AllowListEntryError of `field`. */
function checked<T>(index: number, field: string, normalise: () => T): T {
  try {
    return normalise();
  } catch (err) {
    throw new AllowListEntryError(index, field, (err as Error).message);
  }
}

function compileEntry(raw: unknown, index: number, names: Set<string>): AllowListEntry {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AllowListEntryError(index, undefined, 'must be a mapping with one of urlPrefix, sha256 or trsId');
  }
  const e = raw as Record<string, unknown>;
  const unknown = Object.keys(e).find((k) => !FIELDS.includes(k));
  if (unknown) throw new AllowListEntryError(index, undefined, `unknown field "${unknown}" (known: ${FIELDS.join(', ')})`);
  const rules = RULES.filter((r) => e[r] !== undefined);
  if (rules.length !== 1) throw new AllowListEntryError(index, undefined, `must hold exactly one of urlPrefix, sha256 or trsId (holds ${rules.length ? rules.join(' and ') : 'none'})`);
  if (e.name !== undefined && (typeof e.name !== 'string' || !/^\S(?:[^\p{Cc}]{0,62}\S)?$/u.test(e.name))) {
    throw new AllowListEntryError(index, 'name', 'must be 1 to 64 characters, without control characters or surrounding spaces');
  }
  const name = (e.name as string | undefined) ?? `entry ${index}`;
  if (names.has(name)) throw new AllowListEntryError(index, 'name', `"${name}" names another entry too`);
  names.add(name);
  const roles = e.roles === undefined ? undefined : stringList(e.roles, index, 'roles');
  if (rules[0] !== 'trsId') {
    const stray = ['trsVersions', 'trsServer'].find((k) => e[k] !== undefined);
    if (stray) throw new AllowListEntryError(index, stray, 'goes with trsId only');
  }
  let rule: AllowRule;
  if (rules[0] === 'urlPrefix') {
    if (typeof e.urlPrefix !== 'string') throw new AllowListEntryError(index, 'urlPrefix', 'must be a URL');
    const prefix = e.urlPrefix.trim();
    rule = { kind: 'urlPrefix', prefix: checked(index, 'urlPrefix', () => normaliseUrlPrefix(prefix)) };
  } else if (rules[0] === 'sha256') {
    const hashes = stringList(e.sha256, index, 'sha256');
    const bad = hashes.find((h) => !/^[0-9a-fA-F]{64}$/.test(h));
    if (bad) throw new AllowListEntryError(index, 'sha256', `"${bad}" is not 64 hex digits`);
    rule = { kind: 'sha256', hashes: new Set(hashes.map((h) => h.toLowerCase())) };
  } else {
    if (typeof e.trsId !== 'string' || !e.trsId.trim() || /[\s]/.test(e.trsId.trim())) {
      throw new AllowListEntryError(index, 'trsId', 'must be a TRS tool id such as "#workflow/github.com/org/repo"');
    }
    if (e.trsServer !== undefined && typeof e.trsServer !== 'string') throw new AllowListEntryError(index, 'trsServer', 'must be a URL');
    const server = checked(index, 'trsServer', () => normaliseTrsServer(((e.trsServer as string | undefined) ?? DEFAULT_TRS_SERVER).trim()));
    const versions = e.trsVersions === undefined ? undefined : new Set(stringList(e.trsVersions, index, 'trsVersions'));
    rule = { kind: 'trs', server, toolId: e.trsId.trim(), ...(versions ? { versions } : {}) };
  }
  return { name, ...(roles ? { roles } : {}), rule };
}

/** Checks and normalises the allow-list's entries; throws AllowListEntryError on the first bad one. */
export function compileAllowList(raw: readonly unknown[]): AllowListEntry[] {
  const names = new Set<string>();
  return raw.map((entry, i) => compileEntry(entry, i, names));
}
