import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './stack';

/** The built `wes` command-line client. */
export const WES_CLI = path.join(ROOT, 'dist/apps/cli/src/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of the CLI under test: ours without any WES_* a developer's shell may hold. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WES_') && !k.startsWith('npm_')));
  return { ...clean, ...env };
}

/** A running `wes` process whose stdout and stderr are collected as they come. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  done: Promise<CliResult>;
  /** Resolves once stderr contains `text` (rejects if the process exits first). */
  waitForStderr(text: string | RegExp): Promise<void>;
}

export function startWes(args: string[], options: { url?: string; cwd?: string; env?: Record<string, string> } = {}): CliProcess {
  const env = cliEnv({ ...(options.url ? { WES_URL: options.url } : {}), ...options.env });
  const child = spawn(process.execPath, [WES_CLI, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { test: (s: string) => boolean; resolve: () => void }[] = [];
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => {
    err += d;
    for (const w of waiters.splice(0)) {
      if (w.test(err)) w.resolve();
      else waiters.push(w);
    }
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitForStderr(text) {
      const test = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
      if (test(err)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ test, resolve });
        done.then((r) => reject(new Error(`wes exited (${r.code ?? r.signal}) before its stderr showed ${text}:\n${r.stderr}`)));
      });
    },
  };
}

/** Runs `wes` to its end. */
export function runWes(args: string[], options: { url?: string; cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return startWes(args, options).done;
}

/** Every entry under a folder: `dir/` for folders, `file <sha1> <size>` for files, by relative path. */
export function treeOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      const rel = path.relative(dir, full);
      if (statSync(full).isDirectory()) {
        out[`${rel}/`] = 'dir';
        walk(full);
      } else {
        const bytes = readFileSync(full);
        out[rel] = `file ${createHash('sha1').update(bytes).digest('hex')} ${bytes.length}`;
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * What an output object says, comparable between two output folders: each File/Directory as
 * class, basename, size, checksum, its path relative to `outdir`, its secondaryFiles and its
 * listing (sorted by basename); every other value as it is.
 */
export function outputShape(value: unknown, outdir: string): unknown {
  if (Array.isArray(value)) return value.map((v) => outputShape(v, outdir));
  if (!value || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if (obj.class === 'File' || obj.class === 'Directory') {
    const shape: Record<string, unknown> = {
      class: obj.class,
      basename: obj.basename,
      path: path.relative(outdir, String(obj.path)),
    };
    if (obj.class === 'File') Object.assign(shape, { size: obj.size, checksum: obj.checksum });
    if (obj.secondaryFiles) shape.secondaryFiles = outputShape(obj.secondaryFiles, outdir);
    if (obj.listing) {
      shape.listing = (outputShape(obj.listing, outdir) as { basename: string }[]).sort((a, b) => (a.basename < b.basename ? -1 : 1));
    }
    return shape;
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, outputShape(v, outdir)]));
}
