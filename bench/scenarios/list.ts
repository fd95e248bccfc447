/**
 * Scenario 3, list: GET /runs?page_size=100, the first page and a deep one (90 % of the way
 * down, token made from a run id as the API makes it: base64url of the last id of the previous
 * page), with 1,000 stored runs and with N (100,000 quick, 1,000,000 full). Two APIs, same code
 * and settings, one per key prefix (1,000 runs / N runs), measured alternately with the same
 * autocannon settings; the figure is the p50 latency at N over the p50 at 1,000.
 *
 * The runs are written through the product's state machine (seed.ts: enqueue, initialize, run,
 * complete, the fields a small run has), so this scenario also measures, for scenario 8, Redis
 * bytes per finished run (used_memory before/after the N runs), and the RSS of the API and of a
 * worker idle and at N stored runs.
 */
import type { Bench } from '../lib/harness';
import { http } from '../lib/harness';
import { LoadResult, runLoad } from '../lib/load';
import { countCommands } from '../lib/monitor';
import { SEED_TAG, seedRuns } from '../lib/seed';
import { memoryAfterGc } from '../lib/memory';
import { describeHash, median, round, row, say, ScenarioResult, sleep, usedMemory } from '../lib/util';

const MiB = 2 ** 20;

export async function listScenario(b: Bench): Promise<{ list: ScenarioResult; footprint: Record<string, unknown> }> {
  const bigN = Number(process.env.BENCH_LIST_RUNS) || (b.full ? 1_000_000 : 100_000);
  const smallN = 1000;
  const connections = 4;
  // Short slices, many rounds, each round pairing N with 1,000 back to back: the machine's
  // background load changes by the second, and a ratio of neighbours survives it better.
  const durationS = b.full ? 3 : 2;
  const rounds = b.full ? 10 : 6;
  const env = { WES_REAPER_INTERVAL_MS: '2000' };
  const big = await b.startWes('list-big', { env: { ...env, WES_CWLTOOL_PATH: '/bin/true' }, workers: 1 });
  const small = await b.startWes('list-1k', { env });
  await sleep(3000);
  const idle = await memoryAfterGc(b.memoryDir, { api: big.api.pid, worker: big.workers[0].pid, apiSmall: small.api.pid });

  const mem0 = await usedMemory(b.redis);
  const t0 = Date.now();
  let lastSay = 0;
  const bigIds = await seedRuns(b.redis, big.prefix, bigN, {
    onProgress: (done) => {
      if (Date.now() - lastSay > 5000) {
        lastSay = Date.now();
        say(`  list: ${done} of ${bigN} runs written`);
      }
    },
  });
  const seedSeconds = (Date.now() - t0) / 1000;
  await sleep(500);
  const mem1 = await usedMemory(b.redis);
  const smallIds = await seedRuns(b.redis, small.prefix, smallN);
  say(`  list: ${bigN} finished runs written in ${seedSeconds.toFixed(1)} s (${Math.round(bigN / seedSeconds)} runs/s)`);
  const sampleKey = big.keys.run(bigIds[bigIds.length >> 1]);
  const sample = await describeHash(b.redis, sampleKey);
  const sampleDoc = await describeHash(b.redis, big.keys.doc(bigIds[bigIds.length >> 1]));

  // The deep page: page k (from 0) in newest-first order, 90 % of the way down (and not the
  // last page, so it has a next token too); its token is the id at rank k*100-1.
  const deepPage = (n: number) => Math.min(Math.floor((0.9 * n) / 100), Math.floor(n / 100) - 2);
  const deepToken = (ids: string[]) => Buffer.from(ids[ids.length - deepPage(ids.length) * 100], 'utf8').toString('base64url');
  const paths = {
    first: '/ga4gh/wes/v1/runs?page_size=100',
    deepBig: `/ga4gh/wes/v1/runs?page_size=100&page_token=${deepToken(bigIds)}`,
    deepSmall: `/ga4gh/wes/v1/runs?page_size=100&page_token=${deepToken(smallIds)}`,
    // The filters (issue 13) walk their own indexes: every seeded run is COMPLETE and tagged
    // bench:seed, so these indexes are as big as the list's and the pages are the same runs.
    stateFirst: `/ga4gh/wes/v1/runs?page_size=100&state=COMPLETE`,
    tagDeepBig: `/ga4gh/wes/v1/runs?page_size=100&tag=${encodeURIComponent(SEED_TAG)}&page_token=${deepToken(bigIds)}`,
    tagDeepSmall: `/ga4gh/wes/v1/runs?page_size=100&tag=${encodeURIComponent(SEED_TAG)}&page_token=${deepToken(smallIds)}`,
  };
  // The pages are what they should be: 100 runs, the right first one, and a next token.
  for (const [origin, p, ids, rank] of [
    [big.origin, paths.first, bigIds, 0],
    [big.origin, paths.deepBig, bigIds, deepPage(bigIds.length) * 100],
    [small.origin, paths.first, smallIds, 0],
    [small.origin, paths.deepSmall, smallIds, deepPage(smallIds.length) * 100],
    [big.origin, paths.stateFirst, bigIds, 0],
    [small.origin, paths.stateFirst, smallIds, 0],
    [big.origin, paths.tagDeepBig, bigIds, deepPage(bigIds.length) * 100],
    [small.origin, paths.tagDeepSmall, smallIds, deepPage(smallIds.length) * 100],
  ] as const) {
    const res = await http<{ runs: { run_id: string; state: string }[]; next_page_token: string }>(`${origin}${p}`);
    const expected = ids[ids.length - 1 - rank];
    if (res.status !== 200 || res.body.runs.length !== 100 || res.body.runs[0].run_id !== expected || !res.body.next_page_token) {
      throw new Error(
        `list: unexpected page ${p}: HTTP ${res.status}, ${res.body.runs?.length} runs, first ${res.body.runs?.[0]?.run_id} (expected ${expected}), ` +
          `next token ${JSON.stringify(res.body.next_page_token)}`,
      );
    }
  }

  type Key = 'firstBig' | 'firstSmall' | 'deepBig' | 'deepSmall' | 'stateBig' | 'stateSmall' | 'tagBig' | 'tagSmall';
  const targets: Record<Key, { origin: string; path: string }> = {
    firstBig: { origin: big.origin, path: paths.first },
    firstSmall: { origin: small.origin, path: paths.first },
    deepBig: { origin: big.origin, path: paths.deepBig },
    deepSmall: { origin: small.origin, path: paths.deepSmall },
    stateBig: { origin: big.origin, path: paths.stateFirst },
    stateSmall: { origin: small.origin, path: paths.stateFirst },
    tagBig: { origin: big.origin, path: paths.tagDeepBig },
    tagSmall: { origin: small.origin, path: paths.tagDeepSmall },
  };
  const results = Object.fromEntries(Object.keys(targets).map((k) => [k, []])) as unknown as Record<Key, LoadResult[]>;
  // Each pair runs N then 1,000 or the other way round, alternating by round.
  const pairs: [Key, Key][] = [
    ['firstBig', 'firstSmall'],
    ['deepBig', 'deepSmall'],
    ['stateBig', 'stateSmall'],
    ['tagBig', 'tagSmall'],
  ];
  for (const k of Object.keys(targets) as Key[]) await runLoad({ url: `${targets[k].origin}${targets[k].path}`, connections, durationS: 1 });
  for (let r = 0; r < rounds; r++) {
    const order: Key[] = pairs.flatMap(([n, k]) => (r % 2 === 0 ? [k, n] : [n, k]));
    for (const k of order) {
      const res = await runLoad({ url: `${targets[k].origin}${targets[k].path}`, connections, durationS });
      results[k].push(res);
      say(`  list ${k.padEnd(10)} round ${r + 1}: ${res.rps} req/s, p50 ${res.p50} ms, p99 ${res.p99} ms, non-2xx ${res.non2xx}`);
    }
  }
  const atN = await memoryAfterGc(b.memoryDir, { api: big.api.pid, worker: big.workers[0].pid, apiSmall: small.api.pid });
  const commands = await countCommands(b.redisUrl, ['wes-api'], 5, async () => {
    for (let i = 0; i < 5; i++) await (await fetch(`${big.origin}${paths.deepBig}`)).arrayBuffer();
  });
  await small.stop();
  await big.stop();

  const avg = (xs: LoadResult[], f: (x: LoadResult) => number | null) => xs.reduce((a, x) => a + (f(x) ?? NaN), 0) / xs.length;
  const failures = Object.values(results)
    .flat()
    .reduce((a, x) => a + x.non2xx + x.errors, 0);
  // The figure: the median over rounds of (p50 at N / p50 at 1,000 in the same round).
  const ratioRow = (label: string, bigK: Key, smallK: Key) => {
    const o = median(results[bigK].map((x) => x.p50 ?? NaN));
    const bl = median(results[smallK].map((x) => x.p50 ?? NaN));
    const ratio = median(results[bigK].map((x, i) => (x.p50 ?? NaN) / (results[smallK][i].p50 ?? NaN)));
    return row({
      id: '3',
      scenario: label,
      unit: 'ms',
      ours: o,
      baseline: bl,
      ratio,
      goal: '≤ 1.2×',
      met: ratio <= 1.2 && failures === 0,
      note: `median of ${rounds} paired rounds; mean p99 ${avg(results[bigK], (x) => x.p99).toFixed(1)} vs ${avg(results[smallK], (x) => x.p99).toFixed(1)} ms`,
    });
  };
  const nLabel = bigN >= 1_000_000 ? `${bigN / 1_000_000}M` : `${bigN / 1000}k`;
  return {
    list: {
      rows: [
        ratioRow(`list page_size=100, first page: p50 at ${nLabel} runs vs 1k`, 'firstBig', 'firstSmall'),
        ratioRow(`list page_size=100, deep page (~90 % down): p50 at ${nLabel} vs 1k`, 'deepBig', 'deepSmall'),
        ratioRow(`list state=COMPLETE, first page: p50 at ${nLabel} vs 1k`, 'stateBig', 'stateSmall'),
        ratioRow(`list tag=${SEED_TAG}, deep page: p50 at ${nLabel} vs 1k`, 'tagBig', 'tagSmall'),
      ],
      details: { storedRuns: { big: bigN, small: smallN }, connections, durationS, rounds, results, redisCommandsPerListPage: commands, seedSeconds },
    },
    footprint: {
      storedRuns: bigN,
      redisBytesPerFinishedRun: Math.round((mem1 - mem0) / bigN),
      usedMemoryDelta: mem1 - mem0,
      sampleRunHash: sample,
      sampleDocHash: sampleDoc,
      // After a full garbage collection in each process (bench/lib/memory.ts).
      rssMiB: {
        apiIdle: round((idle.api?.rss ?? NaN) / MiB, 1),
        apiAtN: round((atN.api?.rss ?? NaN) / MiB, 1),
        api1kIdle: round((idle.apiSmall?.rss ?? NaN) / MiB, 1),
        apiAt1k: round((atN.apiSmall?.rss ?? NaN) / MiB, 1),
        workerIdle: round((idle.worker?.rss ?? NaN) / MiB, 1),
        workerAtN: round((atN.worker?.rss ?? NaN) / MiB, 1),
      },
      heapUsedMiB: {
        apiIdle: round((idle.api?.heapUsed ?? NaN) / MiB, 1),
        apiAtN: round((atN.api?.heapUsed ?? NaN) / MiB, 1),
        api1kIdle: round((idle.apiSmall?.heapUsed ?? NaN) / MiB, 1),
        apiAt1k: round((atN.apiSmall?.heapUsed ?? NaN) / MiB, 1),
      },
    },
  };
}
