import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../libs/config/src';
import { createRedis } from '../../libs/queue/src';
import { TERMINAL } from '../helpers/client';
import { keySlot } from '../helpers/key-slot';
import { FAST_RECOVERY_ENV, napForm, RunInspector, terminalTimes, uniqueSeconds, waitFor } from '../helpers/recovery';
import { startSentinelGroup } from '../helpers/redis-sentinel';
import { Stack, startStack } from '../helpers/stack';

/** Worker log lines (pino JSON) saying the engine of `runId` started: one per execution. */
function engineStarts(stack: Stack, runId: string): number {
  let n = 0;
  for (const file of new Set(stack.workers.map((w) => w.logFile))) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.includes(`"runId":"${runId}"`) && line.includes('"msg":"engine started"')) n++;
    }
  }
  return n;
}

/**
 * Redis behind Sentinel: a primary, a replica and three Sentinels, all real redis-server
 * processes. The API and two workers find the primary through the Sentinels
 * (WES_REDIS_SENTINELS) and make each acknowledged submit, claim and end durable on the replica
 * (WES_REDIS_MIN_REPLICAS_ACK=1). Runs are submitted under load; the primary is killed (SIGKILL)
 * mid-load; the Sentinels promote the replica (until a replica is back no submit can be made
 * durable: 503); the killed server comes back as a replica of the new primary. Every run the API acknowledged must end COMPLETE, each having run
 * its engine once, and the counters must match the runs.
 */
