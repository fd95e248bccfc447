/**
 * A step trace of scenario 5 (issue 15): where the time of one end-to-end run goes. Runs the
 * bench's two-step CWL workflow through a real stack (private Redis, API, one worker of
 * concurrency 1, the snapshot of dist/) and cwltool alone on the same workflow, alternating, and
 * prints for each run every step's time from the client's submit: the worker's log lines (pino's
 * whole milliseconds), the run's recorded transition times (`t:<STATE>` of its hash), and the
 * client's POST answer and the poll that saw COMPLETE; then the medians of each step and of the
 * gaps between consecutive steps.
 *
 * Usage: npx tsx bench/trace-e2e.ts [--reps 10] [--poll 20] [--env K=V]... [--vs K=V]... [--show]
 *   --show every worker log line of each run, as it was written
 *   --profile <dir> CPU profiles of the API and worker (bench/lib/profile.ts), copied into <dir>
 *   --wrap cwltool (in WES and alone) started by a wrapper script that writes the time it
 *          starts, the time cwltool ends and cwltool's CPU time into the engine's stderr: splits
 *          the engine's time into the start chain, cwltool itself and the worker noticing the exit
 *          (with --env WES_SANDBOX=none only: the sandbox's uid cannot run the wrapper from where
 *          it is written, /var/tmp, which bwrap makes for it without the host's permissions)
 *   --env  a setting of the stack (repeatable), e.g. --env WES_SANDBOX=none
 *   --vs   a second stack with these settings over --env's, traced alternately with the first
 *          (before/after in the same session)
 *   --vs-poll N  the second stack's client polls every N ms (e.g. to see what 20 ms polls cost)
 *   --vs-fetch   the second stack's client polls through fetch (the first's through node:http)
 *   --vs-api K=V  settings of the second stack's API only (its worker keeps the first's), e.g.
 *          --vs-api LOG_LEVEL=warn (a worker must log at info: its start is read from its log)
 * Needs dist/ (npx tsc -p tsconfig.build.json). The temporary folder is removed at the end.
 */
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SETTING_SOURCES } from '../libs/config/src';
import { isTerminal } from '../libs/runs/src';
import { Bench, runLogLines, standaloneBench, WesStack } from './lib/harness';
import { runState, runStateByFetch, submit } from './lib/fixtures';
import { epochMs, median, sleep } from './lib/util';
import { cwltoolAlone, twoStepSubmission } from './scenarios/e2e';

const { values: opt } = parseArgs({
  options: {
    reps: { type: 'string', default: '10' },
    poll: { type: 'string', default: '20' },
    env: { type: 'string', multiple: true, default: [] },
    vs: { type: 'string', multiple: true, default: [] },
    'vs-api': { type: 'string', multiple: true, default: [] },
    'vs-poll': { type: 'string' },
    'vs-fetch': { type: 'boolean', default: false },
    show: { type: 'boolean', default: false },
    wrap: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const reps = Number(opt.reps);
const pollMs = Number(opt.poll);
/** The client's poll interval for the first (0) or second (1) stack. */
const pollOf = (j: number) => (j === 1 && opt['vs-poll'] ? Number(opt['vs-poll']) : pollMs);
const stateOf = (j: number) => (j === 1 && opt['vs-fetch'] ? runStateByFetch : runState);
const kv = (list: string[]) => Object.fromEntries(list.map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)]));

/** With --wrap: cwltool's own wall and CPU ms, in WES and alone. */
const wallInWes: number[] = [];
const cpuInWes: number[] = [];
const wallAlone: number[] = [];
const cpuAlone: number[] = [];

/** CPU ms each process of a stack used per traced run (from the POST to the poll that saw COMPLETE). */
const cpuByStack = new Map<WesStack, Map<string, number[]>>();
const cpuOf = (stack: WesStack) => cpuByStack.get(stack) ?? cpuByStack.set(stack, new Map()).get(stack)!;

/** One traced run: step name → ms after the client started its POST. */
type Trace = Map<string, number>;

