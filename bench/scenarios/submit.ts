/**
 * Scenario 1, submit: POST /runs, multipart with a small attachment, no worker running (the
 * runs stay QUEUED), against a bare Fastify route that parses the same multipart body and
 * answers a constant. Same autocannon settings for both; rounds alternate which goes first.
 */
import type { WesStack } from '../lib/harness';
import { helloSubmission } from '../lib/fixtures';
import { LoadResult, runLoad } from '../lib/load';
import { countCommands } from '../lib/monitor';
import { Bench } from '../lib/harness';
import { row, say, ScenarioResult } from '../lib/util';

export async function submitScenario(b: Bench, front: WesStack, baselineOrigin: string): Promise<ScenarioResult> {
  const sub = helloSubmission('submit');
  const connections = 10;
  const durationS = b.full ? 10 : 4;
  const rounds = b.full ? 3 : 2;
  const target = (which: 'ours' | 'baseline') => ({
    url: `${which === 'ours' ? front.origin : baselineOrigin}/ga4gh/wes/v1/runs`,
    method: 'POST' as const,
    headers: { 'content-type': sub.contentType },
    body: sub.body,
    connections,
  });
  // Warm both up (JIT, connection pools, Redis scripts loaded).
  for (const which of ['ours', 'baseline'] as const) await runLoad({ ...target(which), durationS: 1 });
  const results: Record<'ours' | 'baseline', LoadResult[]> = { ours: [], baseline: [] };
  for (let r = 0; r < rounds; r++) {
    const order: ('ours' | 'baseline')[] = r % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
    for (const which of order) {
      const res = await runLoad({ ...target(which), durationS });
      results[which].push(res);
      say(`  submit ${which.padEnd(8)} round ${r + 1}: ${res.rps} runs/s, p50 ${res.p50} ms, p99 ${res.p99} ms, non-2xx ${res.non2xx}, errors ${res.errors}`);
    }
  }
  const mean = (xs: LoadResult[], f: (x: LoadResult) => number | null) => xs.reduce((a, x) => a + (f(x) ?? NaN), 0) / xs.length;
  const ours = { rps: mean(results.ours, (x) => x.rps), p99: mean(results.ours, (x) => x.p99), p50: mean(results.ours, (x) => x.p50) };
  const base = { rps: mean(results.baseline, (x) => x.rps), p99: mean(results.baseline, (x) => x.p99), p50: mean(results.baseline, (x) => x.p50) };
  const failures = [...results.ours, ...results.baseline].reduce((a, x) => a + x.non2xx + x.errors, 0);

  // Redis commands of one submit (MONITOR, outside the timed runs).
  const commands = await countCommands(b.redisUrl, ['wes-api'], 10, async () => {
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${front.base}/runs`, { method: 'POST', headers: { 'content-type': sub.contentType }, body: sub.body });
      await res.arrayBuffer();
    }
  });

  const ratio = ours.rps / base.rps;
  return {
    rows: [
      row({
        id: '1',
        scenario: `submit POST /runs multipart (c=${connections}): rate`,
        unit: 'runs/s',
        ours: ours.rps,
        baseline: base.rps,
        goal: '≥ 0.5×',
        met: ratio >= 0.5 && failures === 0,
        note: failures ? `${failures} failed requests` : undefined,
      }),
      row({ id: '1', scenario: 'submit: p99 latency', unit: 'ms', ours: ours.p99, baseline: base.p99, goal: '—', met: null }),
    ],
    details: {
      connections,
      durationS,
      rounds,
      bodyBytes: sub.body.length,
      ours: results.ours,
      baseline: results.baseline,
      redisCommandsPerSubmit: commands,
    },
  };
}
