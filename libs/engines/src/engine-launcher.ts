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
   * Signal the engine gets if the worker dies (Linux parent-death signal, set through
   * util-linux `setpriv`, which then execs the engine: same pid, same group). Where setpriv is
   * missing the engine is started as it is, and recovery kills leftovers instead.
   */
  parentDeathSignal?: NodeJS.Signals;
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

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
  const [file, args] =
    options.parentDeathSignal && SETPRIV
      ? [SETPRIV, ['--pdeathsig', options.parentDeathSignal, '--', command.file, ...command.args]]
      : [command.file, command.args];
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
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

/** Runs `<executable> --version` and returns its output (stdout, or stderr when stdout is empty). */
export async function readEngineVersion(executable: string, timeoutMs = 30_000): Promise<string> {
  const r = await execa(executable, ['--version'], { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`${executable} --version failed: ${r.shortMessage}`);
  return (r.stdout || r.stderr).trim();
}
