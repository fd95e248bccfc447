/**
 * The benchmark of issue 5: the server against the bare limits of its own parts, each baseline
 * measured in the same run, on the same private Redis, with the same load-generator settings.
 *
 *   1 submit      POST /runs multipart                vs bare Fastify + @fastify/multipart
 *   2 status      GET /runs/{id}/status, rising load  vs bare Fastify GET
 *   3 list        GET /runs page 1 and deep, N runs   vs the same with 1,000 runs
 *   4 dispatch    POST answered → engine started      vs bare BullMQ add → processor called
 *   5 end to end  two-step CWL via WES                vs cwltool directly
 *   6 throughput  no-op runs through 2 workers × 4    vs bare BullMQ jobs spawning `true`
 *   7 cancel      cancel → CANCELED, group gone       vs the grace period
 *   8 footprint   Redis bytes per run, API/worker RSS
 *   9 upload      one big attachment (256 MiB; 1 GiB full), local and S3 store
 *                                                     vs bare Fastify to a file / SDK PutObject
 *  10 download    the same as a run output, whole and Range   vs bare Fastify / presigned GET
 *  11 real wflows the cwl-diff documents via `wes run`, 2 at once   vs cwltool directly, 2 at once
 *  12 pool watch  Redis commands per worker check and reaper sweep, 10k runs held by 50 workers
 *                                                     vs the same with 1k runs held
 *  13 sandbox     5 and 6 with engines in their sandbox   vs the same with WES_SANDBOX=none
 *
 * Prints one table and writes it, with every figure measured, to bench/results/latest.json and
 * bench/results/bench-<mode>-<time>.json. Quick mode (default) takes a few minutes; --full uses
 * 1,000,000 stored runs, 2,000 throughput runs, longer runs, a 1 GiB file and every cwl-diff document.
 *
 * Usage: npm run bench [-- --full] [-- --only 1,2,6] [-- --keep] [-- --profile]
 *   --only     scenarios to run (8 needs 3 and 6, which it runs; 9 and 10 run together)
 *   --keep     keep the temporary folder (logs, profiles) instead of removing it
 *   --profile  profile the API and workers (V8 CPU profiler, started by a preload: see
 *              lib/profile.ts) and summarize where the CPU went into the JSON (the figures are
 *              then a little slower: use it to find where time goes)
 *   BENCH_LIST_RUNS=<n> (environment) overrides the number of stored runs of scenario 3
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { freePort, killAllChildren, killMatching, startPrivateRedis, stopEverythingOnSignals } from '../scripts/lib/proc';
import { ROOT, snapshotBuild } from '../scripts/lib/wes-stack';
import { Bench } from './lib/harness';
import { cpuBusy, formatTable, loadAverage, machine, markdownTable, Row, say, ScenarioResult, sleep } from './lib/util';
import { cancelScenario } from './scenarios/cancel';
import { dispatchScenario } from './scenarios/dispatch';
import { e2eScenario } from './scenarios/e2e';
import { footprintRows } from './scenarios/footprint';
import { listScenario } from './scenarios/list';
import { sandboxCostScenario } from './scenarios/sandbox-cost';
import { statusScenario } from './scenarios/status';
import { submitScenario } from './scenarios/submit';
import { bigDataScenario } from './scenarios/big-data';
import { poolWatchScenario } from './scenarios/pool-watch';
import { realWorkflowsScenario } from './scenarios/real-workflows';
import { throughputScenario } from './scenarios/throughput';

const { values: opt } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    only: { type: 'string', default: '1,2,3,4,5,6,7,8,9,10,11,12,13' },
    keep: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n');
  process.exit(0);
}
const only = new Set(String(opt.only).split(',').map((s) => s.trim()));

let root = '';
stopEverythingOnSignals({ marker: () => root, folder: () => root, keep: !!opt.keep });

/** The code under test: its git commit, and whether the working tree had changes (the build is of the tree). */
function codeVersion(): { commit: string; dirty: boolean } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    return { commit: git('rev-parse', '--short=12', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    return { commit: 'unknown (not a git checkout)', dirty: false };
  }
}

