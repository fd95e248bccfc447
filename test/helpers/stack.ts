import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { WesClient } from './client';
import { freePort } from '../../scripts/lib/proc';
import { killStackLeftovers, ProcessInfo } from './processes';
import { PrivateRedis, startRedis } from './redis-server';
import { loadSettings } from '../../libs/config/src';
import { RunQueue, runQueueSettingsOf, WorkerPools } from '../../libs/queue/src';
import { RunKeys, holderPlace } from '../../libs/runs/src';

export const ROOT = path.resolve(__dirname, '..', '..');
export const API_ENTRY = path.join(ROOT, 'dist/apps/api/src/main.js');
export const WORKER_ENTRY = path.join(ROOT, 'dist/apps/worker/src/main.js');
export const CWLTOOL = process.env.WES_TEST_CWLTOOL ?? '/usr/bin/cwltool';

export interface StackOptions {
  /** Worker processes to start (0: the API alone). Default 1. */
  workers?: number;
  workerConcurrency?: number;
  cancelGraceMs?: number;
  cancelPollMs?: number;
  /** Extra environment for both processes (wins over the defaults). */
  env?: Record<string, string>;
  /** Extra environment for the API only (wins over `env`). */
  apiEnv?: Record<string, string>;
  /** Extra environment for the workers only (wins over `env`); startWorker can add more. */
  workerEnv?: Record<string, string>;
  /** Use this Redis instead of starting a private one (it is then not stopped with the stack). */
  redis?: PrivateRedis;
  /** How redisClient() connects (default: to `redis.url`), e.g. through Sentinels. */
  redisClient?: () => Redis;
  /** How long the processes may take to come up (default 120 s: a CI machine may be busy with other test files). */
  readyTimeoutMs?: number;
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
}

