/**
 * Scenario 11, real workflows: the CWL documents of the differential test (`npm run cwl-diff`,
 * scripts/cwl-diff/cases.ts: those it runs, not the skipped ones) run through the server with
 * `wes run` (the CLI of dist/, one call per document, as a user would) at concurrency 2 (2
 * documents at once, a worker of concurrency 2), against cwltool run directly on the same
 * documents at concurrency 2. The runners are cwl-diff's own (scripts/cwl-diff/runners.ts).
 * Wall time from the first start to the last end, each side on its own; rounds alternate which
 * side goes first. Quick mode runs a fixed subset (every 10th case); full mode all of them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SETTING_SOURCES } from '../../libs/config/src';
import { RunStore } from '../../libs/runs/src';
import { CASES, DEBIAN_CWL_ROOT } from '../../scripts/cwl-diff/cases';
import { caseFolder } from '../../scripts/cwl-diff/run-cases';
import { directRunner, serverRunner, SideRun, SideRunner } from '../../scripts/cwl-diff/runners';
import { cleanEnv } from '../../scripts/lib/wes-stack';
import type { Bench } from '../lib/harness';
import { median, row, say, ScenarioResult } from '../lib/util';

const CONCURRENCY = 2;
const CWLTOOL = 'cwltool';
type Side = 'ours' | 'baseline';

function notAvailable(why: string): ScenarioResult {
  return {
    rows: [row({ id: '11', scenario: `real workflows (cwl-diff documents): not available`, unit: 's', ours: null, baseline: null, goal: '≤ 1.10×', met: null, note: why })],
    details: { notAvailable: why },
  };
}

/** Runs every case through one side, CONCURRENCY at a time; wall seconds and each case's run. */
async function runAll(
  cases: typeof CASES,
  runner: SideRunner,
  root: string,
  inspect?: (run: SideRun, i: number) => Promise<void>,
): Promise<{ seconds: number; runs: SideRun[] }> {
  const runs: SideRun[] = new Array(cases.length);
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    for (let i = next++; i < cases.length; i = next++) {
      const dir = caseFolder(root, i, cases[i]);
      mkdirSync(dir, { recursive: true });
      runs[i] = await runner(cases[i], dir);
      await inspect?.(runs[i], i);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const seconds = (performance.now() - t0) / 1000;
  rmSync(root, { recursive: true, force: true });
  return { seconds, runs };
}

export async function realWorkflowsScenario(b: Bench): Promise<ScenarioResult> {
  const missing = ['cwltool/tests', 'cwl_utils/testdata', 'toil/test/cwl'].filter((d) => !existsSync(path.join(DEBIAN_CWL_ROOT, d)));
  if (missing.length) return notAvailable(`the documents are not installed (${missing.join(', ')} under ${DEBIAN_CWL_ROOT}: bash scripts/install-deps.sh --with-cwl-docs)`);
  const all = CASES.filter((c) => !c.skip);
  const cases = b.full ? all : all.filter((_, i) => i % 10 === 0);
  // Two rounds even in quick mode: one side alone on a shared machine is at the mercy of what
  // else runs then (a single quick round gave 1.84× and 0.62× within minutes).
  const rounds = 2;
  const stack = await b.startWes('cwl', {
    env: { [SETTING_SOURCES.workerConcurrency.env!]: String(CONCURRENCY), WES_CWLTOOL_PATH: CWLTOOL },
    workers: 1,
  });
  const timeoutMs = 300_000;
  const env = cleanEnv();
  const runners: Record<Side, SideRunner> = {
    ours: serverRunner({ cliEntry: path.join(b.codeDir, 'dist/apps/cli/src/main.js'), wesUrl: stack.procs.api, timeoutMs, env }),
    baseline: directRunner({ cwltool: CWLTOOL, timeoutMs, env }),
  };
  // Where the time goes, per document through the server: the client's wall, and from the run
  // record (epoch ms): created → start (queue, claim, staging, up to the engine's start),
  // start → end (the engine, in its sandbox), the rest (the CLI's own start, the upload before
  // the run exists; the poll that sees the end and the outputs' download after).
  const store = new RunStore(b.redis, stack.keys);
  const phases: { doc: string; wallMs: number; queuedMs: number; engineMs: number; clientMs: number; directMs?: number }[] = [];
  const inspectOurs = async (run: SideRun, i: number) => {
    const id = /^wes: run (\S+) submitted/m.exec(readFileSync(path.join(run.dir, 'stderr'), 'utf8'))?.[1];
    const rec = id ? await store.get(id) : null;
    if (!rec?.start || !rec.end) return;
    phases.push({ doc: cases[i].doc, wallMs: run.ms, queuedMs: rec.start - rec.created, engineMs: rec.end - rec.start, clientMs: run.ms - (rec.end - rec.created) });
  };
  const directMs = new Map<string, number>();
  const inspectDirect = async (run: SideRun, i: number) => void directMs.set(cases[i].doc, run.ms);
  // The CLI's own start (node loading dist's CLI), 3 times, median.
  const cliStart = median(
    [0, 1, 2].map(() => {
      const t0 = performance.now();
      execFileSync(process.execPath, [path.join(b.codeDir, 'dist/apps/cli/src/main.js'), '--help'], { env, stdio: 'ignore' });
      return performance.now() - t0;
    }),
  );
  const seconds: Record<Side, number[]> = { ours: [], baseline: [] };
  const exitMismatch: Record<Side, string[]> = { ours: [], baseline: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? (['baseline', 'ours'] as const) : (['ours', 'baseline'] as const)) {
        const res = await runAll(cases, runners[side], b.dir('cwl-cases', `${side}-${r}`), side === 'ours' ? inspectOurs : inspectDirect);
        seconds[side].push(res.seconds);
        res.runs.forEach((run, i) => {
          if (run.timedOut || run.exitCode !== cases[i].directExit) exitMismatch[side].push(`${cases[i].doc}: ${run.timedOut ? 'timed out' : `exit ${run.exitCode}`}`);
        });
        say(`  real workflows ${side.padEnd(8)} round ${r + 1}: ${cases.length} documents in ${res.seconds.toFixed(1)} s`);
      }
    }
  } finally {
    await stack.stop();
  }
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  const ours = mean(seconds.ours);
  const base = mean(seconds.baseline);
  const wrong = exitMismatch.ours.length + exitMismatch.baseline.length;
  for (const p of phases) p.directMs = directMs.get(p.doc);
  const med = (f: (p: (typeof phases)[number]) => number | undefined) => Math.round(median(phases.map(f).filter((v): v is number => v !== undefined)));
  const phaseMedians = {
    wallMs: med((p) => p.wallMs),
    directMs: med((p) => p.directMs),
    queuedMs: med((p) => p.queuedMs),
    engineMs: med((p) => p.engineMs),
    clientMs: med((p) => p.clientMs),
    cliStartMs: Math.round(cliStart),
  };
  say(`  real workflows, medians per document: wes run ${phaseMedians.wallMs} ms (created → engine start ${phaseMedians.queuedMs}, engine ${phaseMedians.engineMs}, client side ${phaseMedians.clientMs} of which the CLI's start ~${phaseMedians.cliStartMs}) vs cwltool ${phaseMedians.directMs} ms`);
  return {
    rows: [
      row({
        id: '11',
        scenario: `real workflows: ${cases.length} cwl-diff documents, wes run vs cwltool, concurrency ${CONCURRENCY}: wall`,
        unit: 's',
        ours,
        baseline: base,
        goal: '≤ 1.10×',
        met: ours / base <= 1.1 && wrong === 0,
        note:
          (wrong ? `${wrong} runs did not end as cwltool does here (see the JSON); ` : '') +
          `medians per document: wes run ${phaseMedians.wallMs} ms = engine start ${phaseMedians.queuedMs} + engine ${phaseMedians.engineMs} + client side ${phaseMedians.clientMs} (CLI start ~${phaseMedians.cliStartMs}); cwltool ${phaseMedians.directMs} ms`,
      }),
    ],
    details: { documents: cases.map((c) => c.doc), concurrency: CONCURRENCY, rounds, seconds, exitMismatch, phaseMedians, phases },
  };
}
