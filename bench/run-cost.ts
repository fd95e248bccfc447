/**
 * What one no-op run costs, in figures that do not depend on the machine's load (issue 15,
 * scenario 6): CPU ms per run of the worker, its engine launcher (with the engines it reaped:
 * bwrap, setpriv, the engine), the API and Redis (/proc utime + stime deltas over N runs), and
 * the Redis commands per run (MONITOR, a few runs one at a time). One stack (private Redis, API,
 * one worker of concurrency 4, the snapshot of dist/), engine /bin/true.
 *
 * Usage: npx tsx bench/run-cost.ts [--runs 200] [--env K=V]...
 *   --env  a setting of the stack (repeatable), e.g. --env WES_SANDBOX=none
 *   --strace  then one more batch under `strace -c -f` (the worker; the launcher and what it starts): syscalls per run
 *   --profile <dir>  CPU profiles of the API and worker (bench/lib/profile.ts), copied into <dir>
 * Needs dist/ (npx tsc -p tsconfig.build.json). The temporary folder is removed at the end.
 */
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RunKeys } from '../libs/runs/src';
import { standaloneBench } from './lib/harness';
import { helloSubmission, submit } from './lib/fixtures';
import { countCommands } from './lib/monitor';
import { sleep } from './lib/util';
import { NO_OP_ENGINE } from './scenarios/throughput';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    env: { type: 'string', multiple: true, default: [] },
    profile: { type: 'string' },
    strace: { type: 'boolean', default: false },
  },
});
const runs = Number(opt.runs);
const kv = (list: string[]) => Object.fromEntries(list.map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)]));

/** CPU ms a process has used so far (with `children`: and the children it reaped), from /proc. */
function cpuMs(pid: number, children = false): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const tick = 10;
  return (Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0)) * tick;
}

/** CPU ms of the kernel's own threads (kworkers: e.g. the teardown of a sandbox's namespaces), from /proc. */
function kernelThreadsMs(): number {
  let ms = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      if (f[1] === '2') ms += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      // gone meanwhile
    }
  }
  return ms;
}

/** The pids of a process's children. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
    if (text) out.push(...text.split(' ').map(Number));
  }
  return out;
}

async function main(): Promise<void> {
  const { root, redis, b } = await standaloneBench('run-cost', !!opt.profile);
  try {
    const stack = await b.startWes('cost', { env: { WES_CWLTOOL_PATH: NO_OP_ENGINE, WES_WORKER_CONCURRENCY: '4', ...kv(opt.env as string[]) }, workers: 1 });
    const sub = helloSubmission('cost');
    const counts = new RunKeys(stack.prefix).counts;
    const completed = async () => Number((await b.redis.hget(counts, 'COMPLETE')) ?? 0);
    const bad = async () => Number((await b.redis.hget(counts, 'SYSTEM_ERROR')) ?? 0) + Number((await b.redis.hget(counts, 'EXECUTOR_ERROR')) ?? 0);
    const batch = async (n: number, clients = 8) => {
      const done0 = await completed();
      let next = 0;
      await Promise.all(Array.from({ length: clients }, async () => {
        while (next++ < n) await submit(stack.base, sub);
      }));
      while ((await completed()) - done0 < n) {
        if (await bad()) throw new Error(`runs failed: see ${stack.workers[0].logFile}`);
        await sleep(10);
      }
    };
    await batch(20);
    const worker = stack.workers[0].pid;
    const launcher = childrenOf(worker)[0];
    const procs: Record<string, () => number> = {
      worker: () => cpuMs(worker),
      'launcher+engines': () => cpuMs(launcher, true),
      api: () => cpuMs(stack.api.pid),
      redis: () => cpuMs(b.redisPid),
      // Shared with every other process of the machine: an upper bound.
      'kernel threads': kernelThreadsMs,
    };
    const before = Object.fromEntries(Object.entries(procs).map(([k, f]) => [k, f()]));
    const t0 = performance.now();
    await batch(runs);
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(`${JSON.stringify(kv(opt.env as string[]))}: ${runs} runs in ${s.toFixed(1)} s (${(runs / s).toFixed(1)} runs/s)\n`);
    process.stdout.write(`CPU ms per run: ${Object.entries(procs).map(([k, f]) => `${k} ${((f() - before[k]) / runs).toFixed(2)}`).join(', ')}\n`);
    if (opt.strace) {
      const traced = { worker, 'launcher and below': launcher };
      const tracers = Object.entries(traced).map(([name, pid]) => {
        const out = path.join(root, `strace-${pid}.txt`);
        return { name, out, proc: spawn('strace', ['-c', '-f', '-o', out, '-p', String(pid)], { stdio: 'ignore' }) };
      });
      await sleep(1000);
      await batch(runs);
      for (const t of tracers) {
        t.proc.kill('SIGINT');
        await new Promise((r) => t.proc.once('exit', r));
        const lines = readFileSync(t.out, 'utf8').split('\n');
        const total = lines.find((l) => / total$/.test(l));
        process.stdout.write(`syscalls per run, ${t.name}: ${total ? (Number(total.trim().split(/\s+/)[3]) / runs).toFixed(1) : '?'}\n`);
        for (const l of lines.slice(2, -3)) {
          const f = l.trim().split(/\s+/);
          process.stdout.write(`  ${(Number(f[3]) / runs).toFixed(1).padStart(7)} ${f[f.length - 1]}\n`);
        }
      }
    }
    const cmds = await countCommands(b.redisUrl, ['wes-'], 10, () => batch(10, 1));
    process.stdout.write(`Redis commands per run: ${cmds.totalPerOp}\n`);
    for (const [k, v] of Object.entries(cmds.perOp)) process.stdout.write(`  ${String(v).padStart(5)}  ${k}\n`);
    await b.stopAll();
    if (opt.profile) cpSync(path.join(root, 'profiles'), opt.profile, { recursive: true });
    b.redis.disconnect();
    await redis.proc.stop(10_000);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`run-cost: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
