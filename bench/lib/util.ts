/**
 * Small helpers of the benchmark: precise wall-clock time, statistics, /proc readings, Redis
 * memory, the machine description and the result table.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';

/** Wall-clock time in epoch milliseconds with sub-millisecond precision (comparable with `date +%s%N` of another process). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const round = (v: number | null | undefined, digits = 2): number | null =>
  v === null || v === undefined || !Number.isFinite(v) ? null : Math.round(v * 10 ** digits) / 10 ** digits;

/** p-th percentile (nearest rank) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export interface Stats {
  n: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  min: number | null;
  max: number | null;
}

export function stats(values: number[], digits = 2): Stats {
  if (values.length === 0) return { n: 0, mean: null, p50: null, p90: null, p99: null, min: null, max: null };
  return {
    n: values.length,
    mean: round(values.reduce((a, b) => a + b, 0) / values.length, digits),
    p50: round(percentile(values, 50), digits),
    p90: round(percentile(values, 90), digits),
    p99: round(percentile(values, 99), digits),
    min: round(values.reduce((a, b) => (b < a ? b : a), Infinity), digits),
    max: round(values.reduce((a, b) => (b > a ? b : a), -Infinity), digits),
  };
}

export const median = (values: number[]) => percentile(values, 50);

/** Redis INFO memory used_memory, in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

/** Bytes of every file under a folder (a local object store), 0 when there is none. */
export function folderBytes(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) if (e.isFile()) total += statSync(path.join(e.parentPath, e.name)).size;
  return total;
}

/** Share of the machine's CPU time that was busy over `ms` (from /proc/stat), 0..1. */
export async function cpuBusy(ms = 1000): Promise<number> {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  return b.total === a.total ? 0 : 1 - (b.idle - a.idle) / (b.total - a.total);
}

export function machine() {
  let model = os.cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux
  }
  let nproc = os.cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    // no nproc
  }
  let redisVersion = 'unknown';
  try {
    redisVersion = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // missing
  }
  let cwltoolVersion = 'unknown';
  try {
    cwltoolVersion = execFileSync('cwltool', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    // missing
  }
  return {
    nproc,
    model,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: os.release(),
    redis: redisVersion,
    cwltool: cwltoolVersion,
  };
}

export const loadAverage = () => os.loadavg().map((v) => Math.round(v * 100) / 100);

/** One line of the result table. */
export interface Row {
  /** Scenario number and sub-line, e.g. "2" or "3". */
  id: string;
  scenario: string;
  /** Unit of `ours` and `baseline`. */
  unit: string;
  ours: number | null;
  baseline: number | null;
  /** ours / baseline. */
  ratio: number | null;
  goal: string;
  /** null: reported, no goal on this line. */
  met: boolean | null;
  note?: string;
}

export function row(r: Omit<Row, 'ratio'> & { ratio?: number | null }): Row {
  const ratio =
    r.ratio !== undefined ? r.ratio : r.ours !== null && r.baseline !== null && r.baseline !== 0 ? round(r.ours / r.baseline, 3) : null;
  return { ...r, ours: round(r.ours, 2), baseline: round(r.baseline, 2), ratio: round(ratio, 3) };
}

function fmtValue(v: number | null, unit: string): string {
  if (v === null) return '—';
  if (unit === 'B') return `${Math.round(v)} B`;
  if (unit === 'MiB') return `${v.toFixed(1)} MiB`;
  if (unit === 'ms') return v >= 10_000 ? `${(v / 1000).toFixed(2)} s` : `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
  if (unit === 's') return `${v.toFixed(2)} s`;
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${unit}`;
}

export function formatTable(rows: Row[]): string {
  const head = ['#', 'scenario', 'ours', 'baseline', 'ratio', 'goal', 'met?'];
  const body = rows.map((r) => [
    r.id,
    r.scenario,
    fmtValue(r.ours, r.unit),
    fmtValue(r.baseline, r.unit),
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
    r.goal,
    r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table in Markdown (for docs/BENCHMARKS.md). */
export function markdownTable(rows: Row[]): string {
  const out = ['| # | scenario | ours | baseline | ratio | goal | met? |', '|---|---|---:|---:|---:|---|---|'];
  for (const r of rows) {
    out.push(
      `| ${r.id} | ${r.scenario} | ${fmtValue(r.ours, r.unit)} | ${fmtValue(r.baseline, r.unit)} | ${r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`} | ${r.goal} | ${r.met === null ? '—' : r.met ? 'yes' : '**no**'} |`,
    );
  }
  return out.join('\n');
}

/** Progress line on stderr, with the time since the bench started. */
const t0 = Date.now();
export function say(msg: string): void {
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}

/** What a scenario hands back: its lines of the table, and everything it measured. */
export interface ScenarioResult {
  rows: Row[];
  details: Record<string, unknown>;
}

/** A run hash as Redis stores it: encoding, exact MEMORY USAGE (SAMPLES 0), each field's value length. */
export async function describeHash(redis: Redis, key: string) {
  const h = await redis.hgetall(key);
  return {
    encoding: await redis.object('ENCODING', key),
    memoryUsage: (await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number,
    fields: Object.keys(h).length,
    longestValue: Math.max(...Object.values(h).map((v) => v.length)),
    valueLengths: Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.length])),
  };
}