describe('Redis Sentinel failover under load', () => {
  it('every acknowledged run completes, none runs twice, the counts match the runs; a submit not made durable answers 503', async () => {
    const group = await startSentinelGroup();
    const sentinelEnv = {
      WES_REDIS_SENTINELS: group.sentinels,
      WES_REDIS_SENTINEL_MASTER: group.master,
      WES_REDIS_MIN_REPLICAS_ACK: '1',
      WES_REDIS_REPLICA_ACK_TIMEOUT_MS: '1000',
    };
    // REDIS_URL names the first primary: with Sentinels only its credentials count, so the
    // processes must not go on using it once it is dead.
    const connect = () => {
      const r = createRedis(loadSettings({ REDIS_URL: group.primaryAsPrivate.url, ...sentinelEnv }), { connectionName: 'test-observer' });
      // It retries through the failover by itself; its errors meanwhile are expected.
      r.on('error', () => undefined);
      return r;
    };
    let stack: Stack | undefined;
    let inspector: RunInspector | undefined;
    try {
      stack = await startStack({
        workers: 2,
        workerConcurrency: 2,
        redis: group.primaryAsPrivate,
        redisClient: connect,
        // Heartbeats of 1 s (lapsed after 3 s): a failover takes 2 to 3 s, and a process may
        // reconnect up to 2 s after another (ioredis's back-off); with FAST_RECOVERY_ENV's 0.5 s
        // a live worker can be taken for lost meanwhile (its runs requeued: a second attempt).
        env: { ...FAST_RECOVERY_ENV, WES_HEARTBEAT_MS: '1000', ...sentinelEnv },
      });
      const { client } = stack;
      inspector = new RunInspector(stack);

      type Phase = 'before' | 'failover' | 'after';
      let phase: Phase = 'before';
      const acked = new Map<string, Phase>();
      const statuses: Record<string, number> = {};
      const bad: string[] = [];
      const count = (p: Phase) => [...acked.values()].filter((v) => v === p).length;
      let submitting = true;
      // Few enough runs for the workers to finish soon: 6 before the kill, at most 4 more while
      // it fails over, 3 after.
      const room = () => (phase === 'before' ? acked.size < 6 : phase === 'failover' ? acked.size < 10 : count('after') < 3);
      const submitter = async (n: number) => {
        while (submitting) {
          if (!room()) {
            await sleep(100);
            continue;
          }
          const at = phase;
          try {
            const res = await fetch(client.url('/runs'), { method: 'POST', body: napForm(uniqueSeconds(0), { submitter: String(n) }), signal: AbortSignal.timeout(20_000) });
            const text = await res.text();
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
            if (res.status === 200) acked.set(JSON.parse(text).run_id, at === 'after' && phase === 'after' ? 'after' : at === 'before' && phase === 'before' ? 'before' : 'failover');
            else if (res.status !== 503) bad.push(`${res.status} ${text.slice(0, 300)}`);
            else await sleep(200);
          } catch (err) {
            statuses.error = (statuses.error ?? 0) + 1;
            bad.push(`POST /runs failed: ${(err as Error).message}`);
          }
        }
      };
      const submitters = [1, 2, 3].map(submitter);

      await waitFor('runs acknowledged before the failover', () => count('before') >= 6, 60_000);
      // Some runs have ended, some run, some wait: kill the primary in the middle of it.
      phase = 'failover';
      const t0 = Date.now();
      group.primary.process.kill('SIGKILL');
      const replica = group.replicas[0];
      await waitFor('the Sentinels to promote the replica', async () => (await group.currentPrimaryPort()) === replica.port, 30_000, 100);
      const promotedMs = Date.now() - t0;
      // The old primary's machine comes back as a replica of the new primary (as the Sentinels
      // would make it, only sooner), and acknowledged writes can be made durable again.
      await group.restart(group.primary, replica.port);
      const observer = connect();
      try {
        await waitFor('the old primary to replicate the new one', async () => /state=online/.test(await observer.info('replication')), 30_000, 200);
      } finally {
        observer.disconnect();
      }
      phase = 'after';
      const backMs = Date.now() - t0;
      await waitFor('runs acknowledged after the failover', () => count('after') >= 3, 60_000);
      submitting = false;
      await Promise.all(submitters);

      // Every acknowledged run ends COMPLETE (they are sleeps that succeed).
      const ids = [...acked.keys()];
      const finals: Record<string, string> = {};
      await waitFor(
        'every acknowledged run to end',
        async () => {
          for (const id of ids) if (!TERMINAL.includes(finals[id] ?? '')) finals[id] = await client.status(id).catch(() => 'UNKNOWN');
          return ids.every((id) => TERMINAL.includes(finals[id]));
        },
        90_000,
        250,
      ).catch(async (err) => {
        const open = ids.filter((id) => !TERMINAL.includes(finals[id]));
        const details = await Promise.all(open.map(async (id) => ({ id, phase: acked.get(id), ...(await inspector!.record(id)) })));
        throw new Error(`${(err as Error).message}: ${JSON.stringify(details)}`);
      });
      const records = await Promise.all(ids.map((id) => inspector!.record(id)));
      console.log(
        `sentinel failover: promoted after ${promotedMs} ms, replicated again after ${backMs} ms; submits ${JSON.stringify(statuses)}; ` +
          `acknowledged before ${count('before')}, during ${count('failover')}, after ${count('after')}; ` +
          `attempts ${JSON.stringify(records.map((r) => r.hash.attempt))}`,
      );
      expect(bad, 'every submit answered 200 or 503').toEqual([]);
      for (const [i, id] of ids.entries()) {
        expect(finals[id], `${id} (${acked.get(id)}): ${JSON.stringify(records[i].systemLogs)}`).toBe('COMPLETE');
        expect(terminalTimes(records[i].hash), id).toHaveLength(1);
        // None ran twice: one engine start per run across both workers' logs.
        expect(engineStarts(stack, id), `${id} (${acked.get(id)}): engine starts`).toBe(1);
      }

      // The counters equal the states of the runs, on the new primary.
      const { counts, truth } = await inspector.countsAndTruth();
      expect(counts).toEqual(truth);
      expect(truth.COMPLETE).toBeGreaterThanOrEqual(ids.length);

      // Every key of the deployment lies in the slot of its hash tag (Redis Cluster could hold it).
      const observer2 = connect();
      try {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await observer2.scan(cursor, 'MATCH', `*${stack.keyPrefix}*`, 'COUNT', 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== '0');
        expect(keys.length).toBeGreaterThan(ids.length);
        const slot = keySlot(stack.keys.prefix);
        expect(keys.filter((k) => keySlot(k) !== slot)).toEqual([]);
      } finally {
        observer2.disconnect();
      }

      // The API and the workers followed the failover by themselves.
      expect(stack.api.child.exitCode).toBeNull();
      expect(stack.liveWorkers()).toHaveLength(2);
    } catch (err) {
      if (stack) console.log(`logs of the stack under test:\n${stack.logTail(80)}`);
      throw err;
    } finally {
      inspector?.close();
      await stack?.stop();
      await group.stop();
    }
  }, 180_000);
});
