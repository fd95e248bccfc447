/**
 * Scenario 7, cancel: POST /runs/{id}/cancel → the run reads CANCELED (client's status poll,
 * every 10 ms) and no process of the engine is left (/proc scanned for the run id in command
 * lines and working folders). The engine is a shell script (WES_CWLTOOL_PATH) that starts
 * `sleep 1000` and waits for it: with params {"mode": "obey"} both die of the stop signal
 * (WES_CANCEL_SIGNAL=SIGTERM); with {"mode": "ignore"} the script traps TERM and INT and its
 * sleep inherits that, so only the SIGKILL after WES_CANCEL_GRACE_MS ends them. Samples of the
 * two kinds alternate. One worker, concurrency 1.
 */
import { processesMatching } from '../../scripts/lib/proc';
import type { Bench } from '../lib/harness';
import { http } from '../lib/harness';
import { helloSubmission, runState, submit } from '../lib/fixtures';
import { epochMs, row, say, ScenarioResult, sleep, stats } from '../lib/util';

export const CANCEL_GRACE_MS = 2000;

interface Sample {
  mode: 'obey' | 'ignore';
  runId: string;
  totalMs: number;
  canceledMs: number;
  goneMs: number;
  canceledBeforeGone: boolean;
}

export async function cancelScenario(b: Bench): Promise<ScenarioResult> {
  const obeys = b.full ? 30 : 8;
  const ignores = b.full ? 10 : 4;
  const engine = b.script(
    'cancel-engine.sh',
    `#!/bin/sh
if [ "$1" = "--version" ]; then echo "bench-cancel-engine 1.0"; exit 0; fi
for last; do :; done
if grep -q '"ignore"' "$last"; then trap '' TERM INT; fi
sleep 1000 &
wait
`,
  );
  const stack = await b.startWes('cancel', {
    env: {
      WES_CWLTOOL_PATH: engine,
      WES_WORKER_CONCURRENCY: '1',
      WES_CANCEL_GRACE_MS: String(CANCEL_GRACE_MS),
      WES_CANCEL_SIGNAL: 'SIGTERM',
      // No sandbox: the bench's engine script lives in the bench's temporary folder, which the
      // sandbox does not show (it binds /usr and the run's own folders only). The tests cover
      // cancel in the sandbox (test/e2e cancel); what the sandbox adds to a run is scenario 13.
      WES_SANDBOX: 'none',
    },
    workers: 1,
  });

  const one = async (mode: 'obey' | 'ignore', i: number): Promise<Sample> => {
    const runId = await submit(stack.base, helloSubmission('cancel', { mode, i }));
    const ready = Date.now() + 30_000;
    for (;;) {
      const state = await runState(stack.base, runId);
      if (state === 'RUNNING' && processesMatching(runId).some((p) => p.cmdline.startsWith('sleep 1000'))) break;
      if (Date.now() > ready) throw new Error(`cancel: run ${runId} not running its engine after 30 s (${state})`);
      await sleep(20);
    }
    await sleep(100);
    const t0 = epochMs();
    const res = await http(`${stack.base}/runs/${runId}/cancel`, { method: 'POST' });
    if (res.status !== 200) throw new Error(`cancel: POST cancel ${res.status}`);
    let canceledAt: number | undefined;
    let goneAt: number | undefined;
    let canceledBeforeGone = false;
    const deadline = Date.now() + 60_000;
    while (canceledAt === undefined || goneAt === undefined) {
      if (canceledAt === undefined && (await runState(stack.base, runId)) === 'CANCELED') canceledAt = epochMs();
      const alive = processesMatching(runId).length;
      if (alive === 0) goneAt ??= epochMs();
      else if (canceledAt !== undefined) canceledBeforeGone = true;
      if (Date.now() > deadline) throw new Error(`cancel: run ${runId} not CANCELED with its processes gone after 60 s`);
      await sleep(10);
    }
    return { mode, runId, totalMs: Math.max(canceledAt, goneAt) - t0, canceledMs: canceledAt - t0, goneMs: goneAt - t0, canceledBeforeGone };
  };

  const samples: Sample[] = [];
  let o = 0;
  let g = 0;
  while (o < obeys || g < ignores) {
    const wantIgnore = g < ignores && (o >= obeys || (o + 1) / obeys > (g + 1) / ignores);
    const s = wantIgnore ? await one('ignore', g++) : await one('obey', o++);
    samples.push(s);
    say(`  cancel ${s.mode.padEnd(6)}: ${s.totalMs.toFixed(0)} ms (CANCELED ${s.canceledMs.toFixed(0)} ms, processes gone ${s.goneMs.toFixed(0)} ms)`);
  }
  await stack.stop();
  const of = (mode: string) => samples.filter((s) => s.mode === mode);
  const obey = stats(of('obey').map((s) => s.totalMs), 1);
  const ignore = stats(of('ignore').map((s) => s.totalMs), 1);
  const early = samples.filter((s) => s.canceledBeforeGone).length;
  return {
    rows: [
      row({
        id: '7',
        scenario: `cancel → CANCELED & group gone, engine obeys SIGTERM: p99 (n=${obey.n})`,
        unit: 'ms',
        ours: obey.p99,
        baseline: null,
        goal: '≤ 500 ms',
        met: (obey.p99 ?? Infinity) <= 500 && early === 0,
      }),
      row({
        id: '7',
        scenario: `cancel, engine ignores it: max (n=${ignore.n}), baseline = grace`,
        unit: 'ms',
        ours: ignore.max,
        baseline: CANCEL_GRACE_MS,
        goal: '≤ grace + 500 ms',
        met: (ignore.max ?? Infinity) <= CANCEL_GRACE_MS + 500 && early === 0,
      }),
    ],
    details: { graceMs: CANCEL_GRACE_MS, signal: 'SIGTERM', obey, ignore, canceledBeforeProcessesGone: early, samples },
  };
}
