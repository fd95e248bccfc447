import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runForm, workflowFiles } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { findProcesses } from '../helpers/processes';
import {
  FAST_RECOVERY_ENV,
  napForm,
  RunInspector,
  runProcesses,
  holderPid,
  terminalTimes,
  uniqueSeconds,
  waitEngineRunning,
  waitFor,
  waitProcessesGone,
  waitTerminal,
} from '../helpers/recovery';
import { logHas } from '../helpers/stack';
import { readRunField } from '../../libs/runs/src';

/**
 * A clean exit after SIGTERM: code 0, or (Nest's shutdown hooks re-raise the signal once they
 * have run) ended by that SIGTERM. A crash (code 1) or a SIGKILL is not clean.
 */
function expectCleanExit(exit: { code: number | null; signal: NodeJS.Signals | null }): void {
  expect(exit.code === 0 || (exit.code === null && exit.signal === 'SIGTERM'), `exit ${JSON.stringify(exit)}`).toBe(true);
}

/**
 * SIGTERM to a worker: it stops taking jobs, lets its runs go on for WES_DRAIN_MS, then hands
 * them back to the queue (WES_SHUTDOWN_POLICY=requeue) or cancels them (=cancel), and exits.
 * SIGTERM to the API: the request in flight completes, then the API exits.
 */
describe('graceful shutdown of workers', () => {
  // Workers start one by one in the tests, each with its own drain time and policy.
  const h = useStack({ workers: 1, workerConcurrency: 2, env: FAST_RECOVERY_ENV, workerEnv: { WES_DRAIN_MS: '1000' } });

  it('drain time over: the run is handed back (QUEUED, system log), no new job is taken, another worker completes it', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      const first = stack.workers[0];
      const seconds = uniqueSeconds(5);
      const id = await client.submitOk(napForm(seconds, { test: 'hand-back' }));
      const procs = await waitEngineRunning(client, inspector, id, seconds, 1);
      const firstId = (await inspector.record(id)).hash.worker;
      const sigtermAt = Date.now();
      stack.signal(first, 'SIGTERM');
      // A run submitted now must not be taken by the draining worker, though it has a free slot.
      await sleep(200);
      const laterSeconds = uniqueSeconds(1);
      const later = await client.submitOk(napForm(laterSeconds, { test: 'after-sigterm' }));
      await sleep(600);
      expect(await inspector.state(later), 'a draining worker takes no new job').toBe('QUEUED');

      const handedBack = await waitFor(
        'the hand-back',
        async () => {
          const r = await inspector.record(id);
          return r.systemLogs.some((l) => /handed back to the queue/.test(l)) ? r : undefined;
        },
        10_000,
        50,
      );
      const handBackMs = Date.now() - sigtermAt;
      expect(handedBack.systemLogs.find((l) => /handed back/.test(l))).toMatch(new RegExp(`attempt 1: worker ${firstId} shut down.*handed back to the queue`));
      const exit = await stack.waitExit(first, 15_000);
      expectCleanExit(exit);
      await waitProcessesGone(procs, 3_000, 'the engine of the drained worker');
      expect(await inspector.state(id)).toBe('QUEUED');

      // Another worker takes both: the handed-back run (attempt 2) and the one submitted later.
      const second = await stack.startWorker();
      const startedAt = Date.now();
      await waitFor('attempt 2', async () => Number((await inspector.record(id)).hash.attempt) === 2, 15_000);
      const reTakenMs = Date.now() - startedAt;
      expect(await waitTerminal(client, id, 60_000)).toBe('COMPLETE');
      expect(await waitTerminal(client, later, 60_000)).toBe('COMPLETE');
      const rec = await inspector.record(id);
      expect(holderPid(rec.hash)).toBe(second.child.pid);
      expect(holderPid((await inspector.record(later)).hash)).toBe(second.child.pid);
      expect(rec.hash.attempt).toBe('2');
      expect(terminalTimes(rec.hash)).toEqual(['t:COMPLETE']);
      console.log(`graceful shutdown: handed back ${handBackMs} ms after SIGTERM (drain 1000 ms); taken again ${reTakenMs} ms after the new worker was ready; system_logs ${JSON.stringify(rec.systemLogs)}`);
      expect(runProcesses(id, seconds)).toEqual([]);
    } finally {
      inspector.close();
    }
  });

  it('an idle worker exits at once on SIGTERM', async () => {
    const { stack } = h;
    const idle = stack.liveWorkers()[0];
    const t0 = Date.now();
    stack.signal(idle, 'SIGTERM');
    const exit = await stack.waitExit(idle, 10_000);
    console.log(`graceful shutdown: idle worker exited ${Date.now() - t0} ms after SIGTERM`);
    expectCleanExit(exit);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a run that ends within the drain time COMPLETEs, then the worker exits', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      const worker = await stack.startWorker({ env: { WES_DRAIN_MS: '30000' } });
      const seconds = uniqueSeconds(2);
      const id = await client.submitOk(napForm(seconds, { test: 'drain' }));
      await waitEngineRunning(client, inspector, id, seconds, 1);
      stack.signal(worker, 'SIGTERM');
      const exit = await stack.waitExit(worker, 30_000);
      const exitedAt = Date.now();
      const rec = await inspector.record(id);
      expectCleanExit(exit);
      expect(rec.hash.state, JSON.stringify(rec.systemLogs)).toBe('COMPLETE');
      expect(rec.hash.attempt).toBe('1');
      expect(rec.systemLogs).toEqual([]);
      expect(Number(rec.hash.end)).toBeLessThanOrEqual(exitedAt);
      expect(findProcesses(`sleep ${seconds}`)).toEqual([]);
    } finally {
      inspector.close();
    }
  });

  it('WES_SHUTDOWN_POLICY=cancel: the run still going after the drain time ends CANCELED', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      const worker = await stack.startWorker({ env: { WES_DRAIN_MS: '500', WES_SHUTDOWN_POLICY: 'cancel' } });
      const seconds = uniqueSeconds(300);
      const id = await client.submitOk(napForm(seconds, { test: 'shutdown-cancel' }));
      const procs = await waitEngineRunning(client, inspector, id, seconds, 1);
      const workerId = (await inspector.record(id)).hash.worker;
      const t0 = Date.now();
      stack.signal(worker, 'SIGTERM');
      const exit = await stack.waitExit(worker, 20_000);
      expectCleanExit(exit);
      const rec = await inspector.record(id);
      console.log(`graceful shutdown (cancel): worker exited ${Date.now() - t0} ms after SIGTERM; state ${rec.hash.state}; system_logs ${JSON.stringify(rec.systemLogs)}`);
      expect(rec.hash.state).toBe('CANCELED');
      expect(rec.systemLogs.some((l) => l.includes(`worker ${workerId} shut down`)), JSON.stringify(rec.systemLogs)).toBe(true);
      expect(terminalTimes(rec.hash)).toEqual(['t:CANCELED']);
      await waitProcessesGone(procs, 2_000, 'the engine of the canceled run');
      expect(await client.status(id)).toBe('CANCELED');
    } finally {
      inspector.close();
    }
  });
});

