/**
 * cwl-diff: the CWL documents Debian's cwltool, python3-cwl-utils and toil packages ship, run
 * through cwltool directly and through our server (`wes run` against a private stack: its own
 * redis-server, API and worker), and their exit codes and output objects compared. The cases
 * and the reason each excluded one is excluded: scripts/cwl-diff/cases.ts; what is compared
 * and why: docs/CWL-DIFF.md.
 *
 * Usage: npm run cwl-diff -- [--only <substring>] [--concurrency 2] [--timeout 300] [--keep] [--list] [--run-skipped]
 *   --only         run only the cases whose id contains this (repeatable)
 *   --run-skipped  run the selected skipped cases too (to see how one fails here)
 *   --concurrency  cases run at once (and the worker's WES_WORKER_CONCURRENCY)
 *   --timeout      seconds one side of a case may take before it is stopped
 *   --keep         keep the temporary folder (every case's outputs, stdout, stderr; the stack's logs)
 *   --list         print the cases (with each skip reason) and exit
 * Prints a table and "N of M identical"; writes .cwl-diff/latest.json (and .md); exits 1 when a case that
 * is not skipped differs, 2 when the harness itself fails, 130 on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, caseId, DEBIAN_CWL_ROOT } from './cwl-diff/cases';
import { reportMarkdown } from './cwl-diff/markdown';
import { CaseResult, runCases, summaryLine, tableHeader, tableRow } from './cwl-diff/run-cases';
import { directRunner, killRunningSides, serverRunner } from './cwl-diff/runners';
import { freePort, killAllChildren, killMatching, startPrivateRedis } from './lib/proc';
import { cleanEnv, ROOT, snapshotBuild, tailOf, WesProcesses } from './lib/wes-stack';

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    concurrency: { type: 'string', default: '2' },
    timeout: { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    'run-skipped': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n');
  process.exit(0);
}
const positive = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
  return n;
};
const CONCURRENCY = positive('concurrency', opt.concurrency);
const TIMEOUT_MS = positive('timeout', opt.timeout) * 1000;
const CWLTOOL = 'cwltool';
const REPORT_DIR = path.join(ROOT, '.cwl-diff');

const selected = CASES.filter((c) => !opt.only?.length || opt.only.some((s) => caseId(c).includes(s)));
const toRun = selected.filter((c) => !c.skip || opt['run-skipped']);
const skipped = selected.filter((c) => !toRun.includes(c));

if (opt.list) {
  const width = Math.max(...selected.map((c) => caseId(c).length));
  for (const c of selected) process.stdout.write(`${caseId(c).padEnd(width)}  ${c.skip ? `skip: ${c.skip}` : `run (cwltool exits ${c.directExit})`}\n`);
  process.stdout.write(`${toRun.length} to run, ${skipped.length} skipped\n`);
  process.exit(0);
}

let root = '';
let workDir = '';
const cleanup = (code: number) => {
  killRunningSides();
  killAllChildren();
  if (workDir) killMatching(`${workDir}/`);
  if (root && !opt.keep) rmSync(root, { recursive: true, force: true });
  process.exit(code);
};
process.on('SIGINT', () => cleanup(130));
process.on('SIGTERM', () => cleanup(143));

function commitOf(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

function reportEntry(r: CaseResult) {
  const tail = (dir: string) => tailOf(path.join(dir, 'stderr'), 15);
  // wes run's own lines (states, system logs) say most about a server-side failure.
  const wesLines = (dir: string) => tailOf(path.join(dir, 'stderr'), 10_000).split('\n').filter((l) => l.startsWith('wes: ')).slice(0, 30).join('\n');
  const differs = r.comparison.verdict !== 'identical';
  return {
    id: r.id,
    doc: r.case.doc,
    job: r.case.job ?? null,
    cwltoolArgs: r.case.cwltoolArgs ?? [],
    verdict: r.comparison.verdict,
    directExit: r.direct.timedOut ? 'timeout' : r.direct.exitCode,
    serverExit: r.server.timedOut ? 'timeout' : r.server.exitCode,
    directMs: r.direct.ms,
    serverMs: r.server.ms,
    differences: r.comparison.differences,
    note: r.comparison.note ?? null,
    ...(differs ? { directStderrTail: tail(r.direct.dir), serverWesLines: wesLines(r.server.dir), serverStderrTail: tail(r.server.dir) } : {}),
    ...(opt.keep ? { folder: path.dirname(r.direct.dir) } : {}),
  };
}

/** The three packages' test folders: without them there is nothing to compare. */
function checkDocumentsInstalled(): void {
  const missing = ['cwltool/tests', 'cwl_utils/testdata', 'toil/test/cwl'].filter((d) => !existsSync(path.join(DEBIAN_CWL_ROOT, d)));
  if (missing.length) {
    throw new Error(`${missing.map((d) => path.join(DEBIAN_CWL_ROOT, d)).join(', ')} missing: install the Debian packages cwltool, python3-cwl-utils and toil (bash scripts/install-deps.sh --with-cwl-docs)`);
  }
}