export interface Stack {
  /** http://127.0.0.1:<port> */
  origin: string;
  client: WesClient;
  redis: PrivateRedis;
  keyPrefix: string;
  /** Key names under keyPrefix (hash tag included). */
  keys: RunKeys;
  queueName: string;
  /** Temporary root of this stack: data/, work/ and the process logs. */
  root: string;
  dataDir: string;
  workDir: string;
  env: Record<string, string>;
  /** The current API process (a new one after restartApi). */
  api: ManagedProcess;
  /** Every worker started, in order (killed ones stay in the list). */
  workers: ManagedProcess[];
  /** The last lines of every process log, for failure messages. */
  logTail(lines?: number): string;
  /**
   * Starts one more worker (named worker-<n>) with the stack's environment plus `env`; by
   * default waits until it logs that it takes runs (it has settled what a dead predecessor left).
   */
  startWorker(options?: { env?: Record<string, string>; waitReady?: boolean }): Promise<ManagedProcess>;
  /** Sends a signal to one process of the stack. */
  signal(p: ManagedProcess, signal: NodeJS.Signals): void;
  /** Sends SIGKILL and waits until the process is gone. */
  kill(p: ManagedProcess): Promise<void>;
  /** Waits until a process exits; its exit code and signal (throws after timeoutMs). */
  waitExit(p: ManagedProcess, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The live workers (started and not exited). */
  liveWorkers(): ManagedProcess[];
  /** The worker whose pid the run record names as its holder (wpid), if it is one of this stack's. */
  workerHolding(runId: string): Promise<ManagedProcess | undefined>;
  /**
   * Starts the API again on the same port (after it exited, or after killing it with `signal`,
   * SIGKILL by default) and waits until service-info answers 200.
   */
  restartApi(options?: { signal?: NodeJS.Signals | null; env?: Record<string, string>; waitReady?: boolean }): Promise<ManagedProcess>;
  /** Waits until service-info answers 200 (through whichever API process is current). */
  waitApiReady(timeoutMs?: number): Promise<void>;
  /** A new connection to the stack's Redis (the caller disconnects it). */
  redisClient(): Redis;
  /**
   * Stops workers and API (SIGTERM, SIGKILL after 5 s), stops its Redis; returns (after killing
   * them) the engines and launchers still running a few seconds later, which outlived their worker.
   */
  stop(): Promise<{ leftovers: ProcessInfo[] }>;
}

/** Environment variables a developer's shell may hold that must not reach the stack under test. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith('WES_') || k === 'REDIS_URL' || k === 'LOG_LEVEL' || k.startsWith('VITEST') || k === 'NODE_ENV') continue;
    env[k] = v;
  }
  return env;
}

function startProcess(name: string, entry: string, env: Record<string, string>, root: string): ManagedProcess {
  const logFile = path.join(root, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [entry], { cwd: root, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.on('error', () => undefined);
  return { name, child, logFile };
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function exited(p: ManagedProcess): boolean {
  return p.child.exitCode !== null || p.child.signalCode !== null;
}

async function stopProcess(p: ManagedProcess, graceMs = 5000): Promise<void> {
  if (exited(p)) return;
  const gone = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  p.child.kill('SIGTERM');
  const inTime = await Promise.race([gone.then(() => true), sleep(graceMs).then(() => false)]);
  if (!inTime && !exited(p)) {
    p.child.kill('SIGKILL');
    await Promise.race([gone, sleep(5000)]);
  }
}

/** Throws the build failure recorded by the global setup, if any. */
export function assertBuilt(): void {
  let buildError = '';
  try {
    buildError = inject('buildError');
  } catch {
    // not running under the global setup
  }
  if (buildError) throw new Error(buildError);
  for (const f of [API_ENTRY, WORKER_ENTRY]) {
    if (!existsSync(f)) throw new Error(`${path.relative(ROOT, f)} is missing: run npm run build`);
  }
}

/** True when the process logged a line containing `text` (pino: the msg, or any field). */
export function logHas(p: ManagedProcess, text: string): boolean {
  try {
    return readFileSync(p.logFile, 'utf8').includes(text);
  } catch {
    return false;
  }
}

/** Waits until the process logs `text`; fails early when it exits first. */
export async function waitForLog(p: ManagedProcess, text: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (logHas(p, text)) return;
    if (exited(p)) throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before logging "${text}":\n${tail(p.logFile, 40)}`);
    if (Date.now() > deadline) throw new Error(`${p.name} did not log "${text}" within ${timeoutMs} ms:\n${tail(p.logFile, 40)}`);
    await sleep(50);
  }
}

const READY_TIMEOUT_MS = 120_000;

/**
 * How long the processes of a stopped stack's engines get to go: a worker's launcher SIGKILLs
 * them the moment the worker is gone, so only their reaping should take time.
 */
const LEFTOVER_WAIT_MS = 3_000;

/** The message a worker logs once it takes jobs (after its start-up reconciliation). */
export const WORKER_READY_LOG = 'worker taking runs';

/**
 * Starts a private Redis (unless one is given), the API and `workers` workers from dist/, each
 * with a unique key prefix and queue name and temporary data and work folders, and waits until
 * service-info answers 200 and (with workers) lists the cwltool version a worker registered.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  assertBuilt();
  const root = mkdtempSync(path.join(os.tmpdir(), 'wes-e2e-'));
  const dataDir = path.join(root, 'data');
  const workDir = path.join(root, 'work');
  mkdirSync(dataDir);
  mkdirSync(workDir);
  const ownRedis = !options.redis;
  const redis = options.redis ?? (await startRedis());
  const nonce = randomBytes(4).toString('hex');
  const keyPrefix = `wes-test-${nonce}`;
  const queueName = `runs-${nonce}`;
  const port = await freePort();
  const env: Record<string, string> = {
    ...cleanEnv(),
    REDIS_URL: redis.url,
    WES_KEY_PREFIX: keyPrefix,
    WES_QUEUE_NAME: queueName,
    WES_HOST: '127.0.0.1',
    WES_PORT: String(port),
    WES_DATA_DIR: dataDir,
    WES_WORK_DIR: workDir,
    WES_WORKER_CONCURRENCY: String(options.workerConcurrency ?? 2),
    WES_CANCEL_GRACE_MS: String(options.cancelGraceMs ?? 2000),
    WES_CANCEL_POLL_MS: String(options.cancelPollMs ?? 250),
    WES_CWLTOOL_PATH: CWLTOOL,
    // cwltool only, unless a test names other engines: each engine found costs a worker its
    // version check at start-up (Toil's ~3 s in the sandbox).
    WES_ENGINES: 'cwltool',
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const apiEnv = { ...env, ...options.apiEnv };
  const workerEnv = { ...env, ...options.workerEnv };
  let apiLives = 1;
  const workers: ManagedProcess[] = [];
  const startNamedWorker = (extra: Record<string, string> = {}) => {
    const w = startProcess(`worker-${workers.length + 1}`, WORKER_ENTRY, { ...workerEnv, ...extra }, root);
    workers.push(w);
    return w;
  };
  const origin = `http://127.0.0.1:${port}`;
  const client = new WesClient(origin);
  // Processes that are part of the stack now; the log files of earlier lives are in logTail too.
  const all = () => [stack.api, ...workers];
  const logFiles = () => [...new Set([stack.api.logFile, ...workers.map((w) => w.logFile)])];
  const logTail = (lines = 60) =>
    logFiles()
      .map((f) => `----- ${path.basename(f)} (${f}) -----\n${tail(f, lines)}`)
      .join('\n');

  let stopped = false;
  const stop = async () => {
    if (stopped) return { leftovers: [] };
    stopped = true;
    await Promise.all(workers.map((w) => stopProcess(w)));
    await stopProcess(stack.api);
    // Engines are detached into process groups of their own: what a worker left behind (no
    // engine may outlive its worker) is found by the stack's folders, and killed.
    const leftovers = await killStackLeftovers(root, workDir, LEFTOVER_WAIT_MS);
    if (ownRedis) await redis.stop();
    if (process.env.WES_TEST_KEEP !== '1') rmSync(root, { recursive: true, force: true });
    return { leftovers };
  };

  const waitExit = (p: ManagedProcess, timeoutMs = 30_000) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      const result = () => ({ code: p.child.exitCode, signal: p.child.signalCode });
      if (exited(p)) return resolve(result());
      const timer = setTimeout(() => reject(new Error(`${p.name} (pid ${p.child.pid}) did not exit within ${timeoutMs} ms`)), timeoutMs);
      p.child.once('exit', () => {
        clearTimeout(timer);
        resolve(result());
      });
    });

  /** Polls service-info until 200 (with `needEngine`, until a live worker lists cwltool). */
  const waitServiceInfo = async (timeoutMs: number, needEngine: boolean, watched: () => ManagedProcess[]) => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const dead = watched().find(exited);
      if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) before the stack was ready\n${logTail(80)}`);
      try {
        const res = await fetch(`${origin}/ga4gh/wes/v1/service-info`);
        const text = await res.text();
        last = `${res.status} ${text.slice(0, 500)}`;
        if (res.status === 200) {
          const info = JSON.parse(text);
          const versions = info?.workflow_engine_versions?.cwltool?.workflow_engine_version;
          if (!needEngine || (Array.isArray(versions) && versions.length > 0)) return;
        }
      } catch (err) {
        last = String(err);
      }
      if (Date.now() > deadline) throw new Error(`the stack was not ready in time; last service-info: ${last}\n${logTail(80)}`);
      await sleep(100);
    }
  };

  const stack: Stack = {
    origin,
    client,
    redis,
    keyPrefix,
    keys: new RunKeys(keyPrefix),
    queueName,
    root,
    dataDir,
    workDir,
    env,
    api: startProcess('api', API_ENTRY, apiEnv, root),
    workers,
    logTail,
    stop,
    async startWorker({ env: extra, waitReady = true } = {}) {
      const w = startNamedWorker(extra);
      if (waitReady) await waitForLog(w, WORKER_READY_LOG, options.readyTimeoutMs ?? READY_TIMEOUT_MS);
      return w;
    },
    signal(p, sig) {
      if (!exited(p)) p.child.kill(sig);
    },
    async kill(p) {
      if (exited(p)) return;
      p.child.kill('SIGKILL');
      await waitExit(p, 10_000);
    },
    waitExit,
    liveWorkers: () => workers.filter((w) => !exited(w)),
    async workerHolding(runId) {
      const r = new Redis(redis.url, { lazyConnect: false });
      try {
        const [worker, host, wpid] = await r.hmget(stack.keys.run(runId), 'worker', 'host', 'wpid');
        const pid = holderPlace(worker, host, wpid).workerPid;
        return workers.find((w) => w.child.pid === pid);
      } finally {
        r.disconnect();
      }
    },
    async restartApi({ signal = 'SIGKILL', env: extra, waitReady = true } = {}) {
      const old = stack.api;
      if (!exited(old)) {
        if (signal === null) throw new Error('restartApi: the API still runs and no signal was given');
        old.child.kill(signal);
        await waitExit(old, 30_000);
      }
      apiLives++;
      stack.api = startProcess('api', API_ENTRY, { ...apiEnv, ...extra }, root);
      stack.api.name = `api (life ${apiLives})`;
      if (waitReady) await stack.waitApiReady();
      return stack.api;
    },
    waitApiReady: (timeoutMs = 30_000) => waitServiceInfo(timeoutMs, false, () => [stack.api]),
    redisClient: options.redisClient ?? (() => new Redis(redis.url)),
  };
  for (let i = 0; i < (options.workers ?? 1); i++) startNamedWorker();

  try {
    await waitServiceInfo(options.readyTimeoutMs ?? READY_TIMEOUT_MS, workers.length > 0, all);
  } catch (err) {
    await stop();
    throw err;
  }
  return stack;
}

/** The stack's run queue (of `pool`, by default the only one) as its processes see it, on a connection of its own (close it). */
export function queueOf(stack: Stack, pool?: string): RunQueue {
  const settings = loadSettings(stack.env);
  const definition = pool === undefined ? undefined : new WorkerPools(settings).get(pool);
  if (pool !== undefined && !definition) throw new Error(`the stack has no pool ${pool}`);
  return new RunQueue(settings, runQueueSettingsOf(settings, definition));
}
