/**
 * Chaos run: a private redis-server, the API and N workers with fast recovery settings; hundreds
 * of small CWL runs submitted, ~20% cancelled at random moments, while workers are SIGKILLed or
 * SIGTERMed and the API is SIGKILLed, at random, each replaced at once. Then everything settles
 * and the invariants are checked:
 *
 *   stuck = 0    every acknowledged run (and every run recorded without acknowledgement) is terminal
 *   lost = 0     every acknowledged run has its record (hash and index entry)
 *   flipped = 0  no run seen terminal (CANCELED above all) later shows another state, in the polls of
 *                Redis and of the API, and no run hash holds two terminal `t:<STATE>` times
 *   leaked = 0   no process names the chaos work folder (cmdline or cwd) once all runs are terminal,
 *                nor after everything is stopped
 *   counters     `<prefix>:counts` equals the true number of runs per state; no active-state index
 *                holds a run
 *   cancels      an acknowledged cancel always ends CANCELED (unless the run had already ended);
 *                no run ends CANCELED without a cancel request; outcomes match the workflows
 *
 * Usage: npm run chaos -- [--runs 200] [--workers 3] [--seconds 120] [--seed N] [--concurrency 2]
 *        [--cancel-fraction 0.2] [--interval 4 (mean seconds between kills)] [--settle-seconds 180]
 *        [--redis-restarts (also restart redis-server: SIGTERM, AOF kept)]
 *        [--pauses (also freeze a worker with SIGSTOP, then SIGCONT: a hung worker)] [--pause-seconds 2-6]
 *        [--keep] [--no-snapshot]
 * Exits 1 if an invariant fails (the logs are kept and their folder printed), 130 on Ctrl-C.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort, killAllChildren, killMatching, Managed, processesMatching, startPrivateRedis } from './lib/proc';
import { RunKeys, RunStore, holderPlace } from '../libs/runs/src';
import { cleanEnv, fmtMs, rng, ROOT, snapshotBuild, summary, tailOf, WesProcesses } from './lib/wes-stack';

// ---------------------------------------------------------------------------------------------
// Options

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    workers: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '120' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '2' },
    'cancel-fraction': { type: 'string', default: '0.2' },
    'settle-seconds': { type: 'string', default: '180' },
    interval: { type: 'string', default: '4' },
    keep: { type: 'boolean', default: false },
    'redis-restarts': { type: 'boolean', default: false },
    pauses: { type: 'boolean', default: false },
    'pause-seconds': { type: 'string', default: '2-6' },
    'no-snapshot': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n');
  process.exit(0);
}
const int = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
  return n;
};
const RUNS = int('runs', opt.runs);
const WORKERS = Math.max(1, int('workers', opt.workers));
const CHAOS_MS = int('seconds', opt.seconds) * 1000;
const CONCURRENCY = Math.max(1, int('concurrency', opt.concurrency));
const SETTLE_MS = int('settle-seconds', opt['settle-seconds']) * 1000;
const CANCEL_FRACTION = Number(opt['cancel-fraction']);
const INTERVAL_MS = Math.max(200, Number(opt.interval) * 1000);
const SEED = opt.seed !== undefined ? int('seed', opt.seed) >>> 0 : randomBytes(4).readUInt32LE(0);

/** Fast recovery settings: every failure path fires within seconds. */
const SETTINGS = {
  WES_WORKER_CONCURRENCY: String(CONCURRENCY),
  WES_HEARTBEAT_MS: '500',
  WES_REAPER_INTERVAL_MS: '1000',
  WES_JOB_LOCK_MS: '3000',
  WES_STALLED_INTERVAL_MS: '1500',
  WES_QUEUED_JOB_CHECK_MS: '5000',
  WES_CANCEL_GRACE_MS: '2000',
  WES_CANCEL_POLL_MS: '500',
  WES_DRAIN_MS: '3000',
  WES_SHUTDOWN_POLICY: 'requeue',
  WES_MAX_ATTEMPTS: '5',
  WES_WORKER_LOSS_POLICY: 'requeue',
};

const TERMINAL = new Set(['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED']);
const TERMINAL_TIME_FIELDS = [...TERMINAL].map((s) => `t:${s}`);
const FIXTURES = path.join(__dirname, 'chaos');

// ---------------------------------------------------------------------------------------------
// State of the chaos run

type Kind = 'ok' | 'fail' | 'pipeline';

interface Plan {
  index: number;
  kind: Kind;
  seconds: number;
  /** Milliseconds after the start of the chaos phase at which the run is submitted. */
  at: number;
  /** When it is cancelled, if it is: a moment of its life, then a delay (ms). */
  cancel?: { when: CancelMoment; delay: number };
}

/**
 * queued: soon after the acknowledgement (usually still QUEUED); initializing: as soon as it is
 * seen INITIALIZING (staging); running: a little after it is seen RUNNING; late: about when its
 * tool ends (just as the engine exits).
 */
type CancelMoment = 'queued' | 'initializing' | 'running' | 'late';

interface TrackedRun {
  id: string;
  plan: Plan;
  ackAt: number;
  cancel?: {
    when: CancelMoment;
    attempts: number;
    /** First attempt; the API may have been down. */
    sentAt?: number;
    /** The attempt the API acknowledged: sent, answered. */
    lastSentAt?: number;
    ackAt?: number;
    stateBefore?: string;
    gaveUp?: boolean;
  };
  /** Distinct consecutive states seen, per source. */
  seen: { redis: string[]; api: string[] };
  firstTerminal: { redis?: string; api?: string };
  flips: string[];
}

const seedRng = rng(SEED);
const planRng = rng(seedRng.int(0, 2 ** 31));
const chaosRng = rng(seedRng.int(0, 2 ** 31));

const runs = new Map<string, TrackedRun>();
const stats = {
  submitRetries: 0,
  submitRetryReasons: {} as Record<string, number>,
  submitsGivenUp: 0,
  rejected: [] as string[],
  workerKills: 0,
  gracefulStops: 0,
  apiKills: 0,
  redisRestarts: 0,
  pauses: 0,
  cancelsSent: 0,
  cancelsGivenUp: 0,
  cancelRetries: 0,
  apiPollErrors: 0,
};
const findings: string[] = [];
let t0 = Date.now();
const since = (t = Date.now()) => `+${((t - t0) / 1000).toFixed(1)}s`;