async function main(): Promise<number> {
  checkDocumentsInstalled();
  const t0 = Date.now();
  root = mkdtempSync(path.join(os.tmpdir(), 'wes-cwl-diff-'));
  const logDir = path.join(root, 'logs');
  workDir = path.join(root, 'work');
  for (const d of [logDir, workDir, path.join(root, 'redis'), path.join(root, 'data'), path.join(root, 'cases')]) mkdirSync(d, { recursive: true });
  const codeDir = snapshotBuild(path.join(root, 'app'));
  const redis = await startPrivateRedis(path.join(root, 'redis'), logDir);
  const env = {
    ...cleanEnv(),
    REDIS_URL: redis.url,
    WES_KEY_PREFIX: 'cwl-diff',
    WES_QUEUE_NAME: 'cwl-diff-runs',
    WES_HOST: '127.0.0.1',
    WES_PORT: String(await freePort()),
    WES_DATA_DIR: path.join(root, 'data'),
    WES_WORK_DIR: workDir,
    WES_WORKER_CONCURRENCY: String(CONCURRENCY),
    WES_CWLTOOL_PATH: CWLTOOL,
    LOG_LEVEL: 'info',
  };
  const procs = new WesProcesses(codeDir, env, logDir, root);
  const api = procs.startApi();
  const worker = procs.startWorker();
  if (!(await procs.waitApi(api))) throw new Error(`the API did not start:\n${tailOf(api.logFile)}`);
  if (!(await procs.waitWorker(worker))) throw new Error(`the worker did not start:\n${tailOf(worker.logFile)}`);
  const cwltoolVersion = execFileSync(CWLTOOL, ['--version'], { encoding: 'utf8' }).trim().split(/\s+/).pop();
  process.stdout.write(
    `cwl-diff: ${toRun.length} cases (${skipped.length} skipped), ${CONCURRENCY} at a time, cwltool ${cwltoolVersion}, server ${procs.api}${opt.keep ? `, folder ${root}` : ''}\n\n`,
  );

  const width = Math.min(70, Math.max(20, ...toRun.map((c) => caseId(c).length)));
  process.stdout.write(`${tableHeader(width)}\n`);
  const sideEnv = cleanEnv();
  const results = await runCases(toRun, {
    root: path.join(root, 'cases'),
    concurrency: CONCURRENCY,
    keep: opt.keep,
    runners: {
      direct: directRunner({ cwltool: CWLTOOL, timeoutMs: TIMEOUT_MS, env: sideEnv }),
      server: serverRunner({ cliEntry: path.join(codeDir, 'dist/apps/cli/src/main.js'), wesUrl: procs.api, timeoutMs: TIMEOUT_MS, env: sideEnv }),
    },
    onResult: (r) => process.stdout.write(`${tableRow(r, width)}\n`),
  });
  await worker.stop(10_000);
  await api.stop(10_000);
  await redis.proc.stop(5000);

  const different = results.filter((r) => r.comparison.verdict !== 'identical');
  const summary = summaryLine(results, skipped.length);
  const wallMs = Date.now() - t0;
  process.stdout.write(`\n${summary} · ${(wallMs / 1000).toFixed(0)} s\n`);
  for (const r of different) process.stdout.write(`  differs: ${r.id}\n${r.comparison.differences.map((d) => `      ${d}`).join('\n')}\n`);

  const report = {
    tool: 'cwl-diff',
    date: new Date().toISOString(),
    commit: commitOf(),
    cwltool: cwltoolVersion,
    host: { cpus: os.cpus().length },
    concurrency: CONCURRENCY,
    only: opt.only ?? [],
    wallMs,
    summary,
    identical: results.length - different.length,
    ran: results.length,
    results: results.map(reportEntry),
    skipped: skipped.map((c) => ({ id: caseId(c), reason: c.skip })),
  };
  mkdirSync(REPORT_DIR, { recursive: true });
  const file = path.join(REPORT_DIR, 'latest.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(REPORT_DIR, 'latest.md'), reportMarkdown(report));
  process.stdout.write(`report: ${path.relative(process.cwd(), file)}${opt.keep ? ` · folder kept: ${root}` : ''}\n`);
  if (!opt.keep) rmSync(root, { recursive: true, force: true });
  return different.length ? 1 : 0;
}

main()
  .then((code) => process.exit(code))
  .catch((err) => {
    process.stderr.write(`cwl-diff: ${err instanceof Error ? err.stack : String(err)}\n`);
    killRunningSides();
    killAllChildren();
    if (workDir) killMatching(`${workDir}/`);
    process.stderr.write(`cwl-diff: folder kept: ${root}\n`);
    process.exit(2);
  });
