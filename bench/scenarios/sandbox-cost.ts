/**
 * Scenario 13, the sandbox's cost: scenarios 5 and 6 run twice in the same run, with engines in
 * their bubblewrap sandbox (the default) and with WES_SANDBOX=none; the baseline is the run
 * without it.
 *
 *   13a  end to end: the two-step workflow of scenario 5, submit → COMPLETE (median); one
 *        stack of each kind, repetitions alternating between them.
 *   13b  throughput: no-op runs through the pool of scenario 6; rounds alternating.
 *
 * What the sandbox adds per run: preparing its folders (a chown to the sandbox's uid when the
 * worker is root, its synthetic /etc files) and starting bwrap (new namespaces, a fresh /proc,
 * the binds of the system folders) before the engine starts.
 */
import { SETTING_SOURCES } from '../../libs/config/src';
import type { Bench, WesStack } from '../lib/harness';
import { helloSubmission } from '../lib/fixtures';
import { median, row, say, ScenarioResult, stats } from '../lib/util';
import { emptyPhases, medianPhases, timeOneRun, twoStepSubmission } from './e2e';
import { NO_OP_ENGINE, runsThroughWes, THROUGHPUT_SHAPE, ThroughputTiming } from './throughput';

const SANDBOX = SETTING_SOURCES.sandbox.env;
const MODES = { on: 'bwrap', off: 'none' } as const;
type Mode = keyof typeof MODES;

async function startPair(b: Bench, name: string, env: Record<string, string>, workers: number): Promise<Record<Mode, WesStack>> {
  return {
    on: await b.startWes(`${name}-on`, { env: { ...env, [SANDBOX]: MODES.on }, workers }),
    off: await b.startWes(`${name}-off`, { env: { ...env, [SANDBOX]: MODES.off }, workers }),
  };
}

export async function sandboxCostScenario(b: Bench): Promise<ScenarioResult> {
  // 13a: end to end.
  const reps = b.full ? 10 : 6;
  const e2e = await startPair(b, 'sbx-e2e', { WES_WORKER_CONCURRENCY: '1' }, 1);
  const sub = twoStepSubmission();
  const phases = { on: emptyPhases(), off: emptyPhases() };
  const ms: Record<Mode, number[]> = { on: [], off: [] };
  await timeOneRun(e2e.on, sub, emptyPhases());
  await timeOneRun(e2e.off, sub, emptyPhases());
  for (let i = 0; i < reps; i++) {
    for (const mode of i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      ms[mode].push(await timeOneRun(e2e[mode], sub, phases[mode]));
    }
    say(`  sandbox e2e rep ${i + 1}: on ${ms.on[i].toFixed(0)} ms, off ${ms.off[i].toFixed(0)} ms`);
  }
  await e2e.on.stop();
  await e2e.off.stop();

  // 13b: throughput.
  const n = b.full ? 1000 : 300;
  const rounds = 2;
  const { processes, concurrency, clients } = THROUGHPUT_SHAPE;
  const tput = await startPair(b, 'sbx-tput', { WES_CWLTOOL_PATH: NO_OP_ENGINE, WES_WORKER_CONCURRENCY: String(concurrency) }, processes);
  const noop = helloSubmission('sandbox-cost');
  await runsThroughWes(b, tput.on, noop, 40, clients);
  await runsThroughWes(b, tput.off, noop, 40, clients);
  const rates: Record<Mode, ThroughputTiming[]> = { on: [], off: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const t = await runsThroughWes(b, tput[mode], noop, n, clients);
      rates[mode].push(t);
      say(`  sandbox throughput ${mode.padEnd(3)} round ${r + 1}: ${t.rate.toFixed(1)} runs/s (${n} in ${t.seconds.toFixed(1)} s)`);
    }
  }
  await tput.on.stop();
  await tput.off.stop();

  const e2eOn = median(ms.on);
  const e2eOff = median(ms.off);
  const mean = (xs: ThroughputTiming[]) => xs.reduce((a, x) => a + x.rate, 0) / xs.length;
  const rateOn = mean(rates.on);
  const rateOff = mean(rates.off);
  return {
    rows: [
      row({
        id: '13a',
        scenario: 'sandbox cost, end to end (scenario 5): bwrap vs none (median)',
        unit: 'ms',
        ours: e2eOn,
        baseline: e2eOff,
        goal: '≤ 1.05×',
        met: e2eOn / e2eOff <= 1.05,
        note: `${e2eOn - e2eOff >= 0 ? '+' : ''}${(e2eOn - e2eOff).toFixed(0)} ms per run in the sandbox`,
      }),
      row({
        id: '13b',
        scenario: `sandbox cost, throughput (scenario 6, ${n} no-op runs, ${processes} workers × ${concurrency}): bwrap vs none`,
        unit: 'runs/s',
        ours: rateOn,
        baseline: rateOff,
        goal: '— (measured)',
        met: null,
      }),
    ],
    details: {
      e2e: {
        reps,
        on: stats(ms.on, 1),
        off: stats(ms.off, 1),
        onMs: ms.on,
        offMs: ms.off,
        phasesMedianMs: { on: medianPhases(phases.on), off: medianPhases(phases.off) },
      },
      throughput: { runs: n, rounds, processes, concurrency, clients, on: rates.on, off: rates.off },
    },
  };
}
