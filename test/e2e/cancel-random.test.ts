import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TRANSITIONS } from '../../libs/runs/src/states';
import { TERMINAL } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { findProcesses, listProcesses } from '../helpers/processes';
import { FAST_RECOVERY_ENV, napForm, RunInspector, terminalTimes, uniqueSeconds, waitFor } from '../helpers/recovery';

/**
 * Cancels at random moments over many short runs on two workers (two slots each): right after
 * submit (QUEUED), as soon as a worker takes the run (INITIALIZING), while the engine runs, and
 * around the moment the engine exits. Every run must end CANCELED, or COMPLETE when it
 * completed before the cancel was accepted; no run may ever leave CANCELED (or any terminal
 * state); no engine process may be left.
 */
const RUNS = 36;
type Mode = 'right-after-submit' | 'once-taken' | 'while-running' | 'as-engine-exits';
const MODES: Mode[] = ['right-after-submit', 'once-taken', 'while-running', 'as-engine-exits'];

/** States from which each state can be reached by the transition table (for the observed sequences). */
function reachable(): Map<string, Set<string>> {
  const next = new Map<string, Set<string>>();
  for (const row of Object.values(TRANSITIONS)) {
    for (const [from, to] of Object.entries(row)) {
      if (!next.has(from)) next.set(from, new Set());
      next.get(from)!.add(to as string);
    }
  }
  const closure = new Map<string, Set<string>>();
  for (const start of next.keys()) {
    const seen = new Set<string>();
    const stack = [start];
    while (stack.length) {
      for (const n of next.get(stack.pop()!) ?? []) if (!seen.has(n)) seen.add(n) && stack.push(n);
    }
    closure.set(start, seen);
  }
  return closure;
}

