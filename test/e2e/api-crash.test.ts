import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TERMINAL } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { findProcesses } from '../helpers/processes';
import { FAST_RECOVERY_ENV, napForm, RunInspector, uniqueSeconds, waitFor } from '../helpers/recovery';
import { logHas, queueOf } from '../helpers/stack';
import { RunStore } from '../../libs/runs/src';

/**
 * The API killed (SIGKILL) at any moment during submits: a client either got no run id, or its
 * run is wholly recorded and will run; nobody ever sees a half-written run; the counters stay
 * true. A run recorded whose queue job is missing (the API died between the two writes) is
 * queued again by the reaper after WES_QUEUED_JOB_CHECK_MS.
 */

const RESTORED_LOG = 'the queue had lost this run; it was queued again';

describe('a QUEUED run whose queue job is missing', () => {
  // No worker at first; the API's own reaper is slowed down, so a worker's reaper does the work.
  const h = useStack({
    workers: 0,
    env: { ...FAST_RECOVERY_ENV, WES_QUEUED_JOB_CHECK_MS: '1000' },
    apiEnv: { WES_REAPER_INTERVAL_MS: '600000' },
  });

  it('is queued again by the reaper, with a system log line, and runs once', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    const queue = queueOf(stack);
    try {
      const seconds = uniqueSeconds(1);
      const id = await client.submitOk(napForm(seconds, { test: 'lost-job' }));
      expect(await queue.jobState(id)).toBe('waiting');
      // As if the API had died between recording the run and queueing it.
      await queue.remove(id);
      expect(await queue.jobState(id)).toBe('unknown');
      await sleep(1500);
      expect(await inspector.state(id)).toBe('QUEUED');
      expect(await queue.jobState(id)).toBe('unknown');

      const worker = await stack.startWorker();
      const restoredAt = await waitFor(
        'the job to be restored',
        async () => ((await inspector.record(id)).systemLogs.includes(RESTORED_LOG) ? Date.now() : undefined),
        15_000,
        50,
      );
      const final = await client.waitForState(id, ['COMPLETE'], 60_000);
      const rec = await inspector.record(id);
      console.log(`lost job: restored and run; states seen ${final.seen.join(' → ')}; system_logs ${JSON.stringify(rec.systemLogs)}`);
      expect(rec.systemLogs).toEqual([RESTORED_LOG]);
      expect(rec.hash.attempt).toBe('1');
      expect(logHas(worker, 'queued run had no job: re-added')).toBe(true);
      expect(restoredAt).toBeGreaterThan(0);
      const log = await client.runLog(id);
      expect(log.run_log.system_logs).toEqual([RESTORED_LOG]);
    } finally {
      await queue.close();
      inspector.close();
    }
  });
});

