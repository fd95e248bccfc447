/**
 * The two ways a case is run: cwltool directly, and `wes run` against a WES server. Each side
 * runs in a folder of its own under the case's folder, with its own --outdir, and gives back
 * its exit code and its output object made canonical (files read where that side put them).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalize, parseOutputObject } from './canonical';
import { CwlDiffCase, DEBIAN_CWL_ROOT } from './cases';
import type { SideOutcome } from './compare';

export interface SideRun extends SideOutcome {
  ms: number;
  /** The side's folder: its stdout, stderr and outputs (out/). */
  dir: string;
}

/** Runs one case one way, in `dir` (made by the caller, empty). */
export type SideRunner = (c: CwlDiffCase, dir: string) => Promise<SideRun>;

/** Milliseconds between the stop signal to a timed-out side and SIGKILL. */
const KILL_GRACE_MS = 10_000;

/** Process groups of the sides running now, so that an interrupted cwl-diff leaves none behind. */
const running = new Set<number>();

/** SIGKILLs every side still running (for a script's exit path). */
export function killRunningSides(): void {
  for (const pgid of running) signalGroup(pgid, 'SIGKILL');
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

/**
 * Runs a command in its own process group with stdout and stderr in `dir`, stopping the whole
 * group (SIGINT, then SIGKILL) when it outlives `timeoutMs`: both cwltool and `wes run` take
 * SIGINT as "stop" (the latter cancels its run first).
 */
async function runLogged(
  file: string,
  args: string[],
  o: { dir: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ exitCode: number | null; timedOut: boolean; ms: number; stdoutFile: string }> {
  const stdoutFile = path.join(o.dir, 'stdout');
  const out = openSync(stdoutFile, 'w');
  const err = openSync(path.join(o.dir, 'stderr'), 'w');
  const t0 = Date.now();
  const child = spawn(file, args, { cwd: o.dir, env: o.env, stdio: ['ignore', out, err], detached: true });
  closeSync(out);
  closeSync(err);
  const pgid = child.pid;
  if (pgid) running.add(pgid);
  let timedOut = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('exit', (code) => resolve(code));
  });
  const timer = setTimeout(() => {
    timedOut = true;
    if (!pgid) return;
    signalGroup(pgid, 'SIGINT');
    void sleep(KILL_GRACE_MS).then(() => running.has(pgid) && signalGroup(pgid, 'SIGKILL'));
  }, o.timeoutMs);
  const exitCode = await exited;
  clearTimeout(timer);
  if (pgid) running.delete(pgid);
  return { exitCode, timedOut, ms: Date.now() - t0, stdoutFile };
}

/** Reads a side's stdout as an output object and makes it canonical. */
async function outcome(dir: string, r: Awaited<ReturnType<typeof runLogged>>): Promise<SideRun> {
  const text = (await readFile(r.stdoutFile, 'utf8')).trim();
  const base: SideRun = { exitCode: r.exitCode, timedOut: r.timedOut, ms: r.ms, dir };
  if (!text) return { ...base, outputError: 'empty stdout' };
  try {
    return { ...base, outputs: canonicalize(parseOutputObject(text), path.join(dir, 'out')) };
  } catch (err) {
    return { ...base, outputError: `stdout is not JSON (${(err as Error).message})` };
  }
}

/**
 * How the server's run ended, from `wes run`'s progress lines on stderr: `wes: run <id> ended
 * <STATE>` when it failed, `wes: run <id>: COMPLETE` when it succeeded; with neither, the run
 * never was (the first error line says why, e.g. a 400 at submit).
 */
export function runStateOf(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('wes: '));
  const ended = lines.map((l) => /^wes: run \S+ ended ([A-Z_]+)/.exec(l)?.[1]).find((s) => s !== undefined);
  if (ended) return ended;
  if (lines.some((l) => /^wes: run \S+: COMPLETE\b/.test(l))) return 'COMPLETE';
  const why = lines.find((l) => !/^wes: (uploading|run \S+ submitted|warning:)/.test(l));
  return `no run ended (${why ? why.slice('wes: '.length, 200) : 'wes run said nothing'})`;
}

/** The absolute document (with its #fragment) and job of a case. */
export function casePaths(c: CwlDiffCase): { doc: string; job?: string } {
  return { doc: path.join(DEBIAN_CWL_ROOT, c.doc), job: c.job ? path.join(DEBIAN_CWL_ROOT, c.job) : undefined };
}

/** `cwltool --outdir <dir>/out [flags] doc [job]`, as a user would run it. */
export function directRunner(o: { cwltool: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): SideRunner {
  return async (c, dir) => {
    const { doc, job } = casePaths(c);
    const outdir = path.join(dir, 'out');
    mkdirSync(outdir, { recursive: true });
    const args = ['--outdir', outdir, ...(c.cwltoolArgs ?? []), doc, ...(job ? [job] : [])];
    return outcome(dir, await runLogged(o.cwltool, args, { dir, env: o.env ?? process.env, timeoutMs: o.timeoutMs }));
  };
}

/**
 * `wes run --outdir <dir>/out doc [job]` against `wesUrl`, with the case's cwltool flags as
 * engine parameters (`--enable-ext` → `--engine-param=--enable-ext=true`).
 */
export function serverRunner(o: { cliEntry: string; wesUrl: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): SideRunner {
  return async (c, dir) => {
    const { doc, job } = casePaths(c);
    const outdir = path.join(dir, 'out');
    mkdirSync(outdir, { recursive: true });
    const params = (c.cwltoolArgs ?? []).map((flag) => `--engine-param=${flag}=true`);
    const args = [o.cliEntry, '--url', o.wesUrl, 'run', '--outdir', outdir, ...params, doc, ...(job ? [job] : [])];
    const side = await outcome(dir, await runLogged(process.execPath, args, { dir, env: o.env ?? process.env, timeoutMs: o.timeoutMs }));
    return { ...side, runState: runStateOf(await readFile(path.join(dir, 'stderr'), 'utf8')) };
  };
}
