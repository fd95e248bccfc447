/**
 * Cancel latency: the time from POST /runs/{id}/cancel to the run's state CANCELED with every
 * process of its engine gone (found by scanning /proc for the run id in command lines and
 * working folders), over --runs runs per scenario, each run cancelled while its tool runs:
 *
 *   cwltool-sigint   cwltool with its own stop signal (SIGINT), which it honours at once
 *   cwltool-sigterm  WES_CANCEL_SIGNAL=SIGTERM: cwltool takes ~10 s to honour it, so the worker
 *                    sends SIGKILL after the grace period
 *   tool-ignores     SIGINT, but the tool traps INT and TERM: whatever survives cwltool in the
 *                    group is SIGKILLed after the grace period
 *
 * Each scenario runs on a fresh API and one worker (concurrency 1) against a private
 * redis-server. Prints p50/p95/max per scenario and the grace setting, writes the figures to
 * bench/results/cancel-latency-<time>.json and prints them as JSON on the last line.
 *
 * Usage: npm run cancel-latency -- [--runs 20] [--grace 2000] [--scenarios cwltool-sigint,cwltool-sigterm,tool-ignores]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort, killAllChildren, killMatching, Managed, processesMatching, startPrivateRedis, stopEverythingOnSignals } from './lib/proc';
import { cleanEnv, fmtMs, ROOT, snapshotBuild, summary, tailOf, WesProcesses } from './lib/wes-stack';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    grace: { type: 'string', default: '2000' },
    scenarios: { type: 'string', default: 'cwltool-sigint,cwltool-sigterm,tool-ignores' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n');
  process.exit(0);
}
const RUNS = Math.max(1, Number(opt.runs));
const GRACE_MS = Number(opt.grace);

interface Scenario {
  name: string;
  description: string;
  env: Record<string, string>;
  fixture: 'long-sleep.cwl' | 'trap-sleep.cwl';
}

const SCENARIOS: Scenario[] = [
  { name: 'cwltool-sigint', description: "cwltool, its own stop signal (SIGINT)", env: {}, fixture: 'long-sleep.cwl' },
  {
    name: 'cwltool-sigterm',
    description: 'cwltool, WES_CANCEL_SIGNAL=SIGTERM (honoured only after ~10 s: SIGKILL after the grace)',
    env: { WES_CANCEL_SIGNAL: 'SIGTERM' },
    fixture: 'long-sleep.cwl',
  },
  {
    name: 'tool-ignores',
    description: 'cwltool with SIGINT, the tool traps INT and TERM (SIGKILL after the grace)',
    env: {},
    fixture: 'trap-sleep.cwl',
  },
];
const selected = String(opt.scenarios)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of selected) if (!SCENARIOS.some((x) => x.name === s)) throw new Error(`unknown scenario ${s}`);

let root = '';
let workDir = '';
stopEverythingOnSignals({ marker: () => workDir, folder: () => root, keep: !!opt.keep });

interface Sample {
  runId: string;
  /** POST /cancel → state CANCELED and no process of the run left (the later of the two). */
  totalMs: number;
  canceledMs: number;
  processesGoneMs: number;
  /** The run showed CANCELED while a process of it was still alive. */
  canceledBeforeGone: boolean;
  processesAtCancel: number;
  stopNote: string;
  sigkill: boolean;
}

