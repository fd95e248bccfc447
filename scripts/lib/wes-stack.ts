/**
 * Starts the WES API and workers from a snapshot of dist/ (so a rebuild in the working tree
 * during a long run does not change the code under test), configured by environment only.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Managed, startLogged } from './proc';

export const ROOT = path.resolve(__dirname, '..', '..');
export const WES_BASE = '/ga4gh/wes/v1';

/** Copies dist/, openapi/ and package.json into `dir` (node_modules linked): the code every process of a run uses. */
export function snapshotBuild(dir: string): string {
  const dist = path.join(ROOT, 'dist');
  for (const entry of ['apps/api/src/main.js', 'apps/worker/src/main.js']) {
    if (!existsSync(path.join(dist, entry))) throw new Error(`dist/${entry} is missing: run npm run build`);
  }
  mkdirSync(dir, { recursive: true });
  cpSync(dist, path.join(dir, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'openapi'), path.join(dir, 'openapi'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** The environment of this script without any WES setting a developer's shell may hold. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith('WES_') || k === 'REDIS_URL' || k === 'LOG_LEVEL' || k === 'WES_CONFIG_FILE' || k === 'NODE_ENV') continue;
    env[k] = v;
  }
  return env;
}

export class WesProcesses {
  private counter = new Map<string, number>();

  constructor(
    /** Folder holding dist/ (a snapshot, or the project root). */
    readonly codeDir: string,
    readonly env: Record<string, string>,
    readonly logDir: string,
    readonly cwd: string,
  ) {}

  get origin(): string {
    return `http://127.0.0.1:${this.env.WES_PORT}`;
  }

  get api(): string {
    return `${this.origin}${WES_BASE}`;
  }

  private start(kind: 'api' | 'worker', extraEnv: Record<string, string> = {}): Managed {
    const n = (this.counter.get(kind) ?? 0) + 1;
    this.counter.set(kind, n);
    const name = `${kind}-${n}`;
    const entry = path.join(this.codeDir, 'dist', 'apps', kind, 'src', 'main.js');
    return startLogged(name, process.execPath, [entry], {
      env: { ...this.env, ...extraEnv },
      cwd: this.cwd,
      logFile: path.join(this.logDir, `${name}.log`),
    });
  }

  startApi(extraEnv?: Record<string, string>): Managed {
    return this.start('api', extraEnv);
  }

  startWorker(extraEnv?: Record<string, string>): Managed {
    return this.start('worker', extraEnv);
  }

  /** Waits until service-info answers 200 from this API process; false if it exits or time runs out. */
  async waitApi(api: Managed, timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!api.alive) return false;
      try {
        const res = await fetch(`${this.api}/service-info`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) return true;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    return false;
  }

  /** Waits until the worker logged that it takes runs; false if it exits or time runs out. */
  async waitWorker(worker: Managed, timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!worker.alive) return false;
      try {
        if (readFileSync(worker.logFile, 'utf8').includes('"msg":"worker taking runs"')) return true;
      } catch {
        // no log yet
      }
      await sleep(100);
    }
    return false;
  }
}

/** Tail of a log file, for messages. */
export function tailOf(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Seeded PRNG (mulberry32): the same seed gives the same sequence of choices. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (lo: number, hi: number) => lo + (hi - lo) * next(),
    int: (lo: number, hi: number) => Math.floor(lo + (hi - lo + 1) * next()),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
  };
}

/** p-th percentile (nearest rank) of numbers; undefined for none. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** n, p50, p95 and max of millisecond figures (rounded to 0.1 ms). */
export function summary(values: number[]) {
  const r = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 10) / 10);
  return {
    n: values.length,
    p50: r(percentile(values, 50)),
    p95: r(percentile(values, 95)),
    max: r(values.length ? Math.max(...values) : undefined),
  };
}

export const fmtMs = (v: number | undefined) => (v === undefined ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
