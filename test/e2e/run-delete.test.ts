import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../libs/logging/src';
import { sampleValue } from '../../libs/metrics/src';
import { RunDeleter } from '../../libs/recovery/src';
import { RunKeys, runObjectKeys, WorkflowStateMachine } from '../../libs/runs/src';
import { LocalObjectStore } from '../../libs/storage/src';
import { expectDeleteRow } from '../helpers/auth-matrix';
import { runForm, WesClient, workflowFiles } from '../helpers/client';
import { uniqueNumber, useStack } from '../helpers/e2e';
import { scrape } from '../helpers/ops';
import { staticUsers } from '../helpers/static-users';

/**
 * DELETE /runs/{run_id} through the real API and worker (authMode static): a finished run's
 * files, Redis keys, index entries and counter go; a run not finished is a 409; 404 and 403
 * as for every run endpoint.
 */
const users = staticUsers({ alice: {}, bob: {}, root: { admin: true } });
const h = useStack({ workerConcurrency: 1, cancelGraceMs: 500, env: users.env });
const as = (user: 'alice' | 'bob' | 'root') => users.as(h.stack.origin, user);
let redis: Redis;
let keys: RunKeys;

beforeAll(() => {
  redis = new Redis(h.stack.redis.url);
  keys = new RunKeys(h.stack.keyPrefix);
});
afterAll(async () => {
  await redis?.quit();
});

const argv = (word: string, tags: Record<string, string> = {}) =>
  runForm({ workflow_url: 'tasks/argv.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: { word }, tags, attachments: workflowFiles('tasks/argv.cwl') });
const sleeping = () =>
  runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds: uniqueNumber() }, attachments: workflowFiles('sleep.cwl') });

/** Every key of the stack's Redis whose name holds `runId`. */
async function keysNaming(runId: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `*${runId}*`, 'COUNT', 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** Every sorted set or set of the stack's prefix that has `runId` as a member. */
async function setsHolding(runId: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      const type = await redis.type(key);
      if (type === 'zset' && (await redis.zscore(key, runId)) !== null) found.push(key);
      if (type === 'set' && (await redis.sismember(key, runId))) found.push(key);
    }
  } while (cursor !== '0');
  return found;
}

const runFolder = (runId: string) => path.join(h.stack.dataDir, runObjectKeys.run(runId));
const listed = async (client: WesClient) => (await client.getJson('/runs?page_size=100')).runs.map((r: { run_id: string }) => r.run_id);

