/**
 * CPU profiles of the API and workers (bench --profile). node refuses --cpu-prof in
 * NODE_OPTIONS, so a preload (--require, which NODE_OPTIONS allows) starts the V8 profiler
 * through the inspector module at start-up, and on SIGUSR2 writes the profile
 * (<dir>/CPU.<pid>.cpuprofile, the format of --cpu-prof) and exits. The summary lists where the samples fell:
 * by package (node_modules/<name>, our apps/libs, node internals, GC, idle) and the functions
 * with the most self time.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PRELOAD = `
const { Session } = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');
const session = new Session();
session.connect();
session.post('Profiler.enable', () =>
  session.post('Profiler.setSamplingInterval', { interval: 1000 }, () => session.post('Profiler.start')),
);
process.on('SIGUSR2', () => {
  session.post('Profiler.stop', (err, res) => {
    if (!err) fs.writeFileSync(path.join(process.env.BENCH_PROFILE_DIR, 'CPU.' + process.pid + '.cpuprofile'), JSON.stringify(res.profile));
    process.exit(0);
  });
});
`;

export function profilePreload(dir: string): string {
  const file = path.join(dir, 'cpu-profile-preload.cjs');
  writeFileSync(file, PRELOAD);
  return file;
}

export function profileEnv(profileDir: string, preload: string): Record<string, string> {
  return { NODE_OPTIONS: `--require ${preload}`, BENCH_PROFILE_DIR: profileDir };
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

function bucketOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return '(gc)';
  if (fn === '(idle)') return '(idle)';
  if (fn === '(program)') return '(program: native, outside JS)';
  if (!url) return '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node: ' + url.slice(5).split('/')[0];
  const ours = /\/dist\/((?:apps|libs)\/[^/]+)/.exec(url);
  if (ours) return ours[1];
  return url;
}

export interface ProfileSummary {
  file: string;
  /** Sampled milliseconds in all. */
  totalMs: number;
  /** Share of the busy (non-idle) time, by package. */
  byPackage: [string, number][];
  /** Functions with the most self time (share of busy time). */
  topFunctions: [string, number][];
  /** Share of busy time with a package anywhere on the stack (a sample counts once per package). */
  inclusiveByPackage: [string, number][];
  /** Share of busy time under each of our own functions (apps/, libs/). */
  inclusiveOurs: [string, number][];
  /** Share of the sampled time the event loop was idle (waiting for I/O or timers). */
  idleShare: number;
}

export function summarizeProfile(file: string): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: CpuNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclPkg = new Map<string, number>();
  const inclOurs = new Map<string, number>();
  const selfUs = new Map<number, number>();
  prof.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const pkg = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    total += us;
    const bucket = bucketOf(url, functionName);
    if (bucket === '(idle)') {
      idle += us;
      continue;
    }
    pkg.set(bucket, (pkg.get(bucket) ?? 0) + us);
    const seenPkg = new Set<string>();
    const seenFn = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!f.url) continue;
      const b = bucketOf(f.url, f.functionName);
      if (!seenPkg.has(b)) {
        seenPkg.add(b);
        inclPkg.set(b, (inclPkg.get(b) ?? 0) + us);
      }
      if (/\/dist\/(apps|libs)\//.test(f.url)) {
        const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
        if (!seenFn.has(k)) {
          seenFn.add(k);
          inclOurs.set(k, (inclOurs.get(k) ?? 0) + us);
        }
      }
    }
    const name = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    fns.set(name, (fns.get(name) ?? 0) + us);
  }
  const busy = total - idle || 1;
  const share = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => [k, Math.round((v / busy) * 1000) / 10] as [string, number]);
  return {
    file,
    totalMs: Math.round(total / 1000),
    idleShare: Math.round((idle / (total || 1)) * 1000) / 1000,
    byPackage: share(pkg, 15),
    topFunctions: share(fns, 20),
    inclusiveByPackage: share(inclPkg, 15),
    inclusiveOurs: share(inclOurs, 20),
  };
}

export function summarizeProfiles(dir: string): ProfileSummary[] {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  return files.map((f) => summarizeProfile(path.join(dir, f)));
}