let root = '';
let logDir = '';
let workDir = '';
let eventsFile = '';
function event(line: string) {
  const text = `${new Date().toISOString()} ${since()} ${line}`;
  if (eventsFile) appendFileSync(eventsFile, text + '\n');
}
function finding(line: string) {
  findings.push(line);
  event(`FINDING ${line}`);
  process.stdout.write(`  ! ${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Clean-up (also on Ctrl-C)

let redisProc: Managed | undefined;
let cleaningUp = false;
function emergencyCleanup(code: number, keepLogs = false) {
  if (cleaningUp) return;
  cleaningUp = true;
  killAllChildren();
  if (workDir) killMatching(`${workDir}/`);
  if (root && !opt.keep) {
    if (keepLogs) for (const d of ['app', 'data', 'work']) rmSync(path.join(root, d), { recursive: true, force: true });
    else rmSync(root, { recursive: true, force: true });
  }
  process.stdout.write(
    `\nchaos: ${code === 2 ? 'failed' : 'interrupted'}; every process stopped${root && !opt.keep ? (keepLogs ? `; logs kept in ${logDir}` : ' and temp folder removed') : ''}\n`,
  );
  process.exit(code);
}
process.on('SIGINT', () => emergencyCleanup(130));
process.on('SIGTERM', () => emergencyCleanup(143));
const crash = (err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? err.stack : String(err)}\n`);
  emergencyCleanup(2, true);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
process.on('exit', () => killAllChildren());

// ---------------------------------------------------------------------------------------------
// Submissions and cancels

function fixture(name: string): Blob {
  return new Blob([readFileSync(path.join(FIXTURES, name))]);
}

function runForm(plan: Plan): FormData {
  const form = new FormData();
  const message = `chaos run ${plan.index} (${plan.kind})`;
  form.append('workflow_type', 'CWL');
  form.append('workflow_type_version', 'v1.2');
  form.append('tags', JSON.stringify({ chaos: String(plan.index), kind: plan.kind }));
  if (plan.kind === 'pipeline') {
    form.append('workflow_url', 'pipeline.cwl');
    form.append('workflow_params', JSON.stringify({ seconds: plan.seconds, message }));
    for (const f of ['pipeline.cwl', 'sleep-echo.cwl', 'count-chars.cwl']) form.append('workflow_attachment', fixture(f), f);
  } else {
    form.append('workflow_url', 'sleep-echo.cwl');
    form.append('workflow_params', JSON.stringify({ seconds: plan.seconds, message, exit_code: plan.kind === 'fail' ? 3 : 0 }));
    form.append('workflow_attachment', fixture('sleep-echo.cwl'), 'sleep-echo.cwl');
  }
  return form;
}

function makePlans(): Plan[] {
  const window = CHAOS_MS * 0.75;
  const plans: Plan[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = planRng.next();
    const kind: Kind = r < 0.7 ? 'ok' : r < 0.85 ? 'fail' : 'pipeline';
    const seconds = Math.round(planRng.between(0, 3) * 100) / 100;
    const at = Math.round((i / Math.max(1, RUNS)) * window + planRng.between(0, window / Math.max(1, RUNS)));
    let cancel: Plan['cancel'];
    if (planRng.chance(CANCEL_FRACTION)) {
      const m = planRng.next();
      cancel =
        m < 0.25
          ? { when: 'queued', delay: Math.round(planRng.between(0, 300)) }
          : m < 0.45
            ? { when: 'initializing', delay: Math.round(planRng.between(0, 30)) }
            : m < 0.85
              ? { when: 'running', delay: Math.round(planRng.between(0, 1500)) }
              : { when: 'late', delay: Math.round(seconds * 1000 + planRng.between(0, 1200)) };
    }
    plans.push({ index: i, kind, seconds, at, cancel });
  }
  return plans;
}

let procs: WesProcesses;
let redis: Redis;
let keyPrefix = '';
let keys = new RunKeys('chaos');
const pending = new Set<Promise<unknown>>();
function track<T>(p: Promise<T>): Promise<T> {
  pending.add(p);
  void p.finally(() => pending.delete(p));
  return p;
}

let submitsInFlight = 0;

async function submit(plan: Plan, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    let reason: string;
    try {
      submitsInFlight++;
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${procs.api}/runs`, { method: 'POST', body: runForm(plan), signal: AbortSignal.timeout(20_000) });
        text = await res.text();
      } finally {
        submitsInFlight--;
      }
      if (res.status === 200) {
        const id = JSON.parse(text).run_id as string;
        const run: TrackedRun = { id, plan, ackAt: Date.now(), seen: { redis: [], api: [] }, firstTerminal: {}, flips: [] };
        runs.set(id, run);
        if (plan.cancel) track(cancelLater(run, plan.cancel.when, plan.cancel.delay));
        return;
      }
      if (res.status < 500) {
        stats.rejected.push(`run ${plan.index}: ${res.status} ${text.slice(0, 300)}`);
        finding(`submit of run ${plan.index} refused with ${res.status}: ${text.slice(0, 200)}`);
        return;
      }
      reason = `HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      reason = cause?.code ?? (err as Error).name;
    }
    stats.submitRetries++;
    stats.submitRetryReasons[reason] = (stats.submitRetryReasons[reason] ?? 0) + 1;
    await sleep(200 + Math.random() * 400);
  }
  stats.submitsGivenUp++;
  finding(`run ${plan.index} was never acknowledged before the submit deadline`);
}