/** CPU ms (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function traceOne(b: Bench, stack: WesStack, pollMs: number, state = runState): Promise<Trace> {
  const procs = { worker: stack.workers[0].pid, api: stack.api.pid, redis: b.redisPid };
  const cpu0 = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid)]));
  const t0 = epochMs();
  const runId = await submit(stack.base, twoStepSubmission());
  const trace: Trace = new Map([['client: POST answered', epochMs() - t0]]);
  for (;;) {
    const now = await state(stack.base, runId);
    if (now === 'COMPLETE') break;
    if (isTerminal(now)) throw new Error(`trace: run ${runId} ended ${now}`);
    await sleep(pollMs);
  }
  const seen = epochMs() - t0;
  for (const [k, pid] of Object.entries(procs)) cpuOf(stack).set(k, [...(cpuOf(stack).get(k) ?? []), cpuMs(pid) - cpu0[k]]);
  const steps: [string, number][] = [];
  for (const l of runLogLines(stack.workers[0].logFile, runId)) {
    steps.push([`worker: ${l.msg}`, l.time - t0]);
    // The engine's own exit, before the worker stored its logs and tasks (execute-step.ts).
    if (typeof l.afterExitMs === 'number') steps.push(['worker: (engine process exited)', l.time - l.afterExitMs - t0]);
  }
  if (opt.show) for (const l of runLogLines(stack.workers[0].logFile, runId)) process.stderr.write(`  ${(l.time - t0).toFixed(0).padStart(6)} ${JSON.stringify(l)}\n`);
  const hash = await b.redis.hgetall(stack.keys.run(runId));
  // The enqueue records QUEUED as 'created' (no 't:QUEUED' until a return to the queue).
  if (!hash['t:QUEUED'] && hash.created) steps.push(['state QUEUED', Number(hash.created) - t0]);
  for (const [field, v] of Object.entries(hash)) if (field.startsWith('t:')) steps.push([`state ${field.slice(2)}`, Number(v) - t0]);
  steps.push(['client: poll saw COMPLETE', seen]);
  if (opt.wrap) {
    const m = wrapMarks(storedStderr(stack, runId));
    if (m.start) steps.push(['engine: wrapper started (inside the chain)', m.start - t0]);
    if (m.end) steps.push(['engine: cwltool ended (wrapper)', m.end - t0]);
    if (m.start && m.end) wallInWes.push(m.end - m.start);
    if (m.cpu !== undefined) cpuInWes.push(m.cpu);
  }
  for (const [k, v] of steps.sort((x, y) => x[1] - y[1])) trace.set(k, v);
  return trace;
}

/** The wrapper of --wrap: its marks go to stderr (stored with the run's logs), read back by `wrapMarks`. */
const WRAPPER = `#!/bin/bash
echo "trace-mark start $(date +%s%N)" >&2
/usr/bin/time -f "trace-mark cpu %U %S" cwltool "$@"
rc=$?
echo "trace-mark end $(date +%s%N)" >&2
exit $rc
`;
let wrapper = 'cwltool';
let wrapDir: string | undefined;

/** The wrapper's marks in an engine's stderr: epoch ms of its start and end, and cwltool's CPU ms. */
function wrapMarks(stderr: string): { start?: number; end?: number; cpu?: number } {
  const ns = (name: string) => {
    const m = new RegExp(`trace-mark ${name} (\\d+)`).exec(stderr);
    return m ? Number(BigInt(m[1]) / 1000n) / 1000 : undefined;
  };
  const cpu = /trace-mark cpu ([\d.]+) ([\d.]+)/.exec(stderr);
  return { start: ns('start'), end: ns('end'), cpu: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : undefined };
}

/** The stored stderr of a run in a stack's local object store. */
function storedStderr(stack: WesStack, runId: string): string {
  return readFileSync(path.join(stack.dataDir, 'runs', runId, 'logs', 'stderr'), 'utf8');
}

let n = 0;
async function directOne(b: Bench): Promise<number> {
  const { ms, stderr } = await cwltoolAlone(b.dir('direct', `run-${n++}`), { executable: wrapper, stderr: opt.wrap });
  if (opt.wrap) {
    const m = wrapMarks(stderr);
    if (m.start && m.end) wallAlone.push(m.end - m.start);
    if (m.cpu !== undefined) cpuAlone.push(m.cpu);
  }
  return ms;
}

function summarize(label: string, stack: WesStack, traces: Trace[], direct: number[]): void {
  const names = new Map<string, number[]>();
  for (const t of traces) for (const [k, v] of t) names.set(k, [...(names.get(k) ?? []), v]);
  const rows = [...names].map(([k, v]) => [k, median(v), v.length] as const).sort((x, y) => x[1] - y[1]);
  process.stdout.write(`\n== ${label}: median over ${traces.length} runs, ms after the client's POST started (gap = since the step above)\n`);
  let prev = 0;
  for (const [k, m, count] of rows) {
    process.stdout.write(`${m.toFixed(0).padStart(7)}  +${(m - prev).toFixed(0).padStart(5)}  ${k}${count < traces.length ? ` (${count} runs)` : ''}\n`);
    prev = m;
  }
  const total = median(traces.map((t) => t.get('client: poll saw COMPLETE')!));
  const alone = median(direct);
  process.stdout.write(`  CPU ms per run (median): ${[...cpuOf(stack)].map(([k, v]) => `${k} ${median(v).toFixed(0)}`).join(', ')}\n`);
  process.stdout.write(`  total ${total.toFixed(0)} ms; cwltool alone ${alone.toFixed(0)} ms; ${(total / alone).toFixed(2)}× (+${(total - alone).toFixed(0)} ms)\n`);
}