describe('the API killed with SIGKILL at random moments while clients submit', () => {
  const h = useStack({ workers: 2, workerConcurrency: 2, env: { ...FAST_RECOVERY_ENV, WES_QUEUED_JOB_CHECK_MS: '1000' } });
  /** API kills (each followed by a restart on the same port). */
  const KILLS = 5;
  const SUBMITTERS = 4;
  /** Enough runs to be meaningful, few enough for 2 workers to finish in a few tens of seconds. */
  const MAX_ACKED = 24;

  it('every run a client got an id for completes; no half-written run is ever visible; counters stay true', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    const checker = stack.redisClient();
    checker.on('error', () => undefined);
    const acked = new Set<string>();
    const failures: Record<string, number> = {};
    const problems: string[] = [];
    let attempts = 0;
    let kills = 0;
    const restartMs: number[] = [];
    let checks = 0;
    let apiLists = 0;
    let chaos = true;
    const k = stack.keys;

    const submitter = async (n: number) => {
      while (chaos && acked.size < MAX_ACKED) {
        attempts++;
        try {
          const res = await fetch(client.url('/runs'), { method: 'POST', body: napForm(uniqueSeconds(0), { submitter: String(n) }), signal: AbortSignal.timeout(10_000) });
          const text = await res.text();
          if (res.status === 200) acked.add(JSON.parse(text).run_id);
          else failures[`HTTP ${res.status}`] = (failures[`HTTP ${res.status}`] ?? 0) + 1;
        } catch (err) {
          const key = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
          failures[key] = (failures[key] ?? 0) + 1;
          await sleep(50);
        }
        await sleep(100 + Math.random() * 200);
      }
    };

    const killer = async () => {
      // Killed at a random moment soon after each start, while submits are in flight.
      await sleep(300 + Math.random() * 700);
      while (kills < KILLS) {
        const t0 = Date.now();
        await stack.restartApi({ signal: 'SIGKILL' });
        restartMs.push(Date.now() - t0);
        kills++;
        await sleep(50 + Math.random() * 900);
      }
      chaos = false;
    };

    // Watches Redis (what GET /runs and service-info read) and the API lists.
    let watching = true;
    const watcher = async () => {
      while (watching) {
        try {
          // Every run is listed by its state's index (or, recorded before those, the run index).
          const lists = k.listIndexes;
          const idsOf = (replies: unknown[]) => [...new Set((replies as string[][]).flat())].sort();
          const ids = idsOf(await Promise.all(lists.map((l) => checker.zrange(l, 0, -1))));
          const multi = checker.multi();
          lists.forEach((l) => multi.zrange(l, 0, -1));
          multi.hgetall(k.counts);
          // The request: in the run hash (run-fields.ts), or its doc hash when too long for pieces.
          ids.forEach((id) => multi.hmget(k.run(id), 'state', 'created', 'request').hget(k.doc(id), 'request'));
          const res = (await multi.exec()) ?? [];
          const sameIds = JSON.stringify(idsOf(res.slice(0, lists.length).map(([, r]) => r))) === JSON.stringify(ids);
          const counts = res[lists.length][1] as Record<string, string>;
          const truth: Record<string, number> = {};
          ids.forEach((id, i) => {
            const [state, created, inline] = res[lists.length + 1 + 2 * i][1] as (string | null)[];
            const request = inline ?? (res[lists.length + 2 + 2 * i][1] as string | null);
            if (!state || !request || !created) problems.push(`${id} listed but half-written: ${JSON.stringify({ state, request: !!request, created })}`);
            if (state) truth[state] = (truth[state] ?? 0) + 1;
          });
          if (sameIds) {
            for (const s of new Set([...Object.keys(counts), ...Object.keys(truth)])) {
              if (Number(counts[s] ?? 0) !== (truth[s] ?? 0)) problems.push(`counter ${s}=${counts[s]} but ${truth[s] ?? 0} runs are ${s}`);
            }
          }
          checks++;
          const page = await fetch(client.url('/runs?page_size=1000'), { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
          if (page?.status === 200) {
            const body = (await page.json()) as { runs: { run_id: string; state?: string }[] };
            apiLists++;
            for (const r of body.runs) if (!r.state) problems.push(`API listed ${r.run_id} without a state`);
          }
        } catch (err) {
          problems.push(`watcher: ${String(err)}`);
        }
        await sleep(200);
      }
    };

    const watching$ = watcher();
    await Promise.all([killer(), ...Array.from({ length: SUBMITTERS }, (_, i) => submitter(i))]);
    await stack.waitApiReady();

    // Every run recorded (acknowledged or not: the API may have died before answering) ends COMPLETE.
    const finals = new Map<string, string>();
    await waitFor(
      'every recorded run to end',
      async () => {
        const ids = await new RunStore(checker, k).allRunIds();
        for (const id of ids) if (!TERMINAL.includes(finals.get(id) ?? '')) finals.set(id, (await checker.hget(k.run(id), 'state')) ?? 'MISSING');
        return ids.every((id) => TERMINAL.includes(finals.get(id)!));
      },
      120_000,
      500,
    ).catch((err) => {
      const stuck = [...finals].filter(([, s]) => !TERMINAL.includes(s));
      throw new Error(`${(err as Error).message}; not terminal: ${JSON.stringify(stuck.slice(0, 10))}`);
    });
    watching = false;
    await watching$;

    const recorded = [...finals.keys()];
    const notRecorded = [...acked].filter((id) => !finals.has(id));
    const unacked = recorded.filter((id) => !acked.has(id));
    const logs = [stack.api.logFile, ...stack.workers.map((w) => w.logFile)].map((f) => readFileSync(f, 'utf8')).join('\n');
    const restored = logs.split('\n').filter((l) => l.includes('queued run had no job: re-added')).length;
    const byState: Record<string, number> = {};
    for (const s of finals.values()) byState[s] = (byState[s] ?? 0) + 1;
    console.log(
      `API chaos: ${attempts} submits, ${acked.size} acknowledged, failures ${JSON.stringify(failures)}, ${kills} API kills (restart ms ${JSON.stringify(restartMs)}); ` +
        `${recorded.length} runs recorded (${unacked.length} recorded but not acknowledged), final states ${JSON.stringify(byState)}; ` +
        `${restored} jobs restored by the reaper; ${checks} Redis checks, ${apiLists} API lists; problems ${problems.length}`,
    );
    expect(kills).toBe(KILLS);
    expect(acked.size).toBeGreaterThan(10);
    expect(notRecorded, 'acknowledged run ids that were never recorded').toEqual([]);
    expect(problems.slice(0, 20), problems.slice(0, 20).join('\n')).toEqual([]);
    for (const id of recorded) {
      const { hash, systemLogs } = await inspector.record(id);
      expect(hash.state, `${id} (${acked.has(id) ? 'acknowledged' : 'not acknowledged'}): ${JSON.stringify(systemLogs)}`).toBe('COMPLETE');
    }
    for (const id of acked) expect(await client.status(id)).toBe('COMPLETE');
    const { counts, truth } = await inspector.countsAndTruth();
    expect(counts).toEqual(truth);
    expect(await inspector.activeIndex()).toEqual({ QUEUED: [], INITIALIZING: [], RUNNING: [], CANCELING: [] });
    const info = await client.getJson('/service-info');
    expect(info.system_state_counts.COMPLETE).toBe(recorded.length);
    expect(findProcesses(stack.workDir)).toEqual([]);
    checker.disconnect();
    inspector.close();
  });
});
