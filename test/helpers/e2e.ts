import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { WesClient, WORKFLOWS_DIR } from './client';
import { CWLTOOL, Stack, StackOptions, startStack } from './stack';

export interface StackHandle {
  readonly stack: Stack;
  readonly client: WesClient;
}

/**
 * Starts a stack (private Redis, API, workers) before the file's tests and stops it after;
 * when a test fails, the tail of every process log is printed with it. `options` may be
 * worked out just before (a free port, say).
 */
export function useStack(options: StackOptions | (() => Promise<StackOptions>) = {}): StackHandle {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack(typeof options === 'function' ? await options() : options);
  });
  afterAll(async () => {
    if (!stack) return;
    const { leftovers } = await stack.stop();
    // An engine that outlives its worker is a defect (a workflow must never outlive its run): the file fails.
    if (leftovers.length) {
      throw new Error(`processes of the stack were still running after its workers had exited (killed):\n${leftovers.map((p) => `  ${p.pid} ${p.cmdline}`).join('\n')}`);
    }
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (stack) console.log(`logs of the stack under test:\n${stack.logTail(80)}`);
    });
  });
  return {
    get stack() {
      if (!stack) throw new Error('the stack did not start');
      return stack;
    },
    get client() {
      if (!stack) throw new Error('the stack did not start');
      return stack.client;
    },
  };
}

/** A number no other test or process is likely to use (e.g. a sleep duration found in /proc). */
export function uniqueNumber(min = 40_000, span = 50_000): number {
  return min + Math.floor(Math.random() * span);
}

export function uniqueMarker(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** `cwltool --version` here, as the last token (what service-info must list). */
export function localCwltoolVersion(): string {
  const r = spawnSync(CWLTOOL, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${CWLTOOL} --version failed: ${r.stderr}`);
  const tokens = (r.stdout || r.stderr).trim().split(/\s+/);
  return tokens[tokens.length - 1];
}

/** Runs cwltool directly on a fixture and returns its exit code (what the server should report). */
export function localCwltoolExitCode(workflow: string, params: unknown): number {
  return localCwltool(workflow, params).exitCode;
}

/** Runs cwltool directly on a fixture: its exit code, and the text of each file at the top of its --outdir. */
export function localCwltool(workflow: string, params: unknown): { exitCode: number; files: Record<string, string> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-cwltool-'));
  try {
    writeFileSync(path.join(dir, 'params.json'), JSON.stringify(params));
    const out = path.join(dir, 'out');
    const r = spawnSync(CWLTOOL, ['--outdir', out, path.join(WORKFLOWS_DIR, workflow), path.join(dir, 'params.json')], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status === null) throw new Error(`cwltool did not finish: ${r.signal}`);
    const files: Record<string, string> = {};
    if (existsSync(out)) {
      for (const e of readdirSync(out, { withFileTypes: true })) if (e.isFile()) files[e.name] = readFileSync(path.join(out, e.name), 'utf8');
    }
    return { exitCode: r.status, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What `rev` makes of a text: each line reversed, line ends kept. */
export function reverseLines(text: string): string {
  return text
    .split('\n')
    .map((line) => [...line].reverse().join(''))
    .join('\n');
}

export const TWO_STEP_FILES = ['main.cwl', 'tools/rev.cwl', 'tools/count-lines.cwl'];
