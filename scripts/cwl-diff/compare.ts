/**
 * Compares what cwltool did directly with what the server did (pure: data in, verdict out).
 *
 * Exit codes: both 0, or both non-zero (a failing workflow must fail through the server too;
 * the codes themselves may differ, e.g. 1 against 33, and the verdict says so). Outputs, when
 * both succeeded: the same keys; arrays in the same order; numbers with the same JSON text;
 * each File's fields (basename, size, checksum, format, ...) equal, its bytes' sha1 equal and
 * its place relative to --outdir equal; each Directory's fields and place equal, its listing
 * equal as a set (a folder has no order) and what is on disk under it equal (names, kinds,
 * sizes, sha1s).
 */
import type { Canon, DiskEntry, FileProbe } from './canonical';

/** What one side of a case produced. */
export interface SideOutcome {
  /** Exit code; null when it was killed (timed out). */
  exitCode: number | null;
  timedOut: boolean;
  /** The canonical output object (when its stdout parsed as JSON). */
  outputs?: Canon;
  /** Why stdout gave no output object. */
  outputError?: string;
  /**
   * Server side only: the state the run ended in, as `wes run` reported it, or why there was no
   * run (the submit was refused). A failing workflow must fail as a run, EXECUTOR_ERROR: a 400
   * at submit or a SYSTEM_ERROR also exits non-zero, but compares nothing.
   */
  runState?: string;
}

export type Verdict = 'identical' | 'different';

export interface CaseComparison {
  verdict: Verdict;
  /** The first difference (a path in the output object and what differs), for the table. */
  firstDifference?: string;
  /** Every difference found (bounded). */
  differences: string[];
  /** Something worth saying that is not a difference (e.g. both failed with different codes). */
  note?: string;
}

const MAX_DIFFERENCES = 20;

function describe(c: Canon): string {
  switch (c.t) {
    case 'null':
      return 'null';
    case 'boolean':
      return String(c.v);
    case 'string':
      return JSON.stringify(c.v.length > 60 ? `${c.v.slice(0, 57)}...` : c.v);
    case 'number':
      return c.text;
    case 'array':
      return `an array of ${c.items.length}`;
    case 'object':
      return 'an object';
    default:
      return `a ${c.t}`;
  }
}

function probeText(p: FileProbe): string {
  return 'sha1' in p ? `${p.sha1} (${p.size} bytes)` : `unreadable: ${p.unreadable}`;
}