async function api<T = any>(procs: WesProcesses, method: string, p: string, body?: FormData): Promise<{ status: number; body: T }> {
  const res = await fetch(`${procs.api}${p}`, { method, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed as T };
}

async function oneRun(procs: WesProcesses, scenario: Scenario, i: number): Promise<Sample> {
  const seconds = 7000 + i; // unique: `sleep <seconds>` names this run's tool
  const form = new FormData();
  form.append('workflow_type', 'CWL');
  form.append('workflow_type_version', 'v1.2');
  form.append('workflow_url', scenario.fixture);
  form.append('workflow_params', JSON.stringify({ seconds }));
  form.append('workflow_attachment', new Blob([readFileSync(path.join(__dirname, 'chaos', scenario.fixture))]), scenario.fixture);
  const submitted = await api<{ run_id: string }>(procs, 'POST', '/runs', form);
  if (submitted.status !== 200) throw new Error(`submit: ${submitted.status} ${JSON.stringify(submitted.body)}`);
  const runId = submitted.body.run_id;

  // Wait until the tool itself runs (not only cwltool starting up).
  const ready = Date.now() + 60_000;
  for (;;) {
    const state = (await api(procs, 'GET', `/runs/${runId}/status`)).body.state;
    const procsOfRun = processesMatching(runId);
    if (state === 'RUNNING' && procsOfRun.some((p) => p.cmdline.startsWith('sleep ') && p.cmdline.includes(String(seconds)))) break;
    if (Date.now() > ready) throw new Error(`run ${runId} not running its tool after 60 s (state ${state})`);
    await sleep(50);
  }
  await sleep(200);
  const processesAtCancel = processesMatching(runId).length;

  const t0 = performance.now();
  const cancel = await api(procs, 'POST', `/runs/${runId}/cancel`);
  if (cancel.status !== 200) throw new Error(`cancel: ${cancel.status}`);
  let canceledAt: number | undefined;
  let goneAt: number | undefined;
  let canceledBeforeGone = false;
  const deadline = Date.now() + 60_000;
  while (canceledAt === undefined || goneAt === undefined) {
    if (canceledAt === undefined) {
      const state = (await api(procs, 'GET', `/runs/${runId}/status`)).body.state;
      if (state === 'CANCELED') canceledAt = performance.now();
    }
    const alive = processesMatching(runId);
    if (alive.length === 0) goneAt ??= performance.now();
    else if (canceledAt !== undefined) canceledBeforeGone = true;
    if (Date.now() > deadline) throw new Error(`run ${runId}: not CANCELED with its processes gone 60 s after the cancel`);
    await sleep(10);
  }
  const log = (await api<{ run_log?: { system_logs?: string[] }; system_logs?: string[] }>(procs, 'GET', `/runs/${runId}`)).body;
  const systemLogs = log.run_log?.system_logs ?? log.system_logs ?? [];
  const stopNote = systemLogs.find((l) => l.includes('stopped with')) ?? systemLogs.join(' | ');
  return {
    runId,
    totalMs: Math.max(canceledAt, goneAt) - t0,
    canceledMs: canceledAt - t0,
    processesGoneMs: goneAt - t0,
    canceledBeforeGone,
    processesAtCancel,
    stopNote,
    sigkill: /SIGKILL/.test(stopNote),
  };
}

async function main() {
  root = mkdtempSync(path.join(os.tmpdir(), 'wes-cancel-latency-'));
  const logDir = path.join(root, 'logs');
  const redisDir = path.join(root, 'redis');
  for (const d of [logDir, redisDir]) mkdirSync(d, { recursive: true });
  const codeDir = snapshotBuild(path.join(root, 'app'));
  const redis = await startPrivateRedis(redisDir, logDir);
  process.stdout.write(`cancel-latency: ${RUNS} runs per scenario · grace WES_CANCEL_GRACE_MS=${GRACE_MS} · folder ${root}\n`);

  const results: Record<string, unknown> = {};
  let failed = false;
  for (const scenario of SCENARIOS.filter((s) => selected.includes(s.name))) {
    const prefix = `lat-${scenario.name}-${randomBytes(2).toString('hex')}`;
    workDir = path.join(root, 'work', scenario.name);
    const dataDir = path.join(root, 'data', scenario.name);
    mkdirSync(workDir, { recursive: true });
    mkdirSync(dataDir, { recursive: true });
    const env = {
      ...cleanEnv(),
      REDIS_URL: redis.url,
      WES_KEY_PREFIX: prefix,
      WES_QUEUE_NAME: `${prefix}-runs`,
      WES_HOST: '127.0.0.1',
      WES_PORT: String(await freePort()),
      WES_DATA_DIR: dataDir,
      WES_WORK_DIR: workDir,
      WES_WORKER_CONCURRENCY: '1',
      WES_CANCEL_GRACE_MS: String(GRACE_MS),
      LOG_LEVEL: 'info',
      ...scenario.env,
    };
    const procs = new WesProcesses(codeDir, env, logDir, root);
    const apiProc: Managed = procs.startApi();
    const worker: Managed = procs.startWorker();
    if (!(await procs.waitApi(apiProc))) throw new Error(`API did not start: ${tailOf(apiProc.logFile)}`);
    if (!(await procs.waitWorker(worker))) throw new Error(`worker did not start: ${tailOf(worker.logFile)}`);

    process.stdout.write(`\n${scenario.name}: ${scenario.description}\n`);
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = await oneRun(procs, scenario, i);
      samples.push(s);
      process.stdout.write(
        `  ${String(i + 1).padStart(2)}  total ${fmtMs(s.totalMs).padStart(8)}  CANCELED ${fmtMs(s.canceledMs).padStart(8)}  processes gone ${fmtMs(s.processesGoneMs).padStart(8)}  (${s.processesAtCancel} procs; ${s.stopNote})\n`,
      );
    }
    await worker.stop(10_000);
    await apiProc.stop(10_000);
    const leaked = processesMatching(`${workDir}/`);
    const total = summary(samples.map((s) => s.totalMs));
    const r = {
      description: scenario.description,
      graceMs: GRACE_MS,
      cancelSignal: scenario.env.WES_CANCEL_SIGNAL ?? 'SIGINT (cwltool default)',
      totalMs: total,
      canceledMs: summary(samples.map((s) => s.canceledMs)),
      processesGoneMs: summary(samples.map((s) => s.processesGoneMs)),
      sigkillUsed: samples.filter((s) => s.sigkill).length,
      canceledBeforeProcessesGone: samples.filter((s) => s.canceledBeforeGone).length,
      leakedAfterStop: leaked.length,
    };
    if (r.canceledBeforeProcessesGone || r.leakedAfterStop) failed = true;
    results[scenario.name] = r;
    process.stdout.write(
      `  => cancel → CANCELED & processes gone: p50 ${fmtMs(total.p50)} · p95 ${fmtMs(total.p95)} · max ${fmtMs(total.max)} (n ${total.n}, grace ${GRACE_MS} ms, ` +
        `SIGKILL used ${r.sigkillUsed}/${samples.length}, CANCELED before processes gone ${r.canceledBeforeProcessesGone}, leaked ${leaked.length})\n`,
    );
    killMatching(`${workDir}/`);
  }
  await redis.proc.stop(5000);

  process.stdout.write('\nsummary (POST /cancel → CANCELED with all engine processes gone):\n');
  process.stdout.write(`  ${'scenario'.padEnd(18)}${'p50'.padStart(10)}${'p95'.padStart(10)}${'max'.padStart(10)}   grace    SIGKILL\n`);
  for (const [name, r] of Object.entries(results) as [string, any][]) {
    process.stdout.write(
      `  ${name.padEnd(18)}${fmtMs(r.totalMs.p50).padStart(10)}${fmtMs(r.totalMs.p95).padStart(10)}${fmtMs(r.totalMs.max).padStart(10)}   ${r.graceMs} ms  ${r.sigkillUsed}/${r.totalMs.n}\n`,
    );
  }
  const out = { benchmark: 'cancel-latency', date: new Date().toISOString(), runsPerScenario: RUNS, graceMs: GRACE_MS, host: { cpus: os.cpus().length }, results, ok: !failed };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `cancel-latency-${out.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2));
  process.stdout.write(`written ${path.relative(ROOT, file)}\n`);
  if (!opt.keep) rmSync(root, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(out) + '\n');
  return failed ? 1 : 0;
}

main()
  .then((code) => process.exit(code))
  .catch((err) => {
    process.stderr.write(`cancel-latency: ${err instanceof Error ? err.stack : String(err)}\n`);
    killAllChildren();
    if (workDir) killMatching(`${workDir}/`);
    process.stderr.write(`cancel-latency: logs kept in ${root}/logs\n`);
    process.exit(2);
  });
