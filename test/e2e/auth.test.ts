import { spawnSync } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../libs/auth/src';
import { corsPreflight, runForm, WesClient, workflowFiles, WORKFLOWS_DIR } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { toilWesCwlRunnerRequest } from '../helpers/python-clients';
import { API_ENTRY } from '../helpers/stack';
import { runWes } from '../helpers/wes-cli';

/**
 * authMode static through the real API and worker: every run endpoint needs credentials
 * (Bearer or Basic), a run is its owner's (others get 403, an admin gets through), lists show
 * a user's own runs, service-info stays public, and no credential reaches a log line.
 */
const secret = (who: string) => `${who}-${randomBytes(12).toString('hex')}`;
const USERS = {
  alice: { token: secret('alice-token'), password: secret('alice-pw') },
  bob: { token: secret('bob-token'), password: secret('bob-pw') },
  root: { token: secret('root-token'), password: secret('root-pw') },
} as const;
type UserName = keyof typeof USERS;
const INSTRUCTIONS = 'https://wes.example.org/how-to-get-a-token';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-auth-e2e-'));
const configFile = path.join(dir, 'wes.yaml');
/** The documented format, made here with node:crypto alone; a low cost keeps the test quick (the server reads N, r, p from the hash). */
const scryptHash = (pw: string) => {
  const salt = randomBytes(16);
  return `scrypt$1024$8$1$${salt.toString('base64')}$${scryptSync(pw, salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64')}`;
};
const users = (Object.keys(USERS) as UserName[]).map((name) => ({
  name,
  roles: name === 'root' ? ['admin'] : [],
  tokenSha256: hashToken(USERS[name].token),
  passwordScrypt: scryptHash(USERS[name].password),
}));
writeFileSync(configFile, JSON.stringify({ authUsers: users, authInstructionsUrl: INSTRUCTIONS }));

const APP = 'https://app.example.org';
const h = useStack({ env: { WES_CONFIG_FILE: configFile, WES_AUTH_MODE: 'static' }, apiEnv: { WES_CORS_ORIGINS: APP } });

type Scheme = 'bearer' | 'basic';
const authorization = (user: UserName, scheme: Scheme) =>
  scheme === 'bearer' ? `Bearer ${USERS[user].token}` : `Basic ${Buffer.from(`${user}:${USERS[user].password}`).toString('base64')}`;
const as = (user: UserName, scheme: Scheme = 'bearer') => new WesClient(h.stack.origin, { authorization: authorization(user, scheme) });

