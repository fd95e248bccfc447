/**
 * What every scenario shares: the run's temporary folder, the snapshot of dist/, the private
 * Redis (one for the product and the baselines alike), and starting/stopping WES stacks
 * (API + workers, configured by environment only) and baseline processes.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, Managed, startLogged, startPrivateRedis, stopEverythingOnSignals } from '../../scripts/lib/proc';
import { cleanEnv, snapshotBuild, tailOf, WES_BASE, WesProcesses } from '../../scripts/lib/wes-stack';
import { memoryPreload } from './memory';
import { profileEnv, profilePreload, ProfileSummary, summarizeProfiles } from './profile';
import { say, sleep } from './util';
import { RunKeys } from '../../libs/runs/src';

export const BENCH_DIR = path.resolve(__dirname, '..');

/**
 * The bench of a standalone tool (trace-e2e, run-cost): a temporary folder `wes-<name>-*` (left
 * to the caller to remove) holding a snapshot of dist/, the logs and a private Redis, and
 * everything it starts stopped on a signal.
 */
export async function standaloneBench(name: string, profile: boolean): Promise<{ root: string; b: Bench; redis: Awaited<ReturnType<typeof startPrivateRedis>> }> {
  const root = mkdtempSync(path.join(os.tmpdir(), `wes-${name}-`));
  stopEverythingOnSignals({ marker: () => root, folder: () => root, keep: false });
  const codeDir = snapshotBuild(path.join(root, 'app'));
  const logDir = path.join(root, 'logs');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(path.join(root, 'redis'), { recursive: true });
  const redis = await startPrivateRedis(path.join(root, 'redis'), logDir);
  return { root, redis, b: new Bench({ full: false, profile, root, codeDir, logDir, redisUrl: redis.url, redisPid: redis.proc.pid }) };
}

export interface BenchOptions {
  full: boolean;
  /** Run the API and workers under node --cpu-prof and summarize the profiles. */
  profile?: boolean;
  root: string;
  codeDir: string;
  logDir: string;
  redisUrl: string;
  redisPid: number;
}

export interface WesStack {
  name: string;
  prefix: string;
  /** Key names under `prefix` (hash tag included). */
  keys: RunKeys;
  queue: string;
  procs: WesProcesses;
  api: Managed;
  workers: Managed[];
  /** http://127.0.0.1:<port>/ga4gh/wes/v1 */
  base: string;
  origin: string;
  workDir: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Settings of the API and the workers (besides Redis, prefix, queue, port, folders). */
  env?: Record<string, string>;
  workers?: number;
  workerEnv?: Record<string, string>;
}

export class Bench {
  readonly full: boolean;
  readonly profile: boolean;
  /** Summaries of the CPU profiles (with --profile), by stack and process. */
  readonly profiles: Record<string, Record<string, ProfileSummary>> = {};
  readonly root: string;
  readonly codeDir: string;
  readonly logDir: string;
  readonly redisUrl: string;
  readonly redisPid: number;
  /** The harness's own Redis connection (reads state, counters, memory). */
  readonly redis: Redis;
  private readonly stacks = new Set<WesStack>();
  private readonly others = new Set<Managed>();

