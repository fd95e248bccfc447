import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EngineCommand } from './engine-definition';
import { signalGroup } from './process-group';

export interface EngineExit {
  /** Exit code, or undefined when the engine was ended by a signal or never started. */
  exitCode?: number;
  signal?: string;
  /** Set when the engine could not be started at all (e.g. not installed). */
  spawnError?: string;
  /** Set when the launcher holding the engine died: its group was killed, its exit is unknown. */
  lost?: string;
}

export interface RunningEngine {
  pid: number;
  /** Settles when the engine process itself exits (its children may outlive it: see process-group). */
  exited: Promise<EngineExit>;
  /**
   * Stops the engine's whole group: `signal` to the engine and what it started (not to its
   * wrappers), SIGKILL to the group after `graceMs`. Resolves with false when even SIGKILL did not
   * clear it.
   */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<boolean>;
}

export interface LaunchOptions {
  cwd: string;
  stdoutFile: string;
  stderrFile: string;
  /**
   * The engine's whole environment, always given: never the worker's own, which holds its
   * secrets (REDIS_URL, S3 keys). A sandbox's is rebuilt from nothing (sandbox.ts); without one,
   * unsandboxedEnv.
   */
  env: Record<string, string>;
  /**
   * Signal the engine's whole group gets if the worker dies, and the milliseconds after which
   * what is left of the group is SIGKILLed (the launcher does it: see engine-launcher-process.ts).
   */
  stopSignal?: NodeJS.Signals;
  killAfterMs?: number;
}