describe('DELETE /runs/{run_id}', () => {
  it('removes a COMPLETE run: its files, every Redis key and index entry, its count; later reads are 404', async () => {
    const runId = await as('alice').submitOk(argv('gone', { project: 'del', 'odd key': '{v}' }));
    await as('alice').waitForState(runId, ['COMPLETE']);
    const log = await as('alice').runLog(runId);
    expect((await as('alice').request('GET', log.run_log.stdout)).status).toBe(200);
    expect(readdirSync(runFolder(runId)).sort()).toEqual(expect.arrayContaining(['attachments', 'logs', 'outputs']));
    expect((await keysNaming(runId)).length).toBeGreaterThan(0);
    expect((await setsHolding(runId)).sort()).toEqual(
      [keys.ownerIndex('alice'), keys.stateIndex('COMPLETE'), keys.tagIndex('project', 'del'), keys.tagIndex('odd key', '{v}')].sort(),
    );
    const before = Number(await redis.hget(keys.counts, 'COMPLETE'));
    const infoBefore = (await as('alice').getJson('/service-info')).system_state_counts.COMPLETE;

    const r = await as('alice').request('DELETE', `/runs/${runId}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ run_id: runId });

    expect(existsSync(runFolder(runId))).toBe(false);
    expect(await keysNaming(runId)).toEqual([]);
    expect(await setsHolding(runId)).toEqual([]);
    expect(Number(await redis.hget(keys.counts, 'COMPLETE'))).toBe(before - 1);
    expect((await as('alice').getJson('/service-info')).system_state_counts.COMPLETE).toBe(infoBefore - 1);
    for (const p of [`/runs/${runId}`, `/runs/${runId}/status`, `/runs/${runId}/tasks`, `/runs/${runId}/outputs`]) {
      const gone = await as('alice').request('GET', p);
      expect(gone.status, p).toBe(404);
      expect(gone.body.status_code, p).toBe(404);
    }
    expect((await as('alice').request('GET', log.run_log.stdout)).status).toBe(404);
    expect(await listed(as('alice'))).not.toContain(runId);
    expect(await listed(as('root'))).not.toContain(runId);
    expect((await as('root').getJson('/runs?tag=project:del')).runs).toEqual([]);
    expect((await as('alice').request('DELETE', `/runs/${runId}`)).status).toBe(404);
  });

  it('refuses a RUNNING run with 409 saying to cancel first; once CANCELED it can be deleted', async () => {
    const runId = await as('alice').submitOk(sleeping());
    await as('alice').waitForState(runId, ['RUNNING']);
    const r = await as('alice').request('DELETE', `/runs/${runId}`);
    expect(r.status).toBe(409);
    expect(r.body.status_code).toBe(409);
    expect(r.body.msg).toContain('RUNNING');
    expect(r.body.msg).toContain('cancel');
    expect(await as('alice').status(runId)).toBe('RUNNING');
    expect(existsSync(runFolder(runId))).toBe(true);
    expect(await listed(as('alice'))).toContain(runId);
    expect((await as('alice').cancel(runId)).status).toBe(200);
    await as('alice').waitForState(runId, ['CANCELED']);
    expect((await as('alice').request('DELETE', `/runs/${runId}`)).status).toBe(200);
    expect(await keysNaming(runId)).toEqual([]);
    expect(existsSync(runFolder(runId))).toBe(false);
  });

  it('refuses a QUEUED run with 409 too', async () => {
    const holder = await as('bob').submitOk(sleeping());
    await as('bob').waitForState(holder, ['RUNNING']);
    const queued = await as('bob').submitOk(sleeping());
    const r = await as('bob').request('DELETE', `/runs/${queued}`);
    expect(r.status).toBe(409);
    expect(r.body.msg).toContain('QUEUED');
    for (const id of [queued, holder]) {
      await as('bob').cancel(id);
      await as('bob').waitForState(id, ['CANCELED']);
    }
  });

  it('answers 404 for a run that does not exist (or is no run id)', async () => {
    for (const id of ['01900000-0000-7000-8000-000000000000', 'not-a-run', '..']) {
      const r = await as('root').request('DELETE', `/runs/${encodeURIComponent(id)}`);
      expect(r.status, id).toBe(404);
      expect(r.body.status_code, id).toBe(404);
    }
  });

  it("another user's run: 403 (and 401 without credentials); its owner or an admin deletes it", async () => {
    const aliceRun = await as('alice').submitOk(argv('mine'));
    const bobRun = await as('bob').submitOk(argv('bobs'));
    await as('alice').waitForState(aliceRun, ['COMPLETE']);
    await as('bob').waitForState(bobRun, ['COMPLETE']);
    const refused = [{ label: 'no credentials', client: new WesClient(h.stack.origin), challenge: 'Bearer realm="wes"' }];
    await expectDeleteRow(aliceRun, { deleter: as('alice'), others: [as('bob')], refused });
    await expectDeleteRow(bobRun, { deleter: as('root'), others: [as('alice')], refused });
  });

  it('a run deleted by another process (the reaper in a worker, say) is 404 at /status too, though the API had cached its state', async () => {
    const runId = await as('alice').submitOk(argv('elsewhere'));
    await as('alice').waitForState(runId, ['COMPLETE']);
    // This test process is the other process: the same deleter, its own cache.
    const deleter = new RunDeleter(new WorkflowStateMachine(redis, keys), new LocalObjectStore(h.stack.dataDir), redis, keys, createLogger('test', 'silent'));
    expect(await deleter.delete(runId, 'retention')).toMatchObject({ deleted: true });
    expect(existsSync(runFolder(runId))).toBe(false);
    const deadline = Date.now() + 10_000;
    while ((await as('alice').request('GET', `/runs/${runId}/status`)).status !== 404) {
      expect(Date.now(), 'the API still answers the deleted run\'s cached state').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it('concurrent deletes of one run: one 200, the others 404, the counter moved once', async () => {
    const runId = await as('alice').submitOk(argv('race'));
    await as('alice').waitForState(runId, ['COMPLETE']);
    const before = Number(await redis.hget(keys.counts, 'COMPLETE'));
    const deletions = async () => sampleValue((await scrape(h.stack.origin)).samples, 'wes_runs_deleted_total', { reason: 'request' });
    const counted = await deletions();
    const results = await Promise.all(Array.from({ length: 6 }, () => as('alice').request('DELETE', `/runs/${runId}`)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 404, 404, 404, 404, 404]);
    expect(Number(await redis.hget(keys.counts, 'COMPLETE'))).toBe(before - 1);
    expect(await deletions()).toBe(counted + 1);
    expect(await keysNaming(runId)).toEqual([]);
    expect(await redis.zcard(keys.deleting)).toBe(0);
  });
});