describe('cancel at random moments, many runs, two workers', () => {
  const h = useStack({ workers: 2, workerConcurrency: 2, env: FAST_RECOVERY_ENV });

  it('every run ends CANCELED (or COMPLETE before the cancel), never leaves a terminal state, leaves no process', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    const runs: { id: string; seconds: string; mode: Mode; cancelStatus?: number; stateBefore?: string; cancelAt?: number; cancelDone?: number }[] = [];
    const observed = new Map<string, string[]>();
    const violations: string[] = [];
    const reach = reachable();
    let observing = true;

    // Observer: the whole list, every 100 ms, through the API (what clients see).
    const observer = (async () => {
      while (observing) {
        try {
          const page = await client.getJson('/runs?page_size=200');
          for (const r of page.runs as { run_id: string; state: string }[]) {
            const seq = observed.get(r.run_id) ?? [];
            const last = seq[seq.length - 1];
            if (last !== r.state) {
              if (last && TERMINAL.includes(last)) violations.push(`${r.run_id}: ${last} → ${r.state}`);
              else if (last && !reach.get(last)?.has(r.state)) violations.push(`${r.run_id}: ${last} → ${r.state} is not a path of the table`);
              seq.push(r.state);
              observed.set(r.run_id, seq);
            }
          }
        } catch (err) {
          violations.push(`observer: ${String(err)}`);
        }
        await sleep(100);
      }
    })();

    // One shared scan of /proc every 40 ms: which tool processes (`sleep <seconds>`) are up.
    let sleeping = new Set<string>();
    const scanner = (async () => {
      while (observing) {
        sleeping = new Set(listProcesses().filter((p) => p.cmdline.startsWith('sleep ') || p.cmdline.includes(stack.workDir)).map((p) => p.cmdline));
        await sleep(40);
      }
    })();

    const started = Date.now();
    await Promise.all(
      Array.from({ length: RUNS }, async (_, i) => {
        const mode = MODES[i % MODES.length];
        // Sleeps of 1-2 s: cwltool runs ~2-3 s in all.
        const seconds = uniqueSeconds(1 + (i % 2));
        await sleep(i * 60); // a steady stream of submissions
        const id = await client.submitOk(napForm(seconds, { mode }));
        const run: (typeof runs)[number] = { id, seconds, mode };
        runs.push(run);
        if (mode === 'once-taken') {
          await waitFor(`${id} taken`, async () => (await inspector.state(id)) !== 'QUEUED', 120_000, 5);
        } else if (mode === 'while-running') {
          await waitFor(`${id} RUNNING`, async () => {
            const s = await inspector.state(id);
            return s !== 'QUEUED' && s !== 'INITIALIZING';
          }, 120_000, 20);
          await sleep(Math.random() * 1500);
        } else if (mode === 'as-engine-exits') {
          // Just as the engine exits: the tool has finished, cwltool is wrapping up, the worker
          // is about to store outputs and send `complete`. Whatever the machine's load.
          await waitFor(`${id}: sleep ${seconds} up`, () => sleeping.has(`sleep ${seconds}`), 120_000, 20);
          await waitFor(`${id}: sleep ${seconds} done`, () => !sleeping.has(`sleep ${seconds}`), 60_000, 10);
          if (i % 8 === 3) {
            await sleep(Math.random() * 600); // cwltool wrapping up
          } else {
            // cwltool itself gone: the worker is storing logs and outputs before `complete`.
            await waitFor(`${id}: cwltool gone`, () => ![...sleeping].some((c) => c.includes(id)), 60_000, 5);
            await sleep(Math.random() * 60);
          }
        }
        run.stateBefore = (await inspector.state(id)) ?? undefined;
        run.cancelAt = Date.now();
        const r = await client.cancel(id);
        run.cancelDone = Date.now();
        run.cancelStatus = r.status;
        expect(r.status, `cancel of ${id} (${run.stateBefore})`).toBe(200);
        expect(r.body).toEqual({ run_id: id });
      }),
    );

    // Every run ends, in bounded time.
    await waitFor(
      'every run to be terminal',
      async () => {
        const states = await Promise.all(runs.map((r) => inspector.state(r.id)));
        return states.every((s) => s && TERMINAL.includes(s));
      },
      60_000,
      200,
    );
    await sleep(1500); // the observer keeps watching: nothing may move after the end
    observing = false;
    await observer;
    await scanner;
    const elapsed = Date.now() - started;

    // Classify each run by the state the cancel found, from its record.
    const outcome: Record<string, number> = {};
    const toCanceled: number[] = [];
    const completeAfter: number[] = [];
    for (const run of runs) {
      const { hash, systemLogs } = await inspector.record(run.id);
      expect(terminalTimes(hash), `${run.id}: terminal t: fields`).toHaveLength(1);
      expect(hash.end, `${run.id}: end time`).toBeDefined();
      let found: string;
      if (hash.state === 'COMPLETE') {
        // It completed before the cancel was accepted: the cancel changed nothing.
        expect(hash.cancel, `${run.id}: COMPLETE but it holds a cancel mark`).toBeUndefined();
        expect(hash['t:CANCELING']).toBeUndefined();
        expect(Number(hash.end), `${run.id}: COMPLETE after the cancel was answered`).toBeLessThanOrEqual(run.cancelDone!);
        expect(await client.status(run.id)).toBe('COMPLETE');
        found = 'COMPLETE already';
        completeAfter.push(Number(hash.end) - Number(hash.start));
      } else {
        expect(hash.state, `${run.id} (${run.mode}): ${JSON.stringify(systemLogs)}`).toBe('CANCELED');
        if (!hash['t:INITIALIZING']) found = 'QUEUED';
        else if (!hash.start || Number(hash.start) > Number(hash['t:CANCELING'])) found = 'INITIALIZING';
        else if (systemLogs.some((l) => /as the engine finished|the engine had exited/.test(l))) found = 'RUNNING, engine exiting';
        else found = 'RUNNING';
        if (hash['t:CANCELING']) {
          expect(systemLogs.length, `${run.id}: a system log says how it was stopped`).toBeGreaterThan(0);
          toCanceled.push(Number(hash.end) - Number(hash['t:CANCELING']));
        }
        // No processes of this run anywhere.
        expect(findProcesses(`sleep ${run.seconds}`), `${run.id}: tool left running`).toEqual([]);
      }
      outcome[found] = (outcome[found] ?? 0) + 1;
      const seq = observed.get(run.id) ?? [];
      if (seq.includes('CANCELED')) expect(seq[seq.length - 1], `${run.id}: ${seq.join(' → ')}`).toBe('CANCELED');
    }
    expect(violations, violations.join('\n')).toEqual([]);
    expect(findProcesses(stack.workDir), 'engine processes left in the work folder').toEqual([]);
    const { counts, truth } = await inspector.countsAndTruth();
    expect(counts).toEqual(truth);
    expect(await inspector.activeIndex()).toEqual({ QUEUED: [], INITIALIZING: [], RUNNING: [], CANCELING: [] });
    toCanceled.sort((a, b) => a - b);
    const byMode = Object.fromEntries(MODES.map((m) => [m, runs.filter((r) => r.mode === m).map((r) => r.stateBefore).join(',')]));
    console.log(
      `cancel-random: ${runs.length} runs in ${elapsed} ms; state the cancel found: ${JSON.stringify(outcome)}; ` +
        `CANCELING→CANCELED ms: median ${toCanceled[Math.floor(toCanceled.length / 2)]}, max ${toCanceled[toCanceled.length - 1]}; ` +
        `RUNNING→COMPLETE ms of the completed: ${JSON.stringify(completeAfter)}; state read just before each cancel by mode: ${JSON.stringify(byMode)}`,
    );
    // The random moments did cover the states.
    expect(outcome.QUEUED ?? 0).toBeGreaterThan(0);
    expect((outcome.RUNNING ?? 0) + (outcome['RUNNING, engine exiting'] ?? 0)).toBeGreaterThan(0);
    inspector.close();
  });
});
