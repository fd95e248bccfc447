import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { WesClient } from './client';
import { freePort } from './ports';
import { killProcesses, ProcessInfo } from './processes';
import { PrivateRedis, startRedis } from './redis-server';

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
  /** Use this Redis instead of starting a private one (it is then not stopped with the stack). */
  redis?: PrivateRedis;
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
  queueName: string;
  /** Temporary root of this stack: data/, work/ and the process logs. */
  root: string;
  dataDir: string;
  workDir: string;
  env: Record<string, string>;
  api: ManagedProcess;
  workers: ManagedProcess[];
  /** The last lines of every process log, for failure messages. */
  logTail(lines?: number): string;
  /** Stops workers and API (SIGTERM, SIGKILL after 5 s), kills any engine left in its work dir, stops its Redis. */
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
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const api = startProcess('api', API_ENTRY, env, root);
  const workers: ManagedProcess[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) workers.push(startProcess(`worker-${i + 1}`, WORKER_ENTRY, env, root));
  const origin = `http://127.0.0.1:${port}`;
  const client = new WesClient(origin);

  const all = () => [api, ...workers];
  const logTail = (lines = 60) =>
    all()
      .map((p) => `----- ${p.name} (${p.logFile}) -----\n${tail(p.logFile, lines)}`)
      .join('\n');

  let stopped = false;
  const stop = async () => {
    if (stopped) return { leftovers: [] };
    stopped = true;
    await Promise.all(workers.map((w) => stopProcess(w)));
    await stopProcess(api);
    // Engines are detached into process groups of their own: whatever a dead worker left behind
    // still names the stack's work folder on its command line.
    const leftovers = killProcesses(workDir);
    if (ownRedis) await redis.stop();
    if (process.env.WES_TEST_KEEP !== '1') rmSync(root, { recursive: true, force: true });
    return { leftovers };
  };

  const stack: Stack = { origin, client, redis, keyPrefix, queueName, root, dataDir, workDir, env, api, workers, logTail, stop };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let last = '';
  for (;;) {
    const dead = all().find(exited);
    if (dead) {
      const msg = `${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) before the stack was ready\n${logTail(80)}`;
      await stop();
      throw new Error(msg);
    }
    try {
      const res = await fetch(`${origin}/ga4gh/wes/v1/service-info`);
      const text = await res.text();
      last = `${res.status} ${text.slice(0, 500)}`;
      if (res.status === 200) {
        const info = JSON.parse(text);
        const versions = info?.workflow_engine_versions?.cwltool?.workflow_engine_version;
        if (workers.length === 0 || (Array.isArray(versions) && versions.length > 0)) break;
      }
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) {
      const msg = `the stack was not ready in time; last service-info: ${last}\n${logTail(80)}`;
      await stop();
      throw new Error(msg);
    }
    await sleep(200);
  }
  return stack;
}