/** A one-task run (a CWL tool printing its arguments to a captured stdout): logs, a task with its stdout, an output file. */
const argvRun = (word: string) =>
  runForm({ workflow_url: 'tasks/argv.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: { word }, attachments: workflowFiles('tasks/argv.cwl') });

let aliceRun = '';
let aliceRun2 = '';
let bobRun = '';
let toilRun = '';
/** Every URL about alice's first run, by endpoint, as the RunLog and the TaskLog give them. */
let urls: Record<string, { method: 'GET' | 'POST'; url: string }> = {};

describe('authMode static', () => {
  it('serves service-info and the API document without credentials, with auth_instructions_url', async () => {
    const info = await new WesClient(h.stack.origin).getJson('/service-info');
    expect(info.auth_instructions_url).toBe(INSTRUCTIONS);
    const doc = await fetch(h.client.url('/openapi.yaml'));
    expect(doc.status).toBe(200);
  });

  it('answers a CORS preflight without credentials, allowing Authorization', async () => {
    const res = await corsPreflight(h.client.url('/runs'), APP);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it("takes toil-wes-cwl-runner's request with TOIL_WES_USER/TOIL_WES_PASSWORD (python-requests' HTTP Basic)", async () => {
    const { body, headers } = toilWesCwlRunnerRequest(path.join(WORKFLOWS_DIR, 'clients'), 'wf/main.cwl', 'jobs/job.json', ['--quiet']);
    const refused = await new WesClient(h.stack.origin).request('POST', '/runs', { body, headers });
    expect(refused.status).toBe(401);
    const runId = (await as('bob', 'basic').request('POST', '/runs', { body, headers })).body.run_id as string;
    expect(runId).toBeTruthy();
    expect((await as('alice').request('GET', `/runs/${runId}/status`)).status).toBe(403);
    await as('bob', 'basic').waitForState(runId, ['COMPLETE']);
    toilRun = runId;
  });

  it('runs a submitted run for its owner, who reads it with either scheme', async () => {
    aliceRun = await as('alice').submitOk(argvRun('one'));
    bobRun = await as('bob', 'basic').submitOk(argvRun('bob'));
    aliceRun2 = await as('alice', 'basic').submitOk(argvRun('two'));
    for (const [client, id] of [[as('alice'), aliceRun], [as('bob'), bobRun], [as('alice'), aliceRun2]] as const) {
      await client.waitForState(id, ['COMPLETE']);
    }
    const log = await as('alice', 'basic').runLog(aliceRun);
    const tasks = (await as('alice').getJson(`/runs/${aliceRun}/tasks`)).task_logs;
    expect(tasks.length).toBeGreaterThan(0);
    const output = log.outputs.out.location as string;
    expect(output).toMatch(/\/outputs\//);
    urls = {
      get: { method: 'GET', url: h.client.url(`/runs/${aliceRun}`) },
      status: { method: 'GET', url: h.client.url(`/runs/${aliceRun}/status`) },
      tasks: { method: 'GET', url: h.client.url(`/runs/${aliceRun}/tasks`) },
      task: { method: 'GET', url: h.client.url(`/runs/${aliceRun}/tasks/${tasks[0].id}`) },
      'task stdout': { method: 'GET', url: tasks[0].stdout },
      stdout: { method: 'GET', url: log.run_log.stdout },
      stderr: { method: 'GET', url: log.run_log.stderr },
      outputs: { method: 'GET', url: h.client.url(`/runs/${aliceRun}/outputs`) },
      output: { method: 'GET', url: output },
      cancel: { method: 'POST', url: h.client.url(`/runs/${aliceRun}/cancel`) },
    };
  });

  for (const scheme of ['bearer', 'basic'] as const) {
    it(`answers every run endpoint (${scheme}): owner and admin 200, another user 403, no or bad credentials 401`, async () => {
      expect(Object.keys(urls)).toHaveLength(10);
      // Cancel last: the others' attempts first (the run is COMPLETE: the owner's cancel changes nothing).
      for (const [name, { method, url }] of Object.entries(urls)) {
        const bob = await as('bob', scheme).request(method, url);
        expect(bob.status, `bob: ${name}`).toBe(403);
        expect(bob.body.msg, `bob: ${name}`).toBe(`run ${aliceRun} belongs to another user`);
        const wrong: Record<string, string>[] = [{}, { authorization: scheme === 'bearer' ? 'Bearer not-a-token' : `Basic ${Buffer.from(`alice:${USERS.bob.password}`).toString('base64')}` }];
        for (const headers of wrong) {
          const anon = await new WesClient(h.stack.origin, headers).request(method, url);
          expect(anon.status, `${JSON.stringify(headers)}: ${name}`).toBe(401);
          expect(anon.headers.get('www-authenticate')).toBe('Bearer realm="wes", Basic realm="wes"');
        }
        expect((await as('alice', scheme).request(method, url)).status, `alice: ${name}`).toBe(200);
        expect((await as('root', scheme).request(method, url)).status, `root: ${name}`).toBe(200);
      }
      expect(await as('alice').status(aliceRun)).toBe('COMPLETE');
    });
  }

  it('answers 401 to a submit, a list and a cancel without valid credentials, and 404 (not 403) for a run that does not exist', async () => {
    const anon = new WesClient(h.stack.origin);
    for (const r of [await anon.submit(argvRun('x')), await anon.request('GET', '/runs'), await anon.cancel(bobRun)]) {
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toContain('Bearer');
    }
    for (const header of ['Basic bm9jb2xvbg==', `Basic ${Buffer.from(`nobody:${USERS.alice.password}`).toString('base64')}`, 'Token x', `bearer ${USERS.alice.token}x`]) {
      expect((await new WesClient(h.stack.origin, { authorization: header }).request('GET', '/runs')).status, header).toBe(401);
    }
    const missing = '01900000-0000-7000-8000-000000000000';
    expect((await as('bob').request('GET', `/runs/${missing}`)).status).toBe(404);
    expect((await as('bob').cancel(missing)).status).toBe(404);
  });

  it('lists only the caller\'s runs, newest first, page by page; an admin lists them all', async () => {
    const walk = async (client: WesClient) => {
      const ids: string[] = [];
      let token = '';
      do {
        const body = await client.getJson(`/runs?page_size=1${token ? `&page_token=${token}` : ''}`);
        ids.push(...body.runs.map((r: { run_id: string }) => r.run_id));
        token = body.next_page_token;
      } while (token);
      return ids;
    };
    expect(await walk(as('alice'))).toEqual([aliceRun2, aliceRun]);
    expect(await walk(as('bob', 'basic'))).toEqual([bobRun, toilRun]);
    expect(await walk(as('root'))).toEqual([aliceRun2, bobRun, aliceRun, toilRun]);
  });

  it('lets another user not cancel a run, and the admin cancel it', async () => {
    const r = await as('alice').submitOk(runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds: 60 }, attachments: workflowFiles('sleep.cwl') }));
    expect((await as('bob').cancel(r)).status).toBe(403);
    expect(['QUEUED', 'INITIALIZING', 'RUNNING']).toContain(await as('alice').status(r));
    expect((await as('root', 'basic').cancel(r)).status).toBe(200);
    await as('alice').waitForState(r, ['CANCELED']);
  });

  it('sends the wes CLI\'s credentials (token or user and password) with every request, output downloads included', async () => {
    const outdir = path.join(dir, 'cli-out');
    const job = path.join(dir, 'job.json');
    writeFileSync(job, JSON.stringify({ word: 'cli' }));
    const tool = path.join(dir, 'argv.cwl');
    writeFileSync(tool, workflowFiles('tasks/argv.cwl')['tasks/argv.cwl']!);
    const ran = await runWes(['run', '--outdir', outdir, tool, job], { url: h.stack.origin, env: { WES_USER: 'bob', WES_PASSWORD: USERS.bob.password } });
    expect(ran.code, ran.stderr).toBe(0);
    expect(readFileSync(path.join(outdir, 'argv.txt'), 'utf8')).toContain('cli');
    const listed = await runWes(['list', '--json'], { url: h.stack.origin, env: { WES_TOKEN: USERS.bob.token } });
    expect(listed.code, listed.stderr).toBe(0);
    const ids = JSON.parse(listed.stdout).runs.map((r: { run_id: string }) => r.run_id);
    expect(ids).toContain(bobRun);
    expect(ids).not.toContain(aliceRun);
    const refused = await runWes(['status', aliceRun], { url: h.stack.origin, env: { WES_TOKEN: USERS.bob.token } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('belongs to another user');
    const noCredentials = await runWes(['list'], { url: h.stack.origin });
    expect(noCredentials.code).not.toBe(0);
  });

  it('logs who submitted and cancelled what, and no token or password in any line of the API or the worker', async () => {
    const api = readFileSync(h.stack.api.logFile, 'utf8');
    const lines = api.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.find((l) => l.action === 'submit' && l.runId === aliceRun)).toMatchObject({ user: 'alice' });
    expect(lines.find((l) => l.action === 'submit' && l.runId === bobRun)).toMatchObject({ user: 'bob' });
    expect(lines.find((l) => l.action === 'cancel' && l.user === 'root')).toBeDefined();
    const logs = [api, ...h.stack.workers.map((w) => readFileSync(w.logFile, 'utf8'))].join('\n');
    for (const [name, { token, password }] of Object.entries(USERS)) {
      for (const s of [token, password, hashToken(token), Buffer.from(`${name}:${password}`).toString('base64')]) expect(logs).not.toContain(s);
    }
    expect(logs.toLowerCase()).not.toContain('authorization');
  });
});

describe('authMode none', () => {
  const open = useStack({ workers: 0, apiEnv: { WES_HOST: '0.0.0.0', WES_AUTH_ALLOW_NONE_ON_NETWORK: 'true' } });

  it('refuses to listen on 0.0.0.0 without WES_AUTH_ALLOW_NONE_ON_NETWORK, saying why', () => {
    const env = { PATH: process.env.PATH ?? '', WES_HOST: '0.0.0.0', WES_PORT: '0', REDIS_URL: 'redis://127.0.0.1:1' };
    const r = spawnSync(process.execPath, [API_ENTRY], { env, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refusing to listen on WES_HOST=0.0.0.0 with WES_AUTH_MODE=none');
    expect(r.stderr).toContain('WES_AUTH_ALLOW_NONE_ON_NETWORK=true');
  });

  it('listens on 0.0.0.0 with the override, and needs no credentials', async () => {
    expect((await open.client.request('GET', '/runs')).status).toBe(200);
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
