import { spawnSync } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../libs/auth/src';
import { countCommands } from '../../bench/lib/monitor';
import { argvRun, expectAdminCancels, expectRunMatrix, listAll, RunUrls, runUrls, sleepRun } from '../helpers/auth-matrix';
import { corsPreflight, WesClient, workflowFiles, WORKFLOWS_DIR } from '../helpers/client';
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

let aliceRun = '';
let aliceRun2 = '';
let bobRun = '';
let toilRun = '';
/** Every URL about alice's first run. */
let urls: RunUrls;

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
    urls = await runUrls(as('alice', 'basic'), aliceRun);
    await as('bob').waitForState(bobRun, ['COMPLETE']);
    await as('alice').waitForState(aliceRun2, ['COMPLETE']);
  });

  for (const scheme of ['bearer', 'basic'] as const) {
    it(`answers every run endpoint (${scheme}): owner and admin 200, another user 403, no or bad credentials 401`, async () => {
      const wrong = scheme === 'bearer' ? 'Bearer not-a-token' : `Basic ${Buffer.from(`alice:${USERS.bob.password}`).toString('base64')}`;
      await expectRunMatrix(aliceRun, urls, {
        owner: as('alice', scheme),
        admins: [as('root', scheme)],
        others: [as('bob', scheme)],
        refused: [
          { label: 'no credentials', client: new WesClient(h.stack.origin), challenge: 'Bearer realm="wes", Basic realm="wes"' },
          {
            label: wrong.split(' ')[0]!,
            client: new WesClient(h.stack.origin, { authorization: wrong }),
            challenge: scheme === 'bearer' ? 'Bearer realm="wes", error="invalid_token", Basic realm="wes"' : 'Bearer realm="wes", Basic realm="wes"',
          },
        ],
      });
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
    expect(await listAll(as('alice'))).toEqual([aliceRun2, aliceRun]);
    expect(await listAll(as('bob', 'basic'))).toEqual([bobRun, toilRun]);
    expect(await listAll(as('root'))).toEqual([aliceRun2, bobRun, aliceRun, toilRun]);
  });

  it('lets another user not cancel a run, and the admin cancel it', async () => {
    await expectAdminCancels(as('alice'), as('bob'), as('root', 'basic'));
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

  it("reads a user's run going on once per request (the owner check's read answers the handler), and still refuses another user", async () => {
    const runId = await as('alice').submitOk(sleepRun());
    try {
      await as('alice').waitForState(runId, ['RUNNING']);
      const polls = 10;
      for (const p of [`/runs/${runId}/status`, `/runs/${runId}/tasks`]) {
        // A read of the run cache waits for one fence: one PING on each of its two connections
        // (requests one after the other share none). Two reads of the run would be two of each.
        const counted = await countCommands(h.stack.redis.url, ['wes-api-tracking', 'wes-api-invalidations'], polls, async () => {
          for (let i = 0; i < polls; i++) expect((await as('alice').request('GET', p)).status, p).toBe(200);
        });
        expect(counted.perOp, p).toMatchObject({ 'wes-api-tracking PING': 1, 'wes-api-invalidations PING': 1 });
      }
      expect(await as('alice').getJson(`/runs/${runId}/status`)).toEqual({ run_id: runId, state: 'RUNNING' });
      for (const p of [`/runs/${runId}/status`, `/runs/${runId}/tasks`, `/runs/${runId}`]) {
        const refused = await as('bob').request('GET', p);
        expect(refused.status, p).toBe(403);
        expect(refused.body, p).toEqual({ msg: `run ${runId} belongs to another user`, status_code: 403 });
      }
      expect((await as('bob').request('GET', '/runs/01900000-0000-7000-8000-000000000000/status')).status).toBe(404);
      expect(await as('root').getJson(`/runs/${runId}/status`)).toEqual({ run_id: runId, state: 'RUNNING' });
    } finally {
      await as('alice').cancel(runId);
    }
    await as('alice').waitForState(runId, ['CANCELED']);
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
