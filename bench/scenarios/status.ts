/**
 * Scenario 2, status: GET /runs/{id}/status of a few existing runs, against a bare Fastify GET
 * answering constant JSON. First both at full speed (closed loop, c connections): the rates.
 * Then at rising offered loads (autocannon overallRate: 25 %, 50 %, 75 % of the rate our API
 * reached), the same for both: p99 against p99 at the same offered load. The runs are QUEUED
 * (not terminal: every request reads Redis); a last pair polls finished runs (COMPLETE), which
 * the API answers from its terminal-state cache.
 */
import { RunKeys, RunStore, WorkflowStateMachine } from '../../libs/runs/src';
import type { Bench, WesStack } from '../lib/harness';
import { LoadResult, runLoad } from '../lib/load';
import { countCommands } from '../lib/monitor';
import { row, Row, say, ScenarioResult } from '../lib/util';

type Which = 'ours' | 'baseline';

export async function statusScenario(b: Bench, front: WesStack, baselineOrigin: string): Promise<ScenarioResult> {
  const connections = 16;
  const durationS = b.full ? 8 : 3;
  const rounds = 2;
  const newest = (await new RunStore(b.redis, front.keys).listPage(10)).rows.map((r) => r.runId);
  const ids = newest.slice(0, 5);
  if (ids.length < 5) throw new Error('status: the submit scenario left fewer than 5 runs');
  // Five more runs taken to COMPLETE through the state machine (no worker runs here).
  const finished = newest.slice(5, 10);
  const sm = new WorkflowStateMachine(b.redis, new RunKeys(front.prefix));
  for (const id of finished) {
    await sm.sendOrThrow(id, 'initialize', { fields: { worker: 'bench', host: 'bench', wpid: '1' } });
    await sm.sendOrThrow(id, 'run', { fields: { cmd: '["true"]' } });
    await sm.sendOrThrow(id, 'complete', { fields: { exit_code: '0', outputs: '{}' } });
  }
  const paths = (runIds: string[]) => runIds.map((id) => `/ga4gh/wes/v1/runs/${id}/status`);
  const load = (which: Which, runIds: string[], overallRate?: number) =>
    runLoad({ url: which === 'ours' ? front.origin : baselineOrigin, paths: paths(runIds), connections, durationS, overallRate });

  for (const which of ['ours', 'baseline'] as const) await runLoad({ url: which === 'ours' ? front.origin : baselineOrigin, paths: paths(ids), connections, durationS: 1 });

  const levels: { name: string; results: Record<Which, LoadResult[]>; rate?: number; runIds: string[] }[] = [];
  const measure = async (name: string, runIds: string[], rate?: number) => {
    const level = { name, rate, runIds, results: { ours: [], baseline: [] } as Record<Which, LoadResult[]> };
    for (let r = 0; r < rounds; r++) {
      const order: Which[] = (levels.length + r) % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
      for (const which of order) {
        const res = await load(which, runIds, rate);
        level.results[which].push(res);
        say(`  status ${name.padEnd(22)} ${which.padEnd(8)}: ${res.rps} req/s, p50 ${res.p50} ms, p99 ${res.p99} ms, non-2xx ${res.non2xx}`);
      }
    }
    levels.push(level);
    return level;
  };
  const avg = (xs: LoadResult[], f: (x: LoadResult) => number | null) => xs.reduce((a, x) => a + (f(x) ?? NaN), 0) / xs.length;

  const max = await measure('max', ids);
  const oursMax = avg(max.results.ours, (x) => x.rps);
  for (const share of [0.25, 0.5, 0.75]) {
    const rate = Math.max(50, Math.round((oursMax * share) / 50) * 50);
    await measure(`${Math.round(share * 100)}% = ${rate} req/s`, ids, rate);
  }
  const cached = await measure('max, finished runs', finished);

  const rows: Row[] = [];
  const failures = (l: (typeof levels)[number]) => [...l.results.ours, ...l.results.baseline].reduce((a, x) => a + x.non2xx + x.errors, 0);
  const rateRow = (l: (typeof levels)[number], label: string) => {
    const o = avg(l.results.ours, (x) => x.rps);
    const bl = avg(l.results.baseline, (x) => x.rps);
    return row({ id: '2', scenario: label, unit: 'req/s', ours: o, baseline: bl, goal: '≥ 0.6×', met: o / bl >= 0.6 && failures(l) === 0 });
  };
  const p99Row = (l: (typeof levels)[number], label: string, withGoal: boolean) => {
    const o = avg(l.results.ours, (x) => x.p99);
    const bl = avg(l.results.baseline, (x) => x.p99);
    const achieved = avg(l.results.ours, (x) => x.rps);
    return row({
      id: '2',
      scenario: label,
      unit: 'ms',
      ours: o,
      baseline: bl,
      goal: withGoal ? '≤ 2× p99' : '—',
      met: withGoal ? o / bl <= 2 && failures(l) === 0 : null,
      note: l.rate ? `achieved ${Math.round(achieved)} of ${l.rate} req/s offered` : undefined,
    });
  };
  rows.push(rateRow(max, `status GET /runs/{id}/status, max load (c=${connections}): rate`));
  rows.push(p99Row(max, 'status, max load: p99 (closed loop)', false));
  for (const l of levels.filter((x) => x.rate)) rows.push(p99Row(l, `status @ ${l.rate} req/s offered: p99`, true));
  rows.push(rateRow(cached, 'status of finished runs (cache), max: rate'));

  const queuedCommands = await countCommands(b.redisUrl, ['wes-api'], 20, async () => {
    for (let i = 0; i < 20; i++) await (await fetch(`${front.base}/runs/${ids[i % ids.length]}/status`)).arrayBuffer();
  });
  const finishedCommands = await countCommands(b.redisUrl, ['wes-api'], 20, async () => {
    for (let i = 0; i < 20; i++) await (await fetch(`${front.base}/runs/${finished[i % finished.length]}/status`)).arrayBuffer();
  });
  return {
    rows,
    details: {
      connections,
      durationS,
      rounds,
      levels: levels.map((l) => ({ name: l.name, offeredRate: l.rate ?? 'max', ours: l.results.ours, baseline: l.results.baseline })),
      redisCommandsPerStatus: { queuedRun: queuedCommands, finishedRun: finishedCommands },
    },
  };
}
