import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, privateRedisArgs, redisCommand, redisPing } from '../../scripts/lib/proc';

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
  /** Kills the server (SIGKILL: a crash) and waits until it is gone; `start` brings it back. */
  kill(): Promise<void>;
  /** Starts the killed server again in place (same port and folder: it reloads its AOF). */
  start(): Promise<void>;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
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

function spawnRedis(executable: string, port: number, dir: string, logFile: string) {
  const child = spawn(executable, [...privateRedisArgs(port, dir), '--logfile', logFile], { stdio: ['ignore', 'ignore', 'pipe'] });
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
    if (await redisPing(port)) return;
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
  // Never 6379 (the Redis everybody else uses): freePort skips it.
  const port = await freePort();
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
        if (how === 'shutdown') await redisCommand(port, 'SHUTDOWN');
        else child.kill(how === 'sigterm' ? 'SIGTERM' : 'SIGKILL');
        if (!(await waitExit(child, 10_000))) throw new Error(`redis-server on port ${port} did not stop (${how})`);
      }
      if (downMs > 0) await sleep(downMs);
      spawned = spawnRedis(executable, port, dir, logFile);
      server.process = spawned.child;
      await waitReady(executable, port, logFile, spawned, timeoutMs);
    },
    async kill() {
      const child = spawned.child;
      child.kill('SIGKILL');
      if (!(await waitExit(child, 10_000))) throw new Error(`redis-server on port ${port} did not die`);
    },
    async start() {
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