async function cancelLater(run: TrackedRun, when: CancelMoment, delayMs: number): Promise<void> {
  const c = (run.cancel = { when, attempts: 0 } as NonNullable<TrackedRun['cancel']>);
  if (when === 'initializing') await stateWatch.waitFor(run.id, ['INITIALIZING', 'RUNNING'], 300_000);
  else if (when === 'running' || when === 'late') await stateWatch.waitFor(run.id, ['RUNNING'], 300_000);
  await sleep(delayMs);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    c.attempts++;
    // Read alongside the request (not before it, which would delay the cancel): Redis answers first.
    const before = redis.hget(keys.run(run.id), 'state').catch(() => null);
    c.sentAt ??= Date.now();
    c.lastSentAt = Date.now();
    try {
      const sent = fetch(`${procs.api}/runs/${run.id}/cancel`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      sent.catch(() => undefined); // handled below; not an unhandled rejection while Redis answers
      c.stateBefore ??= (await before) ?? undefined;
      const res = await sent;
      const text = await res.text();
      if (res.status === 200) {
        c.ackAt = Date.now();
        stats.cancelsSent++;
        return;
      }
      if (res.status < 500) {
        finding(`cancel of ${run.id} answered ${res.status}: ${text.slice(0, 200)}`);
        return;
      }
    } catch {
      // the API is down: try again
    }
    stats.cancelRetries++;
    await sleep(200 + Math.random() * 400);
  }
  c.gaveUp = true;
  stats.cancelsGivenUp++;
}

/**
 * Wakes cancel tasks the moment a run reaches a state: Redis keyspace notifications (enabled on
 * the private redis-server) on every write to a run hash, then the state is read.
 */
class StateWatch {
  private waiters = new Map<string, { states: string[]; resolve: (s: string) => void }[]>();
  private sub?: Redis;

  async start(url: string): Promise<void> {
    await redis.config('SET', 'notify-keyspace-events', 'Kh');
    this.sub = new Redis(url, { connectionName: 'chaos-state-watch' });
    this.sub.on('error', () => undefined);
    const pattern = `__keyspace@0__:${keys.run('')}*`;
    await this.sub.psubscribe(pattern);
    this.sub.on('pmessage', (_p: string, channel: string) => {
      const id = channel.slice(pattern.length - 1);
      if (this.waiters.has(id)) void this.check(id);
    });
  }

  private async check(id: string): Promise<void> {
    const state = await redis.hget(keys.run(id), 'state').catch(() => null);
    if (!state) return;
    const list = this.waiters.get(id) ?? [];
    const keep = list.filter((w) => {
      if (w.states.includes(state) || TERMINAL.has(state)) {
        w.resolve(state);
        return false;
      }
      return true;
    });
    if (keep.length) this.waiters.set(id, keep);
    else this.waiters.delete(id);
  }

  /** Resolves with the state once the run is in one of `states` (or terminal, or time is up). */
  waitFor(id: string, states: string[], timeoutMs: number): Promise<string> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve('(timeout)'), timeoutMs);
      const done = (s: string) => {
        clearTimeout(timer);
        resolve(s);
      };
      this.waiters.set(id, [...(this.waiters.get(id) ?? []), { states, resolve: done }]);
      void this.check(id);
    });
  }

  async stop(): Promise<void> {
    await this.sub?.quit().catch(() => this.sub?.disconnect());
  }
}
const stateWatch = new StateWatch();

// ---------------------------------------------------------------------------------------------
// Observation: Redis directly, and the API (list + status of a sample)

function observe(run: TrackedRun, source: 'redis' | 'api', state: string) {
  const seq = run.seen[source];
  if (seq[seq.length - 1] !== state) seq.push(state);
  const first = run.firstTerminal[source];
  if (first !== undefined) {
    if (state !== first) {
      const line = `${run.id}: seen ${first} then ${state} (${source} poll, ${since()})`;
      if (!run.flips.includes(line)) {
        run.flips.push(line);
        finding(`flip ${line}`);
      }
    }
  } else if (TERMINAL.has(state)) {
    run.firstTerminal[source] = state;
  }
}

let polling = true;

async function pollRedis(): Promise<void> {
  while (polling) {
    const list = [...runs.values()];
    if (list.length) {
      try {
        const pipe = redis.pipeline();
        for (const r of list) pipe.hget(keys.run(r.id), 'state');
        const res = (await pipe.exec()) ?? [];
        list.forEach((r, i) => {
          const state = res[i]?.[1] as string | null;
          observe(r, 'redis', state ?? '(no record)');
        });
      } catch {
        // Redis busy: next round
      }
    }
    await sleep(200);
  }
}

async function pollApi(): Promise<void> {
  while (polling) {
    try {
      let token = '';
      for (let page = 0; page < 50; page++) {
        const res = await fetch(`${procs.api}/runs?page_size=500${token ? `&page_token=${encodeURIComponent(token)}` : ''}`, {
          signal: AbortSignal.timeout(5000),
        });
        if (res.status !== 200) throw new Error(`list: ${res.status}`);
        const body = (await res.json()) as { runs: { run_id: string; state: string }[]; next_page_token: string };
        for (const row of body.runs) {
          const run = runs.get(row.run_id);
          if (run) observe(run, 'api', row.state);
        }
        token = body.next_page_token;
        if (!token) break;
      }
      // Status of a few runs: the path that goes through the API's terminal-state cache.
      const list = [...runs.values()];
      for (let i = 0; i < Math.min(8, list.length); i++) {
        const run = list[Math.floor(Math.random() * list.length)];
        const res = await fetch(`${procs.api}/runs/${run.id}/status`, { signal: AbortSignal.timeout(5000) });
        if (res.status !== 200) throw new Error(`status: ${res.status}`);
        observe(run, 'api', ((await res.json()) as { state: string }).state);
      }
    } catch {
      stats.apiPollErrors++;
    }
    await sleep(700);
  }
}

// ---------------------------------------------------------------------------------------------
// The processes, and the chaos

let api: Managed;
const workers: Managed[] = [];
const draining = new Set<Managed>();

function watchUnexpectedExit(m: Managed) {
  void m.exit.then(({ code, signal }) => {
    if (m.stopRequested || cleaningUp) return;
    finding(`${m.name} (pid ${m.pid}) exited by itself (code ${code}, signal ${signal}); log ${m.logFile}:\n${tailOf(m.logFile, 15)}`);
  });
}

