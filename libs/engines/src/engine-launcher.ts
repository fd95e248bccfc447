import { execa } from 'execa';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EngineCommand } from './engine-definition';

export interface EngineExit {
  /** Exit code, or undefined when the engine was ended by a signal or never started. */
  exitCode?: number;
  signal?: string;
  /** Set when the engine could not be started at all (e.g. not installed). */
  spawnError?: string;
}

export interface RunningEngine {
  pid: number;
  /** Settles when the engine process itself exits (its children may outlive it: see process-group). */
  exited: Promise<EngineExit>;
}

export interface LaunchOptions {
  cwd: string;
  stdoutFile: string;
  stderrFile: string;
  env?: Record<string, string>;
  /**
   * Signal the engine's whole process group gets if the worker dies, and the milliseconds
   * after which what is left of the group is SIGKILLed. The engine is started under coreutils
   * `timeout` (no time limit: it only relays signals to its whole group and SIGKILLs the group
   * `killAfterMs` later) with the Linux parent-death signal set on it by util-linux `setpriv`
   * (which execs it: the pid we see is the group's leader). A signal to the engine alone would
   * not do: cwltool running a workflow leaves its steps' tools behind. Where either program is
   * missing the engine is started as it is, and recovery kills leftovers instead.
   */
  parentDeathSignal?: NodeJS.Signals;
  killAfterMs?: number;
}

/** util-linux setpriv: the parent-death signal here, the sandbox's drop to an unprivileged uid (sandbox.ts). */
export const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const TIMEOUT = ['/usr/bin/timeout', '/bin/timeout'].find((p) => existsSync(p));

/**
 * Starts an engine as a child process: argument array (no shell), detached into a process
 * group of its own so that a cancel can signal everything it started, stdout and stderr
 * straight to files.
 */
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

export function launchEngine(command: EngineCommand, options: LaunchOptions): RunningEngine {
  if (!findExecutable(command.file, options.env?.PATH)) {
    return { pid: -1, exited: Promise.resolve({ spawnError: `${command.file}: not found or not executable` }) };
  }
  const killAfter = `${Math.max(0.1, (options.killAfterMs ?? 20_000) / 1000)}s`;
  const [file, args] =
    options.parentDeathSignal && SETPRIV && TIMEOUT
      ? [SETPRIV, ['--pdeathsig', options.parentDeathSignal, '--', TIMEOUT, '--kill-after', killAfter, '0', command.file, ...command.args]]
      : [command.file, command.args];
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    // Given an environment, the engine gets that one alone, not the worker's as well.
    extendEnv: options.env === undefined,
    detached: true,
    cleanup: false,
    reject: false,
    stdin: 'ignore',
    stdout: { file: options.stdoutFile },
    stderr: { file: options.stderrFile },
  });
  const exited = child.then((r) => {
    if (r.exitCode === undefined && !r.signal) {
      return { spawnError: r.originalMessage || r.shortMessage || 'the engine could not be started' };
    }
    return { exitCode: r.exitCode, signal: r.signal };
  });
  return { pid: child.pid ?? -1, exited };
}

/**
 * Runs an engine's version command (`<executable> --version`, possibly wrapped in its sandbox)
 * and returns its output (stdout, or stderr when stdout is empty).
 */
export async function readEngineVersion(command: EngineCommand, env?: Record<string, string>, timeoutMs = 30_000): Promise<string> {
  const r = await execa(command.file, command.args, { reject: false, timeout: timeoutMs, stdin: 'ignore', env, extendEnv: env === undefined });
  if (r.exitCode !== 0) throw new Error(`${[command.file, ...command.args].join(' ')} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ') || r.shortMessage}`);
  return (r.stdout || r.stderr).trim();
}
