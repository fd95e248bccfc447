import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports';

/** The Redis everybody else uses; tests never connect to it. */
const FORBIDDEN_PORT = 6379;

export interface PrivateRedis {
  port: number;
  url: string;
  dir: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
}

/** Sends PING over a raw socket; true when the server answers +PONG. */
export function ping(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts a private redis-server on a free port with its own temporary folder (AOF on, no RDB
 * snapshots) and waits until it answers PING.
 */
export async function startRedis(options: { executable?: string; timeoutMs?: number } = {}): Promise<PrivateRedis> {
  const executable = options.executable ?? 'redis-server';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-test-redis-'));
  let port = await freePort();
  while (port === FORBIDDEN_PORT) port = await freePort();
  const logFile = path.join(dir, 'redis.log');
  const child = spawn(
    executable,
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--save', '',
      '--appendonly', 'yes',
      '--daemonize', 'no',
      '--logfile', logFile,
      '--protected-mode', 'no',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c) => (stderr += c.toString()));
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));

  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    if (spawnError) throw new Error(`cannot start ${executable}: ${spawnError.message}`);
    if (child.exitCode !== null) {
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8');
      } catch {
        /* no log */
      }
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server exited with ${child.exitCode} before answering PING:\n${stderr}\n${log}`);
    }
    if (await ping(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server on port ${port} did not answer PING in time`);
    }
    await sleep(50);
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if (!(await waitExit(child, 5000))) {
          child.kill('SIGKILL');
          await waitExit(child, 5000);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
