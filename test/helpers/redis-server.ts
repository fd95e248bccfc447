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
  /** The current redis-server process (a new one after each restart). */
  process: ChildProcess;
  /**
   * Stops the server and starts it again in place: same port, same folder, so it reloads its
   * AOF. `how`: `shutdown` (the SHUTDOWN command: AOF fsynced), `sigterm` (what docker stop
   * sends; Redis also shuts down cleanly) or `sigkill` (a crash: only what the AOF already
   * holds, fsync everysec, survives). The server stays down `downMs` before it starts again.
   */
  restart(options?: { how?: 'shutdown' | 'sigterm' | 'sigkill'; downMs?: number }): Promise<void>;
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

/** Sends one command (inline protocol) over a raw socket; resolves with the first reply line, or '' if the connection closes first. */
function rawCommand(port: number, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    const done = () => {
      sock.destroy();
      resolve(data.split('\r\n')[0]);
    };
    sock.setTimeout(timeoutMs, done);
    sock.on('error', done);
    sock.on('close', done);
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done();
    });
  });
}

function spawnRedis(executable: string, port: number, dir: string, logFile: string) {
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
  const state = { stderr: '', spawnError: undefined as Error | undefined };
  child.stderr?.on('data', (c) => (state.stderr += c.toString()));
  child.on('error', (err) => (state.spawnError = err));
  return { child, state };
}

async function waitReady(
  executable: string,
  port: number,
  logFile: string,
  spawned: ReturnType<typeof spawnRedis>,
  timeoutMs: number,
): Promise<void> {
  const { child, state } = spawned;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (state.spawnError) throw new Error(`cannot start ${executable}: ${state.spawnError.message}`);
    if (child.exitCode !== null) {
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8');
      } catch {
        /* no log */
      }
      throw new Error(`redis-server exited with ${child.exitCode} before answering PING:\n${state.stderr}\n${log}`);
    }
    if (await ping(port)) return;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING in time`);
    }
    await sleep(50);
  }
}

/**
 * Starts a private redis-server on a free port with its own temporary folder (AOF on, no RDB
 * snapshots) and waits until it answers PING.
 */
export async function startRedis(options: { executable?: string; timeoutMs?: number } = {}): Promise<PrivateRedis> {
  const executable = options.executable ?? 'redis-server';
  const timeoutMs = options.timeoutMs ?? 15_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-test-redis-'));
  let port = await freePort();
  while (port === FORBIDDEN_PORT) port = await freePort();
  if (port === FORBIDDEN_PORT) throw new Error('refusing to use port 6379');
  const logFile = path.join(dir, 'redis.log');
  let spawned = spawnRedis(executable, port, dir, logFile);
  try {
    await waitReady(executable, port, logFile, spawned, timeoutMs);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const server: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    process: spawned.child,
    async restart({ how = 'shutdown', downMs = 0 } = {}) {
      const child = spawned.child;
      if (child.exitCode === null && child.signalCode === null) {
        if (how === 'shutdown') await rawCommand(port, 'SHUTDOWN');
        else child.kill(how === 'sigterm' ? 'SIGTERM' : 'SIGKILL');
        if (!(await waitExit(child, 10_000))) throw new Error(`redis-server on port ${port} did not stop (${how})`);
      }
      if (downMs > 0) await sleep(downMs);
      spawned = spawnRedis(executable, port, dir, logFile);
      server.process = spawned.child;
      await waitReady(executable, port, logFile, spawned, timeoutMs);
    },
    async stop() {
      const child = spawned.child;
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
  return server;
}