function startWorker(): Managed {
  const w = procs.startWorker();
  watchUnexpectedExit(w);
  workers.push(w);
  event(`start ${w.name} pid ${w.pid}`);
  return w;
}

async function startApi(): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    api = procs.startApi();
    event(`start ${api.name} pid ${api.pid}`);
    if (await procs.waitApi(api, 30_000)) {
      watchUnexpectedExit(api);
      return;
    }
    finding(`${api.name} did not come up (attempt ${attempt}); log ${api.logFile}:\n${tailOf(api.logFile, 15)}`);
    api.signal('SIGKILL');
    await api.exit;
  }
  throw new Error('the API cannot be restarted');
}

/** How long the engines of a SIGKILLed worker outlived it (ms), one entry per engine group. */
const engineSurvival: number[] = [];

/** Engine groups (pgid, run id) of the runs a worker process holds, from the run records. */
async function enginesOf(workerPid: number): Promise<{ pgid: number; runId: string }[]> {
  const ids = [...runs.keys()];
  const pipe = redis.pipeline();
  ids.forEach((id) => pipe.hmget(keys.run(id), 'state', 'worker', 'host', 'wpid', 'pgid'));
  const res = (await pipe.exec()) ?? [];
  const out: { pgid: number; runId: string }[] = [];
  ids.forEach((id, i) => {
    const [state, worker, host, wpid, pgid] = (res[i]?.[1] ?? []) as (string | null)[];
    if (holderPlace(worker, host, wpid).workerPid === workerPid && pgid && ['RUNNING', 'CANCELING'].includes(state ?? '')) out.push({ pgid: Number(pgid), runId: id });
  });
  return out;
}

/** Watches the engine groups of a killed worker until their processes are gone (at most 60 s). */
async function watchOrphans(victim: Managed, groups: { pgid: number; runId: string }[], killedAt: number): Promise<void> {
  const left = new Map(groups.map((g) => [g.pgid, g.runId]));
  const deadline = killedAt + 60_000;
  while (left.size && Date.now() < deadline) {
    const procsNow = processesMatching(`${workDir}/`);
    for (const [pgid, runId] of [...left]) {
      if (!procsNow.some((p) => p.pgid === pgid && (p.cmdline.includes(runId) || p.cwd.includes(runId)))) {
        engineSurvival.push(Date.now() - killedAt);
        left.delete(pgid);
      }
    }
    await sleep(50);
  }
  for (const [pgid, runId] of left) {
    finding(`engine group ${pgid} of run ${runId} still alive 60 s after its worker ${victim.name} was SIGKILLed`);
  }
}

let redisPort = 0;
let redisDir = '';

/** SIGTERM to redis-server (it writes its AOF out), then the same server again on the same port. */
async function restartRedis(): Promise<void> {
  event(`SIGTERM redis pid ${redisProc?.pid}`);
  stats.redisRestarts++;
  await redisProc?.stop(15_000);
  const started = Date.now();
  const r = await startPrivateRedis(redisDir, logDir, redisPort);
  redisProc = r.proc;
  watchUnexpectedExit(redisProc);
  event(`redis back (pid ${redisProc.pid}) after ${Date.now() - started} ms`);
  for (let i = 0; i < 50; i++) {
    try {
      await redis.config('SET', 'notify-keyspace-events', 'Kh');
      return;
    } catch {
      await sleep(100);
    }
  }
}

/** Freezes a worker (SIGSTOP) for --pause-seconds, then lets it go on (SIGCONT): its heartbeat and job lock lapse meanwhile. */
async function pauseWorker(): Promise<void> {
  const victim = workers[chaosRng.int(0, workers.length - 1)];
  const [lo, hi = lo] = String(opt['pause-seconds']).split('-').map(Number);
  const ms = Math.round(chaosRng.between(lo * 1000, hi * 1000));
  const groups = await enginesOf(victim.pid).catch(() => []);
  event(`SIGSTOP ${victim.name} pid ${victim.pid} for ${ms} ms (engine groups ${groups.map((g) => g.pgid).join(', ') || 'none'})`);
  stats.pauses++;
  victim.child.kill('SIGSTOP');
  await sleep(ms);
  victim.child.kill('SIGCONT');
  event(`SIGCONT ${victim.name} pid ${victim.pid}`);
}

async function chaosEvent(): Promise<void> {
  let r = chaosRng.next();
  if (opt['redis-restarts']) {
    if (r < 0.12) return restartRedis();
    r = (r - 0.12) / 0.88;
  }
  if (opt.pauses) {
    if (r < 0.25) return pauseWorker();
    r = (r - 0.25) / 0.75;
  }
  if (r < 0.4) {
    const victim = workers.splice(chaosRng.int(0, workers.length - 1), 1)[0];
    const groups = await enginesOf(victim.pid).catch(() => []);
    event(`SIGKILL ${victim.name} pid ${victim.pid} (engine groups ${groups.map((g) => g.pgid).join(', ') || 'none'})`);
    victim.signal('SIGKILL');
    track(watchOrphans(victim, groups, Date.now()));
    stats.workerKills++;
    startWorker();
  } else if (r < 0.7) {
    const victim = workers.splice(chaosRng.int(0, workers.length - 1), 1)[0];
    event(`SIGTERM ${victim.name} pid ${victim.pid}`);
    victim.signal('SIGTERM');
    stats.gracefulStops++;
    draining.add(victim);
    const limit = Number(SETTINGS.WES_DRAIN_MS) + 20_000;
    track(
      Promise.race([victim.exit.then(() => true), sleep(limit).then(() => false)]).then((exited) => {
        draining.delete(victim);
        if (exited) event(`${victim.name} exited after SIGTERM (${since()})`);
        else {
          finding(`${victim.name} (pid ${victim.pid}) still alive ${limit} ms after SIGTERM (drain ${SETTINGS.WES_DRAIN_MS} ms): SIGKILL; log ${victim.logFile}`);
          victim.signal('SIGKILL');
        }
      }),
    );
    startWorker();
  } else {
    // Half the time, aim at a submit in flight: the run must then be wholly recorded or absent.
    if (chaosRng.chance(0.5)) {
      const until = Date.now() + 3000;
      while (submitsInFlight === 0 && Date.now() < until) await sleep(2);
      await sleep(Math.random() * 40);
    }
    event(`SIGKILL ${api.name} pid ${api.pid} (${submitsInFlight} submits in flight)`);
    api.signal('SIGKILL');
    stats.apiKills++;
    await api.exit;
    await startApi();
  }
}