/** util-linux setpriv: the launcher's parent-death signal, the sandbox's drop to an unprivileged uid (sandbox.ts). */
export const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** Full path of an executable (as given when it holds a slash, else searched on PATH), or undefined. */
export function findExecutable(file: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = file.includes('/') ? [file] : path.split(':').filter(Boolean).map((dir) => join(dir, file));
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

/** What the worker asks its launcher (engine-launcher-process.ts). */
export type LauncherRequest =
  // env: the engine's whole environment (LaunchOptions.env): the launcher's own holds nothing of the worker's.
  | { t: 'spawn'; id: number; file: string; args: string[]; cwd: string; env: Record<string, string>; stdoutFile: string; stderrFile: string; stopSignal: NodeJS.Signals; graceMs: number }
  | { t: 'stop'; id: number; signal: NodeJS.Signals; graceMs: number };

/** What the launcher answers. */
export type LauncherReply =
  | { t: 'started'; id: number; pid: number }
  | { t: 'failed'; id: number; error: string }
  | { t: 'exit'; id: number; exitCode?: number; signal?: string }
  | { t: 'stopped'; id: number; gone: boolean; ms: number };

/** One engine as the worker follows it through its launcher. */
interface Launch {
  pid: number;
  started: (pid: number) => void;
  exited: (exit: EngineExit) => void;
  stops: ((gone: boolean) => void)[];
  /** Its exit, kept while a stop is still taking its group down. */
  exit?: EngineExit;
}

/**
 * The worker's side of its engine launcher: starts the launcher (once, and again after it
 * died), sends it each engine to start and each stop, and follows their ends. The launcher
 * runs detached (a Ctrl-C of the worker's terminal does not reach it; the worker's own shutdown
 * decides what happens to its runs) with the parent-death signal SIGTERM (setpriv, once per
 * worker), and stops every group it holds when the worker dies.
 *
 * If the launcher itself dies, the groups it held are killed from here (a sandbox dies with its
 * launcher anyway: bwrap --die-with-parent) and their engines end as lost; the next launch starts
 * a new launcher.
 *
 * The launcher starts with an environment of its own (launcherEnv), not the worker's: without a
 * sandbox an engine runs as the same user and could read /proc/<launcher>/environ.
 */
export class EngineLauncher {
  private child?: ChildProcess;
  private nextId = 1;
  private readonly launches = new Map<number, Launch>();
  /** Set by close(): why no engine starts any more. */
  private closed?: string;

  constructor(private readonly script = launcherScript()) {}

  /** Starts the launcher now rather than at the first run (a worker does it once its engines are known). */
  start(): void {
    this.ensure();
  }

  /** The launcher's pid (tests kill it), undefined when none runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  launch(command: EngineCommand, options: LaunchOptions): Promise<RunningEngine> {
    if (this.closed) return Promise.resolve(notStarted(this.closed));
    if (!findExecutable(command.file, options.env.PATH)) {
      return Promise.resolve(notStarted(`${command.file}: not found or not executable`));
    }
    const stopSignal = options.stopSignal ?? 'SIGTERM';
    const graceMs = options.killAfterMs ?? 20_000;
    const id = this.nextId++;
    return new Promise<RunningEngine>((resolveRunning) => {
      let settleExit!: (exit: EngineExit) => void;
      const exited = new Promise<EngineExit>((r) => (settleExit = r));
      const launch: Launch = {
        pid: -1,
        started: (pid) => {
          launch.pid = pid;
          resolveRunning({ pid, exited, stop: (signal, grace) => this.stop(id, signal, grace) });
        },
        exited: (exit) => {
          this.launches.delete(id);
          this.updateRef();
          settleExit(exit);
          // Never started: the caller still waits for its RunningEngine.
          if (launch.pid < 0) resolveRunning({ pid: -1, exited, stop: () => Promise.resolve(true) });
        },
        stops: [],
      };
      this.launches.set(id, launch);
      this.updateRef();
      this.send({ t: 'spawn', id, file: command.file, args: command.args, cwd: options.cwd, env: options.env, stdoutFile: options.stdoutFile, stderrFile: options.stderrFile, stopSignal, graceMs });
    });
  }

  /**
   * The worker's shutdown is over: no engine starts any more, and the launcher is told to go (its
   * channel closed), which SIGKILLs every group it still holds, a stop under way included, and
   * exits. Resolves once it has exited (what it held is then killed from here too), or after
   * `timeoutMs`. A worker that ends this way leaves no engine behind, whatever its drain did.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closed = 'the worker is shutting down';
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    if (child.connected) child.disconnect();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    // Still not gone (it hangs): its groups are killed from here, its engines end as lost.
    this.lost(child, this.closed);
  }

  private stop(id: number, signal: NodeJS.Signals, graceMs: number): Promise<boolean> {
    const launch = this.launches.get(id);
    // Its exit already reported: the launcher killed what the engine left.
    if (!launch) return Promise.resolve(true);
    return new Promise((resolve) => {
      launch.stops.push(resolve);
      this.send({ t: 'stop', id, signal, graceMs });
    });
  }

  private send(req: LauncherRequest): void {
    // Closed: the launcher is going and takes every group with it (a stop in flight is settled then).
    if (this.closed) return;
    const child = this.ensure();
    child.send(req, (err) => {
      if (err) this.lost(child, `the engine launcher could not be reached: ${err.message}`);
    });
  }

  private ensure(): ChildProcess {
    if (this.child?.connected) return this.child;
    const [file, args] = launcherCommand(this.script);
    const child = spawn(file, args, { detached: true, env: launcherEnv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    child.on('message', (reply: LauncherReply) => this.onReply(reply));
    child.on('error', (err) => this.lost(child, `the engine launcher failed: ${err.message}`));
    child.on('exit', (code, signal) => this.lost(child, `the engine launcher ended (${signal ?? `exit code ${code}`})`));
    this.updateRef();
    return child;
  }

  private onReply(reply: LauncherReply): void {
    const launch = this.launches.get(reply.id);
    if (!launch) return;
    if (reply.t === 'started') launch.started(reply.pid);
    else if (reply.t === 'failed') launch.exited({ spawnError: reply.error });
    else if (reply.t === 'exit') {
      // A stop under way keeps the launch until the group is gone (its 'stopped' settles it).
      if (launch.stops.length === 0) launch.exited({ exitCode: reply.exitCode, signal: reply.signal });
      else launch.exit = { exitCode: reply.exitCode, signal: reply.signal };
    } else if (reply.t === 'stopped') {
      for (const resolve of launch.stops.splice(0)) resolve(reply.gone);
      launch.exited(launch.exit ?? { signal: 'SIGKILL' });
    }
  }

  /** The launcher is gone: what it held is killed from here and ends as lost. */
  private lost(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    why = this.closed ?? why;
    for (const launch of [...this.launches.values()]) {
      if (launch.pid > 0) signalGroup(launch.pid, 'SIGKILL');
      for (const resolve of launch.stops.splice(0)) resolve(true);
      launch.exited(launch.exit ?? (launch.pid > 0 ? { lost: why } : { spawnError: why }));
    }
  }

  /** The launcher keeps the worker alive only while it holds an engine (an idle worker exits as it would without it). */
  private updateRef(): void {
    const child = this.child;
    if (!child) return;
    const channel = child.channel as { ref(): void; unref(): void } | undefined;
    if (this.launches.size > 0) {
      child.ref();
      channel?.ref();
    } else {
      child.unref();
      channel?.unref();
    }
  }
}

function notStarted(spawnError: string): RunningEngine {
  return { pid: -1, exited: Promise.resolve({ spawnError }), stop: () => Promise.resolve(true) };
}

/** The launcher program: built JavaScript beside this file, or (tests run the sources) the TypeScript through tsx. */
function launcherScript(): string {
  const built = join(__dirname, 'engine-launcher-process.js');
  return existsSync(built) ? built : join(__dirname, 'engine-launcher-process.ts');
}

/**
 * The launcher's environment: PATH alone (setpriv and node are named by their full paths). It
 * is each engine's spawn message that carries that engine's environment.
 */
export function launcherEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin' };
}

function launcherCommand(script: string): [string, string[]] {
  const node = [...(script.endsWith('.ts') ? ['--import', 'tsx'] : []), script];
  // The launcher dies with the worker even if its channel's end went unnoticed.
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', process.execPath, ...node]] : [process.execPath, node];
}

/** The worker's one launcher. */
export const engineLauncher = new EngineLauncher();

/**
 * Starts an engine through the worker's launcher: argument array (no shell), in a process group
 * of its own so that a stop reaches everything it started, stdout and stderr straight to files.
 */
export function launchEngine(command: EngineCommand, options: LaunchOptions): Promise<RunningEngine> {
  return engineLauncher.launch(command, options);
}