  constructor(o: BenchOptions) {
    this.full = o.full;
    this.profile = !!o.profile;
    this.root = o.root;
    this.codeDir = o.codeDir;
    this.logDir = o.logDir;
    this.redisUrl = o.redisUrl;
    this.redisPid = o.redisPid;
    this.redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null, connectionName: 'bench-harness' });
  }

  /** A folder under the run's root. */
  /** Where WES processes write their memory figures when asked (see memory.ts). */
  get memoryDir(): string {
    return this.dir('memory');
  }

  dir(...parts: string[]): string {
    const d = path.join(this.root, ...parts);
    mkdirSync(d, { recursive: true });
    return d;
  }

  /** Writes an executable script into the run's folder; returns its path. */
  script(name: string, text: string): string {
    const file = path.join(this.dir('engines'), name);
    writeFileSync(file, text);
    chmodSync(file, 0o755);
    return file;
  }

  /** Starts an API (and workers) under a key prefix and queue of their own; waits until they serve. */
  async startWes(name: string, o: StackOptions = {}): Promise<WesStack> {
    const prefix = `b-${name}`;
    const queue = `${prefix}-runs`;
    const workDir = this.dir('work', name);
    const dataDir = this.dir('data', name);
    const env: Record<string, string> = {
      ...cleanEnv(),
      REDIS_URL: this.redisUrl,
      WES_KEY_PREFIX: prefix,
      WES_QUEUE_NAME: queue,
      WES_HOST: '127.0.0.1',
      WES_PORT: String(await freePort()),
      WES_DATA_DIR: dataDir,
      WES_WORK_DIR: workDir,
      // BENCH_LOG_LEVEL: an A/B of what the logging costs (docs/BENCHMARKS.md, scenario 2); the default is the deployed one.
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      ...o.env,
    };
    const profileDir = this.dir('profiles', name);
    // Every WES process answers SIGURG with its memory after a full GC (scenario 8).
    const preloads = [`--require ${memoryPreload(this.root)}`];
    env.BENCH_MEMORY_DIR = this.memoryDir;
    if (this.profile) {
      const p = profileEnv(profileDir, profilePreload(this.root));
      preloads.push(p.NODE_OPTIONS);
      env.BENCH_PROFILE_DIR = p.BENCH_PROFILE_DIR;
    }
    env.NODE_OPTIONS = [env.NODE_OPTIONS, ...preloads].filter(Boolean).join(' ');
    const procs = new WesProcesses(this.codeDir, env, this.dir('logs', name), this.root);
    const api = procs.startApi();
    const workers = Array.from({ length: o.workers ?? 0 }, () => procs.startWorker(o.workerEnv));
    if (!(await procs.waitApi(api, 60_000))) throw new Error(`${name}: API did not start:\n${tailOf(api.logFile)}`);
    for (const w of workers) {
      if (!(await procs.waitWorker(w, 60_000))) throw new Error(`${name}: worker did not start:\n${tailOf(w.logFile)}`);
    }
    const stack: WesStack = {
      name,
      prefix,
      keys: new RunKeys(prefix),
      queue,
      procs,
      api,
      workers,
      base: procs.api,
      origin: procs.origin,
      workDir,
      dataDir,
      stop: async () => {
        if (this.profile) {
          // A normal exit, so that --cpu-prof writes the profile (see profile.ts).
          for (const m of [...workers, api]) {
            m.signal('SIGUSR2');
            await Promise.race([m.exit, sleep(10_000)]);
          }
        }
        await Promise.all(workers.map((w) => w.stop(15_000)));
        await api.stop(10_000);
        this.stacks.delete(stack);
        if (this.profile) {
          const byPid = new Map([...workers, api].map((m) => [String(m.pid), m.name]));
          const out: Record<string, ProfileSummary> = {};
          for (const summary of summarizeProfiles(profileDir)) {
            const pid = /CPU\.(\d+)\.cpuprofile$/.exec(summary.file)?.[1] ?? summary.file;
            const who = byPid.get(pid) ?? pid;
            out[who] = summary;
            say(
              `  profile ${name}/${who}: event loop idle ${Math.round(summary.idleShare * 100)} %; busy time under: ` +
                summary.inclusiveByPackage.slice(0, 8).map(([k, v]) => `${k} ${v}%`).join(', '),
            );
          }
          this.profiles[name] = out;
        }
      },
    };
    this.stacks.add(stack);
    return stack;
  }

  /** Starts a TypeScript baseline process (run by tsx) with its output in a log file. */
  startTs(name: string, file: string, env: Record<string, string>): Managed {
    const m = startLogged(name, process.execPath, ['--import', 'tsx', file], {
      env: { ...cleanEnv(), ...env },
      cwd: path.resolve(BENCH_DIR, '..'),
      logFile: path.join(this.dir('logs'), `${name}.log`),
    });
    this.others.add(m);
    return m;
  }

  /** Waits until the log of a process holds `text`; throws if it exits or time runs out. */
  async waitLog(m: Managed, text: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!m.alive) throw new Error(`${m.name} exited:\n${tailOf(m.logFile)}`);
      try {
        if (readFileSync(m.logFile, 'utf8').includes(text)) return;
      } catch {
        // no log yet
      }
      await sleep(50);
    }
    throw new Error(`${m.name}: no "${text}" in its log after ${timeoutMs} ms:\n${tailOf(m.logFile)}`);
  }

  async stopAll(): Promise<void> {
    for (const s of [...this.stacks]) await s.stop().catch(() => undefined);
    for (const m of [...this.others]) await m.stop(5000).catch(() => undefined);
  }
}

export { WES_BASE };

/** fetch with a timeout; JSON body parsed when it is JSON. */
export async function http<T = any>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: body as T };
}

/** A run's log lines in a worker's log (pino JSON: `time` in epoch ms, whole milliseconds), in order. */
export function runLogLines(logFile: string, runId: string): { msg: string; time: number; [field: string]: unknown }[] {
  const out: { msg: string; time: number; [field: string]: unknown }[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes(runId) || !line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as { runId?: string; msg?: string; time?: number };
      if (l.runId === runId && l.msg && typeof l.time === 'number') out.push(l as { msg: string; time: number });
    } catch {
      // not a log line
    }
  }
  return out;
}

/** Times of a run's log lines in a worker's log, by message (the first line of each). */
export function runLogTimes(logFile: string, runId: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of runLogLines(logFile, runId)) if (!(l.msg in out)) out[l.msg] = l.time;
  return out;
}
