import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../test/helpers/private-redis';
import { LocalS3, startS3 } from '../../../test/helpers/s3';
import { loadSettings } from '../../config/src';
import { createLogger } from '../../logging/src';
import { RunKeys, runObjectKeys, RunStore, WorkflowStateMachine } from '../../runs/src';
import { LocalObjectStore, ObjectStore, S3ObjectStore } from '../../storage/src';
import { DeletionReason, RunDeleter } from './run-deleter';
import { ORPHAN_AGE_MS, RETENTION_BATCH, RunRetention } from './run-retention';

/**
 * The deleter and the reaper's storage sweep against a real private Redis and a real store
 * folder (and s3rver for the S3 store's deletion).
 */
const r = usePrivateRedis();
const DAY = 24 * 60 * 60 * 1000;
const log = createLogger('retention-spec', 'silent');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'wes-retention-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function setUp(retentionDays: string, store: ObjectStore = new LocalObjectStore(mkdtempSync(path.join(tmp, 'store-')))) {
  const keys = new RunKeys(`ret-${randomBytes(4).toString('hex')}`);
  const settings = loadSettings({ REDIS_URL: r.server.url, WES_KEY_PREFIX: keys.prefix, WES_RETENTION_DAYS: retentionDays });
  const machine = new WorkflowStateMachine(r.redis, keys);
  const deleter = new RunDeleter(machine, store, r.redis, keys, log);
  const reasons: DeletionReason[] = [];
  deleter.onDeleted((reason) => reasons.push(reason));
  const retention = new RunRetention(settings, deleter, store, r.redis, keys, log);
  /** A run submitted `agoMs` ago (its id's time), with a file, ended (if `end`) at that time. */
  const run = async (agoMs: number, end?: { agoMs: number; state?: 'COMPLETE' | 'RUNNING' }) => {
    const id = uuidv7({ msecs: Date.now() - agoMs });
    await store.put(runObjectKeys.attachment(id, 'main.cwl'), 'x');
    await store.put(runObjectKeys.log(id, 'stdout'), 'y');
    expect(await machine.enqueue(id, { request: '{}' })).toBe(true);
    if (end) {
      await machine.sendOrThrow(id, 'initialize');
      await machine.sendOrThrow(id, 'run');
      if (end.state !== 'RUNNING') {
        await machine.sendOrThrow(id, 'complete');
        // The end time as it would have been written then.
        await r.redis.hset(keys.run(id), 'end', String(Date.now() - end.agoMs));
      }
    }
    return id;
  };
  const exists = async (id: string) => (await r.redis.exists(keys.run(id))) === 1;
  const hasFiles = async (id: string) => (await store.list(runObjectKeys.run(id))).length > 0;
  return { keys, store, machine, deleter, retention, reasons, run, exists, hasFiles, runs: new RunStore(r.redis, keys) };
}

describe('the retention sweep', () => {
  it('deletes finished runs that ended before the retention, files and all; leaves the rest', async () => {
    const t = setUp('2');
    const expired = await t.run(5 * DAY, { agoMs: 3 * DAY });
    const endedLate = await t.run(5 * DAY, { agoMs: 1 * DAY });
    const recent = await t.run(1000, { agoMs: 500 });
    const stillRunning = await t.run(5 * DAY, { agoMs: 0, state: 'RUNNING' });
    const stillQueued = await t.run(5 * DAY);
    const report = await t.retention.sweep();
    expect(report.expired).toBe(1);
    expect(await t.exists(expired)).toBe(false);
    expect(await t.hasFiles(expired)).toBe(false);
    for (const id of [endedLate, recent, stillRunning, stillQueued]) {
      expect(await t.exists(id)).toBe(true);
      expect(await t.hasFiles(id)).toBe(true);
    }
    expect(t.reasons).toEqual(['retention']);
    expect((await t.runs.counts()).COMPLETE).toBe(2);
  });

  it('takes fractions of a day, and 0 keeps everything', async () => {
    const keep = setUp('0');
    const old = await keep.run(30 * DAY, { agoMs: 29 * DAY });
    expect((await keep.retention.sweep()).expired).toBe(0);
    expect(await keep.exists(old)).toBe(true);
    const hour = setUp(String(1 / 24));
    const twoHours = await hour.run(3 * 60 * 60 * 1000, { agoMs: 2 * 60 * 60 * 1000 });
    const halfHour = await hour.run(3 * 60 * 60 * 1000, { agoMs: 30 * 60 * 1000 });
    expect((await hour.retention.sweep()).expired).toBe(1);
    expect(await hour.exists(twoHours)).toBe(false);
    expect(await hour.exists(halfHour)).toBe(true);
  });

  it(`deletes at most ${RETENTION_BATCH} runs a sweep; the next sweep goes on`, async () => {
    const t = setUp('1');
    const ids = [];
    for (let i = 0; i < RETENTION_BATCH + 20; i++) ids.push(await t.run(3 * DAY, { agoMs: 2 * DAY }));
    expect((await t.retention.sweep()).expired).toBe(RETENTION_BATCH);
    expect((await t.retention.sweep()).expired).toBe(20);
    expect((await t.retention.sweep()).expired).toBe(0);
    for (const id of ids) expect(await t.exists(id)).toBe(false);
  });
});