async function main(): Promise<number> {
  const started = new Date();
  const mode = opt.full ? 'full' : 'quick';
  root = mkdtempSync(path.join(os.tmpdir(), 'wes-bench-'));
  const logDir = path.join(root, 'logs');
  const redisDir = path.join(root, 'redis');
  for (const d of [logDir, redisDir]) mkdirSync(d, { recursive: true });
  const host = machine();
  const code = codeVersion();
  say(`bench (${mode}): ${host.nproc} × ${host.model}, ${host.memoryGiB} GiB, node ${host.node} · code ${code.commit}${code.dirty ? ' + uncommitted changes' : ''} · folder ${root}`);
  const busyBefore = await cpuBusy(2000);
  const loadBefore = loadAverage();
  say(`machine busy before start: ${(busyBefore * 100).toFixed(0)} % of all CPUs (load average ${loadBefore.join(' ')})`);

  const codeDir = snapshotBuild(path.join(root, 'app'));
  const redis = await startPrivateRedis(redisDir, logDir);
  const b = new Bench({ full: !!opt.full, profile: !!opt.profile, root, codeDir, logDir, redisUrl: redis.url, redisPid: redis.proc.pid });
  // AOF stays on (as deployed), but no automatic rewrite: a fork of a large Redis in the middle of a timed run is noise.
  await b.redis.config('SET', 'auto-aof-rewrite-percentage', '0');
  say(`private redis-server on port ${redis.port}`);

  const results: Record<string, ScenarioResult> = {};
  const timings: Record<string, number> = {};
  const errors: Record<string, string> = {};
  const step = async (key: string, label: string, fn: () => Promise<void>) => {
    const t0 = Date.now();
    say(`${label} ...`);
    try {
      await fn();
    } catch (err) {
      errors[key] = err instanceof Error ? (err.stack ?? err.message) : String(err);
      say(`${label} FAILED: ${errors[key]}`);
    }
    timings[key] = Math.round((Date.now() - t0) / 100) / 10;
  };

  if (only.has('1') || only.has('2')) {
    await step('1-2', 'scenarios 1 (submit) and 2 (status)', async () => {
      const front = await b.startWes('front');
      const port = await freePort();
      const fastify = b.startTs('fastify-baseline', path.join(__dirname, 'baselines', 'fastify-server.ts'), { BENCH_PORT: String(port) });
      await b.waitLog(fastify, 'baseline fastify listening');
      const baselineOrigin = `http://127.0.0.1:${port}`;
      try {
        if (only.has('1') || only.has('2')) results['1'] = await submitScenario(b, front, baselineOrigin);
        if (only.has('2')) results['2'] = await statusScenario(b, front, baselineOrigin);
      } finally {
        await fastify.stop(5000);
        await front.stop();
      }
    });
  }
  if (only.has('4')) await step('4', 'scenario 4 (dispatch)', async () => void (results['4'] = await dispatchScenario(b)));
  if (only.has('5')) await step('5', 'scenario 5 (end to end)', async () => void (results['5'] = await e2eScenario(b)));
  if (only.has('6') || only.has('8')) await step('6', 'scenario 6 (throughput)', async () => void (results['6'] = await throughputScenario(b)));
  if (only.has('7')) await step('7', 'scenario 7 (cancel)', async () => void (results['7'] = await cancelScenario(b)));
  if (only.has('9') || only.has('10')) {
    await step('9-10', 'scenarios 9 (upload) and 10 (download) of a big file', async () => {
      const r = await bigDataScenario(b);
      results['9'] = r.upload;
      results['10'] = r.download;
    });
  }
  if (only.has('11')) await step('11', 'scenario 11 (real workflows)', async () => void (results['11'] = await realWorkflowsScenario(b)));
  if (only.has('12')) await step('12', 'scenario 12 (watching a big pool)', async () => void (results['12'] = await poolWatchScenario(b)));
  if (only.has('13')) await step('13', 'scenario 13 (the sandbox\'s cost)', async () => void (results['13'] = await sandboxCostScenario(b)));
  let listFootprint: Record<string, unknown> | undefined;
  if (only.has('3') || only.has('8')) {
    await step('3', 'scenario 3 (list) and the footprint at N runs', async () => {
      const r = await listScenario(b);
      results['3'] = r.list;
      listFootprint = r.footprint;
    });
  }
  if (only.has('8')) {
    results['8'] = { rows: footprintRows(listFootprint, results['6']?.details.footprintViaApi), details: { atN: listFootprint, viaApi: results['6']?.details.footprintViaApi } };
  }
  if (!only.has('1') && results['1']) delete results['1'];
  if (!only.has('6') && results['6']) results['6'].rows = [];

  await b.stopAll();
  b.redis.disconnect();
  await redis.proc.stop(10_000);
  const busyAfter = await cpuBusy(2000);

  const rows: Row[] = Object.keys(results)
    .sort((x, y) => parseInt(x, 10) - parseInt(y, 10))
    .flatMap((k) => results[k].rows);
  const finished = new Date();
  const out = {
    benchmark: 'wes-server issue 5',
    mode,
    date: started.toISOString(),
    durationS: Math.round((finished.getTime() - started.getTime()) / 1000),
    code,
    machine: { ...host, busyBefore: Math.round(busyBefore * 100) / 100, busyAfter: Math.round(busyAfter * 100) / 100, loadBefore, loadAfter: loadAverage() },
    notes: [
      'Each baseline ran in the same run, on the same private redis-server (AOF on, automatic rewrite off), with the same autocannon settings; repeated measurements alternate.',
      'LOG_LEVEL=info for the API and workers (the default); the baselines log nothing.',
      mode === 'quick' ? 'Quick mode: 100,000 stored runs (not 1,000,000), 500 throughput runs per round (not 2,000), short load runs, a 256 MiB file up and down (not 1 GiB), 10 cwl-diff documents (not all).' : 'Full mode.',
      `The machine was ${Math.round(busyBefore * 100)} % busy before the bench started (other work): absolute figures are noisy, ratios less so.`,
    ],
    rows,
    goalsMet: rows.filter((r) => r.met === true).length,
    goalsMissed: rows.filter((r) => r.met === false).map((r) => `${r.id} ${r.scenario}`),
    errors,
    secondsPerScenario: timings,
    details: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.details])),
    ...(opt.profile ? { profiles: b.profiles } : {}),
  };

  process.stdout.write(`\nwes-server benchmark (${mode}) · ${host.nproc} × ${host.model} · node ${host.node} · code ${code.commit}${code.dirty ? '+' : ''} · ${out.durationS} s\n`);
  process.stdout.write(`machine busy before/after: ${Math.round(busyBefore * 100)} % / ${Math.round(busyAfter * 100)} % of all CPUs\n\n`);
  process.stdout.write(formatTable(rows) + '\n');
  for (const r of rows.filter((x) => x.note)) process.stdout.write(`  ${r.id} ${r.scenario}: ${r.note}\n`);
  if (Object.keys(errors).length) process.stdout.write(`\nscenarios that failed: ${Object.keys(errors).join(', ')} (see the JSON)\n`);

  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const json = JSON.stringify({ ...out, markdown: markdownTable(rows) }, null, 2);
  writeFileSync(path.join(dir, `bench-${mode}-${stamp}.json`), json);
  writeFileSync(path.join(dir, 'latest.json'), json);
  process.stdout.write(`\nwritten bench/results/latest.json and bench/results/bench-${mode}-${stamp}.json\n`);
  if (opt.keep) process.stdout.write(`logs kept in ${root}/logs\n`);
  else rmSync(root, { recursive: true, force: true });
  return Object.keys(errors).length ? 1 : 0;
}

main()
  .then(async (code) => {
    await sleep(10);
    process.exit(code);
  })
  .catch((err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    killAllChildren();
    if (root) killMatching(`${root}/`);
    process.stderr.write(`bench: logs kept in ${root}/logs\n`);
    process.exit(2);
  });