describe('graceful shutdown of the API', () => {
  const h = useStack({ workers: 1, workerConcurrency: 1 });

  it('SIGTERM while a slow upload is in flight: the request completes (200, run recorded), then the API exits', async () => {
    const { client, stack } = h;
    const inspector = new RunInspector(stack);
    try {
      const form = runForm({
        workflow_url: 'nap.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.1',
        workflow_params: { seconds: uniqueSeconds(1) },
        attachments: { ...workflowFiles('nap.cwl'), 'padding.txt': 'x'.repeat(2 * 1024 * 1024) },
      });
      const encoded = new Response(form);
      const contentType = encoded.headers.get('content-type')!;
      const bytes = new Uint8Array(await encoded.arrayBuffer());
      // ~2.5 s of upload: 25 chunks, 100 ms apart.
      const chunks = 25;
      const size = Math.ceil(bytes.length / chunks);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= bytes.length) return controller.close();
          await sleep(100);
          controller.enqueue(bytes.subarray(sent, sent + size));
          sent += size;
        },
      });
      const api = stack.api;
      const request = fetch(client.url('/runs'), {
        method: 'POST',
        body,
        headers: { 'content-type': contentType },
        duplex: 'half',
      } as RequestInit);
      await waitFor('part of the upload to be sent', () => sent > bytes.length / 4, 10_000, 20);
      const sigtermAt = Date.now();
      stack.signal(api, 'SIGTERM');
      const res = await request;
      const text = await res.text();
      const answeredAt = Date.now();
      expect(sent).toBeGreaterThanOrEqual(bytes.length);
      expect(res.status, text).toBe(200);
      const runId = JSON.parse(text).run_id as string;
      // The run was recorded whole, and it runs.
      const rec = await inspector.record(runId);
      expect(readRunField(rec.hash, rec.doc, 'request')).toBeDefined();
      expect(rec.hash.created).toBeDefined();
      await waitFor('the run to COMPLETE', async () => (await inspector.state(runId)) === 'COMPLETE', 60_000);
      // Then the API exits by itself, within what an orchestrator waits (docker stop: 10 s) — the
      // client keeps its (keep-alive) connection open, as HTTP clients do.
      const exit = await stack.waitExit(api, Math.max(1000, 10_000 - (Date.now() - sigtermAt))).catch(() => undefined);
      const exitMs = Date.now() - sigtermAt;
      console.log(
        `API SIGTERM: answered ${answeredAt - sigtermAt} ms after SIGTERM (connection: ${res.headers.get('connection')}, keep-alive: ${res.headers.get('keep-alive')}); ` +
          (exit ? `exited ${exitMs} ms after (${JSON.stringify(exit)})` : `still running ${exitMs} ms after SIGTERM`),
      );
      // A new API process serves the run (the old one is killed if it is still there).
      await stack.restartApi({ signal: 'SIGKILL' });
      const log = await client.runLog(runId);
      expect(log.state).toBe('COMPLETE');
      expect(logHas(stack.workers[0], runId)).toBe(true);
      expect(exit, `the API did not exit within 10 s of SIGTERM once its in-flight request was answered`).toBeDefined();
      expectCleanExit(exit!);
    } finally {
      inspector.close();
    }
  });
});