describe('the orphan sweep', () => {
  it('removes run folders with no run record once their id is a day old; never a run\'s, a recent one, or a folder not named by a run id', async () => {
    const t = setUp('0');
    const old = Date.now() - ORPHAN_AGE_MS - 60_000;
    const orphan = uuidv7({ msecs: old });
    await t.store.put(runObjectKeys.attachment(orphan, 'a/b.txt'), 'left by an abandoned submit');
    const recorded = await t.run(ORPHAN_AGE_MS + 120_000, { agoMs: 1000 });
    const fresh = uuidv7();
    await t.store.put(runObjectKeys.attachment(fresh, 'x'), 'a submit going on');
    await t.store.put('runs/not-a-run-id/keep', 'not ours');
    const report = await t.retention.sweep();
    expect(report.orphans).toBe(1);
    expect(await t.hasFiles(orphan)).toBe(false);
    expect(await t.hasFiles(recorded)).toBe(true);
    expect(await t.hasFiles(fresh)).toBe(true);
    expect(await t.store.stat('runs/not-a-run-id/keep')).not.toBeNull();
    // The sweep stopped before the recent folder and goes on from there next time; caught up,
    // it pauses 60 reaper intervals.
    expect(await r.redis.get(t.keys.orphanSweepCursor)).toBe(orphan);
    const pause = await r.redis.pttl(t.keys.orphanSweepPause);
    expect(pause).toBeGreaterThan(59 * 10_000);
    expect(pause).toBeLessThanOrEqual(60 * 10_000);
    const later = uuidv7({ msecs: old + 1 });
    await t.store.put(runObjectKeys.attachment(later, 'x'), 'another abandoned submit');
    expect((await t.retention.sweep()).orphans).toBe(0);
    expect(await t.hasFiles(later)).toBe(true);
    await r.redis.del(t.keys.orphanSweepPause);
    expect((await t.retention.sweep()).orphans).toBe(1);
    expect(await t.hasFiles(later)).toBe(false);
  });

  it(`looks at ${RETENTION_BATCH} folders a sweep, in id order`, async () => {
    const t = setUp('0');
    const base = Date.now() - 2 * DAY;
    const ids = Array.from({ length: RETENTION_BATCH + 5 }, (_, i) => uuidv7({ msecs: base + i }));
    for (const id of ids) await t.store.put(runObjectKeys.attachment(id, 'x'), '1');
    expect((await t.retention.sweep()).orphans).toBe(RETENTION_BATCH);
    // Not caught up yet: no pause.
    expect(await r.redis.exists(t.keys.orphanSweepPause)).toBe(0);
    expect((await t.retention.sweep()).orphans).toBe(5);
    expect(await r.redis.exists(t.keys.orphanSweepPause)).toBe(1);
    for (const id of ids) expect(await t.hasFiles(id)).toBe(false);
  });
});

describe('an interrupted deletion', () => {
  it('(the record gone, the files not) is finished by the sweep a minute later', async () => {
    const t = setUp('0');
    const id = await t.run(1000, { agoMs: 500 });
    // What a deleter that died after the script leaves.
    expect((await t.machine.remove(id, Date.now() - 120_000)).removed).toBe(true);
    expect(await t.hasFiles(id)).toBe(true);
    // Not an orphan for the orphan sweep (too young anyway), but a deletion to finish.
    expect((await t.retention.sweep()).finished).toBe(1);
    expect(await t.hasFiles(id)).toBe(false);
    expect(await r.redis.zcard(t.keys.deleting)).toBe(0);
  });

  it('a deletion of a minute ago is left to its deleter', async () => {
    const t = setUp('0');
    const id = await t.run(1000, { agoMs: 500 });
    expect((await t.machine.remove(id)).removed).toBe(true);
    expect((await t.retention.sweep()).finished).toBe(0);
    expect(await t.hasFiles(id)).toBe(true);
  });
});

describe('RunDeleter with the S3 store', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startS3();
    await s3.createBucket('wes-retention');
  }, 60_000);
  afterAll(async () => {
    await s3?.stop();
  });

  it('removes every object of the run and none of another run', async () => {
    const store = new S3ObjectStore({
      bucket: 'wes-retention',
      prefix: 'deploy',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
    const t = setUp('0', store);
    const id = await t.run(1000, { agoMs: 500 });
    const other = await t.run(1000, { agoMs: 500 });
    await store.put(runObjectKeys.output(id, 'deep/er/out.txt'), 'z');
    expect(await t.deleter.delete(id, 'request')).toEqual({ deleted: true, reason: 'request', state: 'COMPLETE' });
    expect(await store.list(runObjectKeys.run(id))).toEqual([]);
    expect(await t.hasFiles(other)).toBe(true);
    expect(t.reasons).toEqual(['request']);
    expect(await t.deleter.delete(id, 'request')).toEqual({ deleted: false, state: null });
  });
});