/** True when a difference lies at or under one of the output paths (`$.out.basename`, `$.out`). */
function underAny(difference: string, paths: readonly string[]): boolean {
  return paths.some((p) => difference.startsWith(p) && /^[:.[<\/]/.test(difference.slice(p.length)));
}

/** Collects differences between two canonical values, each prefixed with its path. */
class DifferenceCollector {
  readonly found: string[] = [];

  constructor(private readonly ignore: readonly string[]) {}

  add(at: string, what: string): void {
    const d = `${at}: ${what}`;
    if (this.found.length < MAX_DIFFERENCES && !underAny(d, this.ignore)) this.found.push(d);
  }

  values(at: string, a: Canon, b: Canon): void {
    if (a.t !== b.t) return this.add(at, `${describe(a)} (cwltool) vs ${describe(b)} (server)`);
    switch (a.t) {
      case 'null':
        return;
      case 'boolean':
      case 'string':
        if (a.v !== (b as typeof a).v) this.add(at, `${describe(a)} (cwltool) vs ${describe(b)} (server)`);
        return;
      case 'number':
        if (a.text !== (b as typeof a).text) this.add(at, `${a.text} (cwltool) vs ${(b as typeof a).text} (server)`);
        return;
      case 'array':
        return this.sequence(at, a.items, (b as typeof a).items);
      case 'object':
        return this.fields(at, a.fields, (b as typeof a).fields);
      case 'File': {
        const f = b as typeof a;
        this.fields(at, a.fields, f.fields);
        this.place(at, a.place, f.place);
        this.probe(`${at}<contents>`, a.content, f.content);
        return this.optionalSet(`${at}.secondaryFiles`, a.secondaryFiles, f.secondaryFiles);
      }
      case 'Directory': {
        const d = b as typeof a;
        this.fields(at, a.fields, d.fields);
        this.place(at, a.place, d.place);
        this.optionalSet(`${at}.listing`, a.listing, d.listing);
        return this.disk(`${at}<on disk>`, a.disk, d.disk);
      }
    }
  }

  private fields(at: string, a: Record<string, Canon>, b: Record<string, Canon>): void {
    for (const k of Object.keys(a)) if (!(k in b)) this.add(`${at}.${k}`, "only in cwltool's output");
    for (const k of Object.keys(b)) if (!(k in a)) this.add(`${at}.${k}`, "only in the server's output");
    for (const k of Object.keys(a).sort()) if (k in b) this.values(`${at}.${k}`, a[k], b[k]);
  }

  private sequence(at: string, a: Canon[], b: Canon[]): void {
    if (a.length !== b.length) this.add(at, `${a.length} items (cwltool) vs ${b.length} (server)`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) this.values(`${at}[${i}]`, a[i], b[i]);
  }

  /** Listings and secondaryFiles arrive sorted by basename, so comparing in order compares sets. */
  private optionalSet(at: string, a: Canon[] | undefined, b: Canon[] | undefined): void {
    if (a === undefined && b === undefined) return;
    if (a === undefined || b === undefined) return this.add(at, a === undefined ? "only in the server's output" : "only in cwltool's output");
    this.sequence(at, a, b);
  }

  private place(at: string, a: string, b: string): void {
    if (a !== b) this.add(`${at}<place>`, `${JSON.stringify(a)} (cwltool) vs ${JSON.stringify(b)} (server), relative to --outdir`);
  }

  private probe(at: string, a: FileProbe, b: FileProbe): void {
    if ('sha1' in a && 'sha1' in b && a.sha1 === b.sha1 && a.size === b.size) return;
    this.add(at, `${probeText(a)} (cwltool) vs ${probeText(b)} (server)`);
  }

  private disk(at: string, a: DiskEntry[] | string, b: DiskEntry[] | string): void {
    if (typeof a === 'string' || typeof b === 'string') {
      if (a !== b) this.add(at, `${typeof a === 'string' ? a : `${a.length} entries`} (cwltool) vs ${typeof b === 'string' ? b : `${b.length} entries`} (server)`);
      return;
    }
    const names = [...new Set([...a.map((e) => e.name), ...b.map((e) => e.name)])].sort();
    for (const name of names) {
      const x = a.find((e) => e.name === name);
      const y = b.find((e) => e.name === name);
      const here = `${at}/${name}`;
      if (!x || !y) {
        this.add(here, x ? 'only in cwltool\'s folder' : "only in the server's folder");
        continue;
      }
      if (x.kind !== y.kind) this.add(here, `${x.kind} (cwltool) vs ${y.kind} (server)`);
      else if (x.kind === 'file' && (x.sha1 !== y.sha1 || x.size !== y.size)) this.add(here, `${x.sha1} (${x.size} bytes) (cwltool) vs ${y.sha1} (${y.size} bytes) (server)`);
      else if (x.kind === 'directory') this.disk(here, x.children ?? [], y.children ?? []);
    }
  }
}

/** The differences between two canonical output objects (empty: identical), but those under `ignore`. */
export function outputDifferences(direct: Canon, server: Canon, ignore: readonly string[] = []): string[] {
  const c = new DifferenceCollector(ignore);
  c.values('$', direct, server);
  return c.found;
}

const exitText = (s: SideOutcome) => (s.timedOut ? 'timed out' : s.exitCode === null ? 'killed' : `exit ${s.exitCode}`);

/**
 * The verdict of one case. `expect.directExit` is the table's: a direct run that no longer
 * succeeds or fails as recorded means the environment changed, which must not pass unnoticed.
 * Differences under `expect.ignore` (values that differ by nature, each with its reason in the
 * table) do not count.
 */
export function compareCase(direct: SideOutcome, server: SideOutcome, expect: { directExit: number; ignore?: readonly string[] }): CaseComparison {
  const differences: string[] = [];
  const ok = (s: SideOutcome) => s.exitCode === 0 && !s.timedOut;
  if (ok(direct) !== (expect.directExit === 0)) {
    differences.push(`cwltool ${exitText(direct)}, but the case table records exit ${expect.directExit} (the environment changed?)`);
  }
  let note: string | undefined;
  if (ok(direct) !== ok(server)) {
    differences.push(`${exitText(direct)} (cwltool) vs ${exitText(server)} (server)`);
  } else if (!ok(direct)) {
    if (server.runState !== undefined && server.runState !== 'EXECUTOR_ERROR') {
      differences.push(`both failed, but the server's run did not fail as the workflow: ${server.runState}`);
    } else if (direct.exitCode !== server.exitCode) {
      note = `both failed, with different codes: ${exitText(direct)} (cwltool) vs ${exitText(server)} (server)`;
    }
  } else if (!direct.outputs || !server.outputs) {
    differences.push(`no output object: ${direct.outputError ?? 'ok'} (cwltool) vs ${server.outputError ?? 'ok'} (server)`);
  } else {
    differences.push(...outputDifferences(direct.outputs, server.outputs, expect.ignore));
  }
  return { verdict: differences.length ? 'different' : 'identical', firstDifference: differences[0], differences, note };
}
