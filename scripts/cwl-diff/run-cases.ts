/**
 * Runs cases both ways and compares them; formats the table and the summary. Shared by
 * `npm run cwl-diff` and test/e2e/cwl-diff.test.ts, so the test checks exactly what the script
 * reports.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { caseId, CwlDiffCase } from './cases';
import { CaseComparison, compareCase } from './compare';
import type { SideRun, SideRunner } from './runners';

export interface CaseResult {
  id: string;
  case: CwlDiffCase;
  direct: SideRun;
  server: SideRun;
  comparison: CaseComparison;
}

export interface Runners {
  direct: SideRunner;
  server: SideRunner;
}

/** Runs one case directly, then through the server, in `dir`/direct and `dir`/server. */
export async function runCase(c: CwlDiffCase, dir: string, runners: Runners): Promise<CaseResult> {
  const sides = { direct: path.join(dir, 'direct'), server: path.join(dir, 'server') };
  for (const d of Object.values(sides)) mkdirSync(d, { recursive: true });
  const direct = await runners.direct(c, sides.direct);
  const server = await runners.server(c, sides.server);
  return { id: caseId(c), case: c, direct, server, comparison: compareCase(direct, server, { directExit: c.directExit, ignore: c.ignore?.paths }) };
}

/** A folder name for a case (its id, made safe). */
export function caseFolder(root: string, index: number, c: CwlDiffCase): string {
  return path.join(root, `${String(index).padStart(3, '0')}-${caseId(c).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80)}`);
}

/**
 * Runs the cases `concurrency` at a time, each in a folder under `root` (removed after an
 * identical case unless `keep`); `onResult` hears each result as it comes. Results come back in
 * the cases' order.
 */
export async function runCases(
  cases: readonly CwlDiffCase[],
  o: { root: string; runners: Runners; concurrency: number; keep: boolean; onResult?: (r: CaseResult) => void },
): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < cases.length; i = next++) {
      const dir = caseFolder(o.root, i, cases[i]);
      const r = await runCase(cases[i], dir, o.runners);
      if (!o.keep && r.comparison.verdict === 'identical') rmSync(dir, { recursive: true, force: true });
      results[i] = r;
      o.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, cases.length)) }, lane));
  return results;
}

const exitCell = (s: SideRun) => (s.timedOut ? 'timeout' : s.exitCode === null ? 'killed' : String(s.exitCode));

/** One line of the table for a case that ran. */
export function tableRow(r: CaseResult, idWidth: number): string {
  const detail = r.comparison.firstDifference ?? r.comparison.note ?? '';
  const secs = `${(r.direct.ms / 1000).toFixed(1)}/${(r.server.ms / 1000).toFixed(1)}s`;
  return `${r.id.padEnd(idWidth)}  ${exitCell(r.direct).padStart(6)}  ${exitCell(r.server).padStart(6)}  ${r.comparison.verdict.padEnd(9)}  ${secs.padStart(11)}  ${detail}`;
}

export function tableHeader(idWidth: number): string {
  return `${'case'.padEnd(idWidth)}  ${'direct'.padStart(6)}  ${'server'.padStart(6)}  ${'verdict'.padEnd(9)}  ${'time d/s'.padStart(11)}  first difference (or note)`;
}

export function summaryLine(results: readonly CaseResult[], skipped: number): string {
  const same = results.filter((r) => r.comparison.verdict === 'identical').length;
  return `${same} of ${results.length} identical${skipped ? ` (${skipped} skipped, reasons in scripts/cwl-diff/cases.ts)` : ''}`;
}