/** Replaces workers or the API that died without being told to. */
async function replaceDead(): Promise<void> {
  for (let i = workers.length - 1; i >= 0; i--) {
    if (!workers[i].alive) {
      event(`replace dead ${workers[i].name}`);
      workers.splice(i, 1);
      startWorker();
    }
  }
  if (!api.alive) await startApi();
}

// ---------------------------------------------------------------------------------------------
// Final checks

interface RunHash {
  id: string;
  h: Record<string, string>;
}

async function readAllRuns(): Promise<RunHash[]> {
  const found: string[] = [];
  const runKeyStart = keys.run('');
  const re = /^[0-9a-f-]{36}$/;
  let cursor = '0';
  do {
    // `{` and `}` are not glob characters: the hash tag matches as it is.
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${runKeyStart}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch.filter((k) => re.test(k.slice(runKeyStart.length))));
  } while (cursor !== '0');
  const pipe = redis.pipeline();
  found.forEach((k) => pipe.hgetall(k));
  const res = (await pipe.exec()) ?? [];
  return found.map((k, i) => ({ id: k.slice(runKeyStart.length), h: (res[i]?.[1] ?? {}) as Record<string, string> }));
}

function bar(title: string) {
  process.stdout.write(`\n== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}\n`);
}

async function main(): Promise<number> {
  root = mkdtempSync(path.join(os.tmpdir(), 'wes-chaos-'));
  logDir = path.join(root, 'logs');
  workDir = path.join(root, 'work');
  const dataDir = path.join(root, 'data');
  redisDir = path.join(root, 'redis');
  for (const d of [logDir, workDir, dataDir, redisDir]) mkdirSync(d, { recursive: true });
  eventsFile = path.join(logDir, 'events.log');
  process.stdout.write(
    `chaos: seed ${SEED} · runs ${RUNS} · workers ${WORKERS} × concurrency ${CONCURRENCY} · chaos ${CHAOS_MS / 1000} s, a kill every ~${INTERVAL_MS / 1000} s · cancel ~${Math.round(CANCEL_FRACTION * 100)}%\n` +
      `chaos: folder ${root}\n`,
  );
  const codeDir = opt['no-snapshot'] ? ROOT : snapshotBuild(path.join(root, 'app'));

  const r = await startPrivateRedis(redisDir, logDir);
  redisProc = r.proc;
  redisPort = r.port;
  watchUnexpectedExit(redisProc);
  keyPrefix = `chaos-${randomBytes(3).toString('hex')}`;
  keys = new RunKeys(keyPrefix);
  const port = await freePort();
  const env = {
    ...cleanEnv(),
    REDIS_URL: r.url,
    WES_KEY_PREFIX: keyPrefix,
    WES_QUEUE_NAME: `${keyPrefix}-runs`,
    WES_HOST: '127.0.0.1',
    WES_PORT: String(port),
    WES_DATA_DIR: dataDir,
    WES_WORK_DIR: workDir,
    LOG_LEVEL: 'debug',
    ...SETTINGS,
  };
  process.stdout.write(`chaos: redis ${r.url} (AOF) · API http://127.0.0.1:${port} · ${Object.entries(SETTINGS).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  procs = new WesProcesses(codeDir, env, logDir, root);
  redis = new Redis(r.url, { maxRetriesPerRequest: 2, connectionName: 'chaos-observer' });
  redis.on('error', () => undefined);
  await stateWatch.start(r.url);

  await startApi();
  for (let i = 0; i < WORKERS; i++) startWorker();
  for (const w of [...workers]) {
    if (!(await procs.waitWorker(w))) throw new Error(`${w.name} did not start: ${tailOf(w.logFile, 20)}`);
  }

  // --- chaos phase --------------------------------------------------------------------------
  t0 = Date.now();
  const chaosEnd = t0 + CHAOS_MS;
  const submitDeadline = chaosEnd + 60_000;
  const plans = makePlans();
  const pollers = [pollRedis(), pollApi()];
  const submitter = (async () => {
    const inFlight = new Set<Promise<void>>();
    for (const plan of plans) {
      const wait = t0 + plan.at - Date.now();
      if (wait > 0) await sleep(wait);
      while (inFlight.size >= 16) await Promise.race(inFlight);
      const p = submit(plan, submitDeadline);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await Promise.all(inFlight);
  })();

  let lastProgress = 0;
  const progress = async (phase: string) => {
    if (Date.now() - lastProgress < 10_000) return;
    lastProgress = Date.now();
    const states: Record<string, number> = {};
    for (const run of runs.values()) {
      const s = run.seen.redis[run.seen.redis.length - 1] ?? '?';
      states[s] = (states[s] ?? 0) + 1;
    }
    process.stdout.write(
      `  ${since()} ${phase}: acknowledged ${runs.size}/${RUNS} · ${Object.entries(states).map(([s, n]) => `${s} ${n}`).join(', ')} · ` +
        `worker kills ${stats.workerKills}, graceful ${stats.gracefulStops}, API kills ${stats.apiKills}, cancels ${stats.cancelsSent}\n`,
    );
  };

  while (Date.now() < chaosEnd) {
    const next = Math.min(chaosEnd, Date.now() + chaosRng.between(INTERVAL_MS / 2, (INTERVAL_MS * 3) / 2));
    while (Date.now() < next) {
      await sleep(Math.min(500, Math.max(0, next - Date.now())));
      await replaceDead();
      await progress('chaos');
    }
    if (Date.now() < chaosEnd) await chaosEvent();
  }
  event('chaos phase over');

  // --- settle ---------------------------------------------------------------------------------
  await submitter;
  await replaceDead();
  for (const w of [...workers]) {
    if (!(await procs.waitWorker(w))) finding(`${w.name} did not start after the chaos phase: ${tailOf(w.logFile, 15)}`);
  }
  if (!(await procs.waitApi(api))) await startApi();
  const settleDeadline = Date.now() + SETTLE_MS;
  let allTerminal = false;
  let unackedActive: string[] = [];
  while (Date.now() < settleDeadline) {
    await progress('settle');
    await replaceDead();
    const open = [...runs.values()].filter((run) => !TERMINAL.has(run.seen.redis[run.seen.redis.length - 1] ?? ''));
    if (open.length === 0 && pending.size === 0) {
      // Runs recorded without an acknowledgement (API killed mid-submit) must end too.
      const all = await readAllRuns();
      unackedActive = all.filter((x) => !runs.has(x.id) && !TERMINAL.has(x.h.state)).map((x) => x.id);
      if (unackedActive.length === 0) {
        allTerminal = true;
        break;
      }
    }
    await sleep(500);
  }
  event(`settled: all terminal ${allTerminal}`);
  // A few more polls: a terminal state must stay as it is.
  await sleep(3000);
  polling = false;
  await Promise.all(pollers);

  const leakedWhileUp = processesMatching(`${workDir}/`);
  // --- stop everything ------------------------------------------------------------------------
  await Promise.all([...workers, ...draining].map((w) => w.stop(Number(SETTINGS.WES_DRAIN_MS) + 10_000)));
  await api.stop(10_000);
  await sleep(300);
  const leakedAfterStop = processesMatching(`${workDir}/`);

  // --- checks -----------------------------------------------------------------------------------
  const all = await readAllRuns();
  const byId = new Map(all.map((x) => [x.id, x.h]));
  const index = new Set(await new RunStore(redis, keys).allRunIds());
  const counts = await redis.hgetall(keys.counts);
  const trueCounts: Record<string, number> = {};
  for (const x of all) trueCounts[x.h.state ?? '(none)'] = (trueCounts[x.h.state ?? '(none)'] ?? 0) + 1;
  const counterStates = new Set([...Object.keys(counts), ...Object.keys(trueCounts)]);
  const counterMismatch = [...counterStates].filter((s) => Number(counts[s] ?? 0) !== (trueCounts[s] ?? 0));
  const activeIndexes: Record<string, number> = {};
  for (const s of ['QUEUED', 'INITIALIZING', 'RUNNING', 'CANCELING']) {
    const n = await redis.zcard(keys.inState(s));
    if (n) activeIndexes[s] = n;
  }

  const acked = [...runs.values()];
  const lost = acked.filter((run) => !byId.get(run.id)?.state || !index.has(run.id));
  const halfWritten = all.filter((x) => !index.has(x.id)).map((x) => x.id).concat([...index].filter((id) => !byId.has(id)));
  const stuck = acked.filter((run) => !TERMINAL.has(byId.get(run.id)?.state ?? ''));
  const unacked = all.filter((x) => !runs.has(x.id));
  const unackedStuck = unacked.filter((x) => !TERMINAL.has(x.h.state));
  const flipped = acked.filter((run) => {
    const final = byId.get(run.id)?.state;
    const first = run.firstTerminal.redis ?? run.firstTerminal.api;
    if (first && final && first !== final) run.flips.push(`${run.id}: seen ${first}, final record ${final}`);
    return run.flips.length > 0;
  });
  const doubleTerminal = all.filter((x) => TERMINAL_TIME_FIELDS.filter((f) => f in x.h).length > 1);
  const flippedIds = new Set([...flipped.map((r) => r.id), ...doubleTerminal.map((x) => x.id)]);

  const distribution: Record<string, number> = {};
  for (const run of acked) {
    const s = byId.get(run.id)?.state ?? '(no record)';
    distribution[s] = (distribution[s] ?? 0) + 1;
  }
  // Cancels that were acknowledged must land; CANCELED needs a request; outcomes follow the workflow.
  const cancelNotHonoured = acked.filter((run) => {
    const h = byId.get(run.id);
    return run.cancel?.ackAt !== undefined && h?.state !== 'CANCELED' && Number(h?.end ?? Infinity) > run.cancel.ackAt;
  });
  const canceledUnasked = acked.filter((run) => byId.get(run.id)?.state === 'CANCELED' && !run.cancel?.sentAt);
  const wrongOutcome = acked.filter((run) => {
    const s = byId.get(run.id)?.state;
    if (run.cancel?.sentAt) return false;
    return (run.plan.kind === 'fail' && s === 'COMPLETE') || (run.plan.kind !== 'fail' && s === 'EXECUTOR_ERROR');
  });
  const systemErrors = await Promise.all(
    acked
      .filter((run) => byId.get(run.id)?.state === 'SYSTEM_ERROR')
      .map(async (run) => `${run.id}: ${(await redis.lrange(keys.systemLogs(run.id), 0, -1)).join(' | ')}`),
  );
  const attempts: Record<string, number> = {};
  for (const x of all) attempts[x.h.attempt ?? '0'] = (attempts[x.h.attempt ?? '0'] ?? 0) + 1;
  const cancelStates: Record<string, number> = {};
  for (const run of acked) {
    if (run.cancel?.ackAt !== undefined) {
      const k = `${run.cancel.when}:${run.cancel.stateBefore ?? '?'}`;
      cancelStates[k] = (cancelStates[k] ?? 0) + 1;
    }
  }
  const toTerminal = acked.map((run) => Number(byId.get(run.id)?.end) - run.ackAt).filter((v) => Number.isFinite(v));
  const cancelToCanceled = acked
    .filter((run) => run.cancel?.sentAt !== undefined && byId.get(run.id)?.state === 'CANCELED')
    .map((run) => Math.max(0, Number(byId.get(run.id)?.end) - (run.cancel?.lastSentAt ?? 0)))
    .filter((v) => Number.isFinite(v));
  const latency = summary(toTerminal);
  const cancelLatency = summary(cancelToCanceled);
  // How each cancel landed, by the moment it was aimed at: latency and the worker's note.
  const cancelBreakdown: string[] = [];
  const howStopped = (logs: string[]) => {
    const line = logs.find((l) => l.startsWith('canceled')) ?? '';
    if (!line) return 'while QUEUED (API)';
    if (/SIGKILL after/.test(line)) return 'engine: stop signal, then SIGKILL after the grace';
    const m = /stopped with (\S+)/.exec(line);
    if (m) return `engine stopped with ${m[1].replace(/,$/, '')}`;
    if (/lost|died/.test(line)) return 'worker lost: settled by recovery';
    return line.replace(/^canceled by request:?\s*/, '').replace(/worker \S+/, 'worker').slice(0, 60) || 'canceled';
  };
  for (const when of ['queued', 'initializing', 'running', 'late'] as CancelMoment[]) {
    const group = acked.filter((run) => run.cancel?.when === when && run.cancel.ackAt !== undefined);
    if (!group.length) continue;
    const canceled = group.filter((run) => byId.get(run.id)?.state === 'CANCELED');
    const hows: Record<string, number> = {};
    for (const run of canceled) {
      const how = howStopped(await redis.lrange(keys.systemLogs(run.id), 0, -1));
      hows[how] = (hows[how] ?? 0) + 1;
    }
    const lat = summary(canceled.map((run) => Math.max(0, Number(byId.get(run.id)?.end) - (run.cancel?.lastSentAt ?? 0))));
    cancelBreakdown.push(
      `${when.padEnd(13)} sent ${group.length}, CANCELED ${canceled.length} (others had ended first) · p50 ${fmtMs(lat.p50)} · max ${fmtMs(lat.max)} · ${JSON.stringify(hows)}`,
    );
  }

  await stateWatch.stop();
  await redis.quit().catch(() => redis.disconnect());
  await redisProc!.stop(5000);

  // --- report -----------------------------------------------------------------------------------
  const invariants: [string, boolean, string][] = [
    ['stuck (acknowledged, non-terminal) = 0', stuck.length === 0, String(stuck.length)],
    ['stuck (recorded without acknowledgement, non-terminal) = 0', unackedStuck.length === 0, String(unackedStuck.length)],
    ['lost (acknowledged, no record) = 0', lost.length === 0, String(lost.length)],
    ['half-written (record without index entry or the reverse) = 0', halfWritten.length === 0, String(halfWritten.length)],
    ['flipped (terminal state changed, or two terminal t:<STATE>) = 0', flippedIds.size === 0, String(flippedIds.size)],
    ['leaked engine processes, all runs terminal = 0', leakedWhileUp.length === 0, String(leakedWhileUp.length)],
    ['leaked engine processes, after stopping everything = 0', leakedAfterStop.length === 0, String(leakedAfterStop.length)],
    ['counters (<prefix>:counts) match the runs per state', counterMismatch.length === 0, counterMismatch.length ? 'no' : 'yes'],
    ['active-state indexes (in:<STATE>) empty', Object.keys(activeIndexes).length === 0, JSON.stringify(activeIndexes)],
    ['acknowledged cancels that did not end CANCELED = 0', cancelNotHonoured.length === 0, String(cancelNotHonoured.length)],
    ['CANCELED without a cancel request = 0', canceledUnasked.length === 0, String(canceledUnasked.length)],
    ['wrong outcome (ok → EXECUTOR_ERROR, failing → COMPLETE; not cancelled) = 0', wrongOutcome.length === 0, String(wrongOutcome.length)],
    ['every planned run acknowledged', runs.size + stats.rejected.length === RUNS && stats.submitsGivenUp === 0, `${runs.size}/${RUNS}`],
    ['all settled within --settle-seconds', allTerminal, allTerminal ? 'yes' : 'no'],
    ['no process died by itself, no graceful stop overran', findings.filter((f) => /exited by itself|still alive|did not come up|did not start/.test(f)).length === 0, ''],
  ];
  const ok = invariants.every(([, pass]) => pass);

  bar(`chaos figures (seed ${SEED})`);
  const lines: [string, string][] = [
    ['runs acknowledged', `${runs.size} (of ${RUNS} planned; ${stats.submitRetries} submit retries while the API was down: ${JSON.stringify(stats.submitRetryReasons)})`],
    ['runs recorded without acknowledgement', `${unacked.length} (${unacked.map((x) => x.h.state).join(', ') || '-'})`],
    ['worker kills (SIGKILL)', String(stats.workerKills)],
    ['graceful worker stops (SIGTERM)', String(stats.gracefulStops)],
    ['API kills (SIGKILL)', String(stats.apiKills)],
    ...(opt['redis-restarts'] ? ([['redis-server restarts (SIGTERM)', String(stats.redisRestarts)]] as [string, string][]) : []),
    ...(opt.pauses ? ([['worker pauses (SIGSTOP, SIGCONT)', String(stats.pauses)]] as [string, string][]) : []),
    ['cancels sent (acknowledged)', `${stats.cancelsSent} (moment:state just before: ${JSON.stringify(cancelStates)}; given up ${stats.cancelsGivenUp})`],
    ['final states', JSON.stringify(distribution)],
    ['attempts per run', JSON.stringify(attempts)],
    ['counters', `${JSON.stringify(counts)} vs true ${JSON.stringify(trueCounts)}`],
    ['ack → terminal', `p50 ${fmtMs(latency.p50)} · p95 ${fmtMs(latency.p95)} · max ${fmtMs(latency.max)} (n ${latency.n})`],
    [
      'engines outliving a SIGKILLed worker',
      `p50 ${fmtMs(summary(engineSurvival).p50)} · p95 ${fmtMs(summary(engineSurvival).p95)} · max ${fmtMs(summary(engineSurvival).max)} (n ${engineSurvival.length} engine groups)`,
    ],
    ['cancel (acknowledged attempt) → CANCELED', `p50 ${fmtMs(cancelLatency.p50)} · p95 ${fmtMs(cancelLatency.p95)} · max ${fmtMs(cancelLatency.max)} (n ${cancelLatency.n})`],
    ['API poll rounds failed (API down)', String(stats.apiPollErrors)],
  ];
  for (const [k, v] of lines) process.stdout.write(`  ${k.padEnd(40)} ${v}\n`);
  process.stdout.write(`  cancels by moment aimed at:\n`);
  for (const line of cancelBreakdown) process.stdout.write(`    ${line}\n`);
  bar('invariants');
  for (const [name, pass, value] of invariants) process.stdout.write(`  ${pass ? 'ok  ' : 'FAIL'} ${name}${value ? `: ${value}` : ''}\n`);

  const detail = (title: string, items: string[]) => {
    if (!items.length) return;
    process.stdout.write(`\n  ${title}:\n`);
    for (const i of items.slice(0, 20)) process.stdout.write(`    ${i}\n`);
    if (items.length > 20) process.stdout.write(`    … ${items.length - 20} more\n`);
  };
  const describe = (run: TrackedRun) =>
    `${run.id} (run ${run.plan.index}, ${run.plan.kind}, final ${byId.get(run.id)?.state ?? '(none)'}; redis seen ${run.seen.redis.join('→')}; api seen ${run.seen.api.join('→')}${run.cancel ? `; cancel sent ${run.cancel.sentAt ? since(run.cancel.sentAt) : '-'} acked ${run.cancel.ackAt ? since(run.cancel.ackAt) : '-'} from ${run.cancel.stateBefore}` : ''}; end ${byId.get(run.id)?.end ? since(Number(byId.get(run.id)?.end)) : '-'})`;
  detail('stuck', stuck.map(describe));
  detail('stuck, not acknowledged', unackedStuck.map((x) => `${x.id}: ${x.h.state}`));
  detail('lost', lost.map(describe));
  detail('half-written', halfWritten);
  detail('flipped', [...flipped.flatMap((r) => r.flips), ...doubleTerminal.map((x) => `${x.id}: ${TERMINAL_TIME_FIELDS.filter((f) => f in x.h).join(', ')}`)]);
  detail('leaked, all runs terminal', leakedWhileUp.map((p) => `pid ${p.pid} pgid ${p.pgid} cwd ${p.cwd}: ${p.cmdline.slice(0, 200)}`));
  detail('leaked, after stop', leakedAfterStop.map((p) => `pid ${p.pid} pgid ${p.pgid} cwd ${p.cwd}: ${p.cmdline.slice(0, 200)}`));
  detail('counter mismatch', counterMismatch.map((s) => `${s}: counter ${counts[s] ?? 0}, true ${trueCounts[s] ?? 0}`));
  detail('cancel acknowledged but not CANCELED', cancelNotHonoured.map(describe));
  detail('CANCELED without a request', canceledUnasked.map(describe));
  detail('wrong outcome', wrongOutcome.map(describe));
  detail('SYSTEM_ERROR runs (system_logs)', systemErrors);
  detail('findings', findings);

  // Warnings and errors the processes logged (pino level >= 40), by process kind and message.
  const digest: Record<string, number> = {};
  for (const file of readdirSync(logDir)) {
    const kind = /^(api|worker)-\d+\.log$/.exec(file)?.[1];
    if (!kind) continue;
    for (const line of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
      if (!line.startsWith('{')) {
        const text = line.replace(/^\(node:\d+\) /, "").slice(0, 100);
        if (text.trim()) digest[`${kind} (stderr) ${text}`] = (digest[`${kind} (stderr) ${text}`] ?? 0) + 1;
        continue;
      }
      try {
        const j = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((j.level ?? 0) < 40) continue;
        const key = `${kind} ${j.level! >= 50 ? 'ERROR' : 'warn'} ${j.msg}${j.err?.message ? `: ${j.err.message.slice(0, 80)}` : ''}`;
        digest[key] = (digest[key] ?? 0) + 1;
      } catch {
        // a line cut by SIGKILL
      }
    }
  }
  detail(
    'warnings and errors logged (count × message)',
    Object.entries(digest)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${String(n).padStart(4)} × ${k}`),
  );

  // Kill what leaked, so nothing outlives the script.
  killMatching(`${workDir}/`);
  const report = {
    seed: SEED,
    options: { runs: RUNS, workers: WORKERS, concurrency: CONCURRENCY, seconds: CHAOS_MS / 1000, cancelFraction: CANCEL_FRACTION },
    settings: SETTINGS,
    acknowledged: runs.size,
    unacknowledgedRecorded: unacked.length,
    workerKills: stats.workerKills,
    gracefulStops: stats.gracefulStops,
    apiKills: stats.apiKills,
    redisRestarts: stats.redisRestarts,
    pauses: stats.pauses,
    cancelsSent: stats.cancelsSent,
    finalStates: distribution,
    stuck: stuck.length,
    lost: lost.length,
    flipped: flippedIds.size,
    leakedWhileUp: leakedWhileUp.length,
    leakedAfterStop: leakedAfterStop.length,
    countersMatch: counterMismatch.length === 0,
    ackToTerminalMs: latency,
    cancelToCanceledMs: cancelLatency,
    cancelBreakdown,
    engineSurvivalMs: summary(engineSurvival),
    logDigest: digest,
    invariants: Object.fromEntries(invariants.map(([n, p]) => [n, p])),
    ok,
    findings,
  };
  const resultsDir = path.join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const reportFile = path.join(resultsDir, `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(reportFile, JSON.stringify(report, null, 2));
  writeFileSync(path.join(logDir, 'report.json'), JSON.stringify({ ...report, runs: acked.map((r) => ({ ...r, final: byId.get(r.id) })) }, null, 2));

  bar(ok ? 'PASS' : 'FAIL');
  process.stdout.write(`  report ${path.relative(ROOT, reportFile)}\n`);
  if (ok && !opt.keep) {
    rmSync(root, { recursive: true, force: true });
  } else {
    // Keep the logs and the Redis AOF for diagnosis; drop the bulky parts.
    for (const d of ['app', 'data', 'work']) rmSync(path.join(root, d), { recursive: true, force: true });
    process.stdout.write(`  logs kept in ${logDir} (events.log, api-*.log, worker-*.log, report.json), Redis AOF in ${redisDir}\n`);
  }
  return ok ? 0 : 1;
}

main()
  .then((code) => process.exit(code))
  .catch(crash);