async function main(): Promise<void> {
  const { root, redis, b } = await standaloneBench('trace', !!opt.profile);
  try {
    const base: Record<string, string> = { WES_WORKER_CONCURRENCY: '1', ...kv(opt.env as string[]) };
    if (opt.wrap) {
      // Not under /tmp, which the sandbox replaces with the run's own; readable by its uid.
      wrapDir = mkdtempSync('/var/tmp/wes-trace-');
      chmodSync(wrapDir, 0o755);
      wrapper = path.join(wrapDir, 'cwltool-wrapper');
      writeFileSync(wrapper, WRAPPER);
      chmodSync(wrapper, 0o755);
      base[SETTING_SOURCES.sandboxReadOnlyPaths.env] = wrapDir;
      base.WES_ENGINE_CWLTOOL_PATH = wrapper;
    }
    const stacks: [string, WesStack][] = [['A ' + JSON.stringify(kv(opt.env as string[])), await b.startWes('trace-a', { env: base, workers: 1 })]];
    const vs = kv(opt.vs as string[]);
    const vsApi = kv(opt['vs-api'] as string[]);
    if (Object.keys(vs).length + Object.keys(vsApi).length || opt['vs-poll'] || opt['vs-fetch']) {
      const workerEnv = Object.fromEntries(Object.keys(vsApi).map((k) => [k, { ...base, ...vs }[k] ?? (k === 'LOG_LEVEL' ? 'info' : '')]));
      stacks.push(['B ' + JSON.stringify({ ...vs, api: vsApi, pollMs: pollOf(1), fetch: opt['vs-fetch'] }), await b.startWes('trace-b', { env: { ...base, ...vs, ...vsApi }, workerEnv, workers: 1 })]);
    }
    // What the processes use with nothing to do (timers, sweeps), to tell it from what a run costs.
    for (const [label, st] of stacks) {
      const pids = { worker: st.workers[0].pid, api: st.api.pid, redis: b.redisPid };
      const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
      await sleep(5000);
      process.stdout.write(`${label.split(' ')[0]} idle, CPU ms per s: ${Object.entries(pids).map(([k, pid]) => `${k} ${((cpuMs(pid) - before[k]) / 5).toFixed(0)}`).join(', ')}\n`);
    }
    const traces = stacks.map(() => [] as Trace[]);
    const direct: number[] = [];
    for (const [j, [, s]] of stacks.entries()) await traceOne(b, s, pollOf(j), stateOf(j));
    await directOne(b);
    for (let i = 0; i < reps; i++) {
      const order = i % 2 === 0 ? stacks.map((_, j) => j) : stacks.map((_, j) => j).reverse();
      if (i % 2 === 1) direct.push(await directOne(b));
      for (const j of order) traces[j].push(await traceOne(b, stacks[j][1], pollOf(j), stateOf(j)));
      if (i % 2 === 0) direct.push(await directOne(b));
      process.stderr.write(`rep ${i + 1}: ${stacks.map(([l], j) => `${l.split(' ')[0]} ${traces[j][i].get('client: poll saw COMPLETE')!.toFixed(0)} ms`).join(', ')}, cwltool ${direct[i].toFixed(0)} ms\n`);
    }
    stacks.forEach(([label, stack], j) => summarize(label, stack, traces[j], direct));
    // What one status poll costs the API and this client at the client's pace (a finished run:
    // the API's cached path), through node:http (the scenarios' runState) and through fetch.
    for (const [label, st] of stacks) {
      const runId = await submit(st.base, twoStepSubmission());
      while (!isTerminal(await runState(st.base, runId))) await sleep(pollMs);
      for (const [how, get] of [['http.get', runState], ['fetch', runStateByFetch], ['http.get', runState], ['fetch', runStateByFetch]] as const) {
        const api0 = cpuMs(st.api.pid);
        const self0 = process.cpuUsage();
        for (let i = 0; i < 100; i++) {
          await get(st.base, runId);
          await sleep(pollMs);
        }
        const self = process.cpuUsage(self0);
        process.stdout.write(
          `${label.split(' ')[0]}: CPU per status poll (${how}, every ${pollMs} ms): API ${((cpuMs(st.api.pid) - api0) / 100).toFixed(2)} ms, client ${((self.user + self.system) / 1000 / 100).toFixed(2)} ms\n`,
        );
      }
    }
    await b.stopAll();
    if (opt.profile) cpSync(path.join(root, 'profiles'), opt.profile, { recursive: true });
    b.redis.disconnect();
    await redis.proc.stop(10_000);
  } finally {
    rmSync(root, { recursive: true, force: true });
    if (wrapDir) rmSync(wrapDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`trace: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
