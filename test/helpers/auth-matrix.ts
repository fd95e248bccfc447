import { expect } from 'vitest';
import { runForm, WesClient, workflowFiles } from './client';

/**
 * The cross-user matrix of the auth e2e tests, shared by every auth mode: a run of one user,
 * every URL about it, and the check that its owner and the admins get each one (200), another
 * user gets the WES 403, and a request without valid credentials the 401 with its challenge.
 */

/** Every endpoint about one run, by name. */
export const RUN_ENDPOINTS = ['get', 'status', 'tasks', 'task', 'task stdout', 'stdout', 'stderr', 'outputs', 'output', 'cancel'] as const;
export type RunEndpoint = (typeof RUN_ENDPOINTS)[number];
export type RunUrls = Record<RunEndpoint, { method: 'GET' | 'POST'; url: string }>;

/** A one-task run (a CWL tool printing its arguments to a captured stdout): logs, a task with its stdout, an output file. */
export const argvRun = (word: string) =>
  runForm({ workflow_url: 'tasks/argv.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: { word }, attachments: workflowFiles('tasks/argv.cwl') });

/** A run that sleeps a minute (for a cancel while it is active). */
export const sleepRun = () =>
  runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds: 60 }, attachments: workflowFiles('sleep.cwl') });

/** Waits for `owner`'s run `runId` (an argvRun) to complete, and gives every URL about it, as its RunLog and TaskLog give them. */
export async function runUrls(owner: WesClient, runId: string): Promise<RunUrls> {
  await owner.waitForState(runId, ['COMPLETE']);
  const log = await owner.runLog(runId);
  const tasks = (await owner.getJson(`/runs/${runId}/tasks`)).task_logs;
  expect(tasks.length).toBeGreaterThan(0);
  const output = log.outputs.out.location as string;
  expect(output).toMatch(/\/outputs\//);
  const get = (url: string) => ({ method: 'GET' as const, url });
  return {
    get: get(owner.url(`/runs/${runId}`)),
    status: get(owner.url(`/runs/${runId}/status`)),
    tasks: get(owner.url(`/runs/${runId}/tasks`)),
    task: get(owner.url(`/runs/${runId}/tasks/${tasks[0].id}`)),
    'task stdout': get(tasks[0].stdout),
    stdout: get(log.run_log.stdout),
    stderr: get(log.run_log.stderr),
    outputs: get(owner.url(`/runs/${runId}/outputs`)),
    output: get(output),
    cancel: { method: 'POST', url: owner.url(`/runs/${runId}/cancel`) },
  };
}

/** A client whose request must be refused with 401 and this WWW-Authenticate. */
export interface Refused {
  label: string;
  client: WesClient;
  challenge: string;
}

/**
 * Every endpoint of a completed run: each of `others` gets 403 with the WES ErrorResponse
 * naming the run, each of `refused` 401 with its challenge, the owner and each admin 200.
 * Cancel comes last (the run is COMPLETE: the owner's cancel changes nothing).
 */
export async function expectRunMatrix(
  runId: string,
  urls: RunUrls,
  who: { owner: WesClient; admins: WesClient[]; others: WesClient[]; refused: Refused[] },
): Promise<void> {
  expect(Object.keys(urls)).toEqual([...RUN_ENDPOINTS]);
  for (const name of RUN_ENDPOINTS) {
    const { method, url } = urls[name];
    for (const [i, other] of who.others.entries()) {
      const r = await other.request(method, url);
      expect(r.status, `other #${i}: ${name}`).toBe(403);
      expect(r.body, `other #${i}: ${name}`).toEqual({ msg: `run ${runId} belongs to another user`, status_code: 403 });
    }
    for (const { label, client, challenge } of who.refused) {
      const r = await client.request(method, url);
      expect(r.status, `${label}: ${name}`).toBe(401);
      expect(r.body.status_code, `${label}: ${name}`).toBe(401);
      expect(r.headers.get('www-authenticate'), `${label}: ${name}`).toBe(challenge);
    }
    expect((await who.owner.request(method, url)).status, `owner: ${name}`).toBe(200);
    for (const [i, admin] of who.admins.entries()) expect((await admin.request(method, url)).status, `admin #${i}: ${name}`).toBe(200);
  }
  expect(await who.owner.status(runId)).toBe('COMPLETE');
}

/** Every run id `client` lists, page by page (one run a page, so the paging is exercised). */
export async function listAll(client: WesClient): Promise<string[]> {
  const ids: string[] = [];
  let token = '';
  do {
    const body = await client.getJson(`/runs?page_size=1${token ? `&page_token=${token}` : ''}`);
    ids.push(...body.runs.map((r: { run_id: string }) => r.run_id));
    token = body.next_page_token;
  } while (token);
  return ids;
}

/** `other` may not cancel `owner`'s active run (403); `admin` may, and it ends CANCELED. Returns the run's id. */
export async function expectAdminCancels(owner: WesClient, other: WesClient, admin: WesClient): Promise<string> {
  const r = await owner.submitOk(sleepRun());
  const refused = await other.cancel(r);
  expect(refused.status).toBe(403);
  expect(refused.body).toEqual({ msg: `run ${r} belongs to another user`, status_code: 403 });
  expect(['QUEUED', 'INITIALIZING', 'RUNNING']).toContain(await owner.status(r));
  expect((await admin.cancel(r)).status).toBe(200);
  await owner.waitForState(r, ['CANCELED']);
  return r;
}

/**
 * The matrix's DELETE row, apart because it ends the run: on `runId` (finished), each of `others`
 * gets 403 and each of `refused` 401, and the run is still there; then `deleter` (its owner or
 * an admin) gets 200 with the run id, and everyone a 404 after.
 */
export async function expectDeleteRow(runId: string, who: { deleter: WesClient; others: WesClient[]; refused: Refused[] }): Promise<void> {
  for (const [i, other] of who.others.entries()) {
    const r = await other.request('DELETE', `/runs/${runId}`);
    expect(r.status, `other #${i}: delete`).toBe(403);
    expect(r.body, `other #${i}: delete`).toEqual({ msg: `run ${runId} belongs to another user`, status_code: 403 });
  }
  for (const { label, client, challenge } of who.refused) {
    const r = await client.request('DELETE', `/runs/${runId}`);
    expect(r.status, `${label}: delete`).toBe(401);
    expect(r.headers.get('www-authenticate'), `${label}: delete`).toBe(challenge);
  }
  expect((await who.deleter.request('GET', `/runs/${runId}/status`)).status).toBe(200);
  const done = await who.deleter.request('DELETE', `/runs/${runId}`);
  expect(done.status).toBe(200);
  expect(done.body).toEqual({ run_id: runId });
  for (const client of [who.deleter, ...who.others]) expect((await client.request('GET', `/runs/${runId}`)).status).toBe(404);
}
