/**
 * Process helpers for the chaos and benchmark scripts and the tests (Linux: reads /proc). Plain
 * Node, nothing from vitest, so the scripts can use them too.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** argv joined by single spaces. */
  cmdline: string;
  cwd: string;
}

/** Live (not zombie) user processes, from /proc; this process is left out. */
export function scanProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z') continue;
      const raw = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!raw) continue; // kernel thread
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {
        // not ours to read, or gone
      }
      out.push({ pid, ppid: Number(rest[1]), pgid: Number(rest[2]), cmdline: raw.replace(/\0+$/, '').split('\0').join(' '), cwd });
    } catch {
      // ended while being read
    }
  }
  return out;
}

/** Processes whose command line or working folder contains `marker`. */
export function processesMatching(marker: string): ProcInfo[] {
  return scanProcesses().filter((p) => p.cmdline.includes(marker) || p.cwd.includes(marker));
}

/** Processes whose command line contains `marker`. */
export function processesWithCommand(marker: string): ProcInfo[] {
  return scanProcesses().filter((p) => p.cmdline.includes(marker));
}

/** SIGKILLs these processes (those already gone are skipped); returns them. */
export function killAll(procs: ProcInfo[]): ProcInfo[] {
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return procs;
}

/** SIGKILLs every process whose command line or working folder contains `marker`; returns them. */
export function killMatching(marker: string): ProcInfo[] {
  return killAll(processesMatching(marker));
}

/** A TCP port that was free a moment ago; never 6379 (the shared Redis). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const address = srv.address();
        const p = address && typeof address !== 'string' ? address.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port && port !== 6379) return port;
  }
}

/** A child process started by a script, its output in a log file. */
export class Managed {
  readonly startedAt = Date.now();
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set when this script sent the signal that ended (or is ending) the process. */
  stopRequested?: NodeJS.Signals;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exit = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    this.stopRequested ??= sig;
    if (this.alive) {
      try {
        this.child.kill(sig);
      } catch {
        // gone meanwhile
      }
    }
  }

  /** SIGTERM, SIGKILL after graceMs; resolves when the process has exited. Returns whether it exited in the grace. */
  async stop(graceMs = 5000): Promise<boolean> {
    if (!this.alive) return true;
    this.signal('SIGTERM');
    const inTime = await Promise.race([this.exit.then(() => true), sleep(graceMs).then(() => false)]);
    if (!inTime) {
      this.signal('SIGKILL');
      await Promise.race([this.exit, sleep(5000)]);
    }
    return inTime;
  }
}

const everyChild = new Set<Managed>();

/**
 * Starts a process with stdout and stderr appended to logFile. Detached into a group of its
 * own, so that a Ctrl-C in the terminal reaches this script only (which then stops it all).
 */
export function startLogged(name: string, file: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string }): Managed {
  const fd = openSync(options.logFile, 'a');
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  child.on('error', () => undefined);
  const m = new Managed(name, child, options.logFile);
  everyChild.add(m);
  void m.exit.then(() => everyChild.delete(m));
  return m;
}

/** SIGKILLs every child this script started that is still alive (last-resort clean-up). */
export function killAllChildren(): void {
  for (const m of everyChild) m.signal('SIGKILL');
}

/**
 * Ctrl-C and SIGTERM stop a script cleanly: every child it started is killed, then whatever
 * still runs with `marker()` in its command line or folder, and `folder()` is removed unless
 * `keep`. Children are also killed at any exit.
 */
export function stopEverythingOnSignals(o: { marker: () => string; folder: () => string; keep: boolean }): void {
  let cleaning = false;
  const cleanup = (code: number) => {
    if (cleaning) return;
    cleaning = true;
    killAllChildren();
    if (o.marker()) killMatching(`${o.marker()}/`);
    if (o.folder() && !o.keep) rmSync(o.folder(), { recursive: true, force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => cleanup(130));
  process.on('SIGTERM', () => cleanup(143));
  process.on('exit', () => killAllChildren());
}

/**
 * Sends one command (inline protocol) over a raw socket; resolves with the first reply line, or
 * '' if the connection fails, closes or times out first.
 */
export function redisCommand(port: number, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    const done = () => {
      sock.destroy();
      resolve(data.includes('\r\n') ? data.split('\r\n')[0] : '');
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

/** Sends PING over a raw socket; true when the server answers +PONG. */
export async function redisPing(port: number, timeoutMs = 1000): Promise<boolean> {
  return (await redisCommand(port, 'PING', timeoutMs)) === '+PONG';
}

/** The arguments of a private redis-server on `port` keeping its AOF in `dir` (no RDB snapshots). */
export function privateRedisArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--daemonize', 'no', '--protected-mode', 'no'];
}

/** Starts a private redis-server (AOF on, no RDB snapshots) in `dir` on a free port; waits for PING. */
export async function startPrivateRedis(dir: string, logDir: string, onPort?: number): Promise<{ port: number; url: string; proc: Managed }> {
  const port = onPort ?? (await freePort());
  if (port === 6379) throw new Error('port 6379 belongs to the shared Redis');
  const proc = startLogged(
    'redis',
    'redis-server',
    privateRedisArgs(port, dir),
    { env: process.env, cwd: dir, logFile: `${logDir}/redis.log` },
  );
  const deadline = Date.now() + 15_000;
  while (!(await redisPing(port))) {
    if (!proc.alive) throw new Error(`redis-server exited before answering PING (see ${proc.logFile})`);
    if (Date.now() > deadline) {
      proc.signal('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING in time`);
    }
    await sleep(50);
  }
  return { port, url: `redis://127.0.0.1:${port}`, proc };
}
