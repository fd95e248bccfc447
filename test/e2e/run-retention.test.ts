import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { runObjectKeys } from '../../libs/runs/src';
import { runForm, workflowFiles } from '../helpers/client';
import { uniqueNumber, useStack } from '../helpers/e2e';

/**
 * WES_RETENTION_DAYS through the real API and worker: a retention of 0.00005 days (4.3 s) and
 * a sweep every half second. A finished run goes, files and all, once it has been finished that
 * long; a run still going is left alone however old; an upload folder no run names goes a day
 * after its id was made.
 */
const RETENTION_DAYS = 0.00005;
const RETENTION_MS = RETENTION_DAYS * 24 * 60 * 60 * 1000;
const h = useStack({ workerConcurrency: 2, cancelGraceMs: 500, env: { WES_RETENTION_DAYS: String(RETENTION_DAYS), WES_REAPER_INTERVAL_MS: '500' } });

const runFolder = (runId: string) => path.join(h.stack.dataDir, runObjectKeys.run(runId));
const logs = () => [h.stack.api, ...h.stack.workers].map((p) => readFileSync(p.logFile, 'utf8')).join('\n');

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('retention', () => {
  it('deletes a finished run once it has been finished longer than WES_RETENTION_DAYS; a running run stays', async () => {
    const sleeper = await h.client.submitOk(
      runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds: uniqueNumber() }, attachments: workflowFiles('sleep.cwl') }),
    );
    await h.client.waitForState(sleeper, ['RUNNING']);
    const done = await h.client.submitOk(
      runForm({ workflow_url: 'tasks/argv.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: { word: 'short-lived' }, attachments: workflowFiles('tasks/argv.cwl') }),
    );
    await h.client.waitForState(done, ['COMPLETE']);
    const end = Date.parse((await h.client.runLog(done)).run_log.end_time);
    expect(existsSync(runFolder(done))).toBe(true);

    await until('the finished run is deleted', async () => (await h.client.request('GET', `/runs/${done}`)).status === 404);
    // Not before its time: the reaper saw it finished for the whole retention.
    expect(Date.now() - end).toBeGreaterThanOrEqual(RETENTION_MS);
    // The deleter removes the record first, then the files (a crash in between is finished by the
    // reaper from the `deleting` set): the folder goes just after the 404.
    await until('its files are gone', () => !existsSync(runFolder(done)), 10_000);
    // Its status too, though this API cached it (the reaper may have swept in a worker: the
    // deletion is published to every API).
    await until('its status is 404', async () => (await h.client.request('GET', `/runs/${done}/status`)).status === 404, 10_000);
    expect((await h.client.getJson('/runs')).runs.map((r: { run_id: string }) => r.run_id)).toEqual([sleeper]);
    const line = logs()
      .split('\n')
      .find((l) => l.includes('"run deleted"') && l.includes(done));
    expect(line, 'a log line for the deleted run').toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ runId: done, reason: 'retention', state: 'COMPLETE' });

    // The sleeping run, submitted well before the retention's cutoff by now, is still going.
    await new Promise((resolve) => setTimeout(resolve, RETENTION_MS));
    expect(await h.client.status(sleeper)).toBe('RUNNING');
    expect(existsSync(runFolder(sleeper))).toBe(true);
    expect((await h.client.cancel(sleeper)).status).toBe(200);
    await h.client.waitForState(sleeper, ['CANCELED']);
    await until('the canceled run is deleted too', async () => (await h.client.request('GET', `/runs/${sleeper}`)).status === 404);
  });

  it('removes an upload folder no run names once its id is a day old, and leaves a recent one', async () => {
    const orphan = uuidv7({ msecs: Date.now() - 25 * 60 * 60 * 1000 });
    const recent = uuidv7();
    for (const id of [orphan, recent]) {
      mkdirSync(path.join(runFolder(id), 'attachments', 'sub'), { recursive: true });
      writeFileSync(path.join(runFolder(id), 'attachments', 'sub', 'input.txt'), 'left behind');
    }
    // The orphan sweep, caught up with the aged folders, pauses 60 reaper intervals (30 s here).
    await until('the old orphan folder is removed', () => !existsSync(runFolder(orphan)), 90_000);
    expect(existsSync(runFolder(recent))).toBe(true);
    expect(logs()).toContain('orphaned upload folder removed');
  });
});
