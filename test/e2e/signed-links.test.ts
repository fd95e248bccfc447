import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../libs/auth/src';
import { runForm, WesClient, workflowFiles } from '../helpers/client';
import { binaryBlob, binaryToolRun } from '../helpers/cwl-fixtures';
import { useStack } from '../helpers/e2e';
import { runWes } from '../helpers/wes-cli';

/**
 * Signed links (WES_SIGNED_LINK_TTL_SECONDS) with authMode static, through the real API and
 * worker: the RunLog, the TaskLogs and the output listings of a run hand out URLs of its logs
 * and outputs that anyone holding them may GET (and HEAD, and read by Range) without
 * credentials, until they expire; a tampered signature, or one moved to another path or another
 * user's run, is refused. Credentials still work on the same URLs, and the signature grants
 * nothing to another user's credentials. No signature reaches a log line.
 */
const TTL_SECONDS = 15;
const USERS = { alice: `alice-${randomBytes(12).toString('hex')}`, bob: `bob-${randomBytes(12).toString('hex')}` } as const;
type UserName = keyof typeof USERS;

const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-links-e2e-'));
const configFile = path.join(dir, 'wes.yaml');
writeFileSync(configFile, JSON.stringify({ authUsers: Object.entries(USERS).map(([name, token]) => ({ name, roles: [], tokenSha256: hashToken(token) })) }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const h = useStack({ env: { WES_CONFIG_FILE: configFile, WES_AUTH_MODE: 'static', WES_SIGNED_LINK_TTL_SECONDS: String(TTL_SECONDS) } });

const as = (user: UserName) => new WesClient(h.stack.origin, { authorization: `Bearer ${USERS[user]}` });
const anonymous = () => new WesClient(h.stack.origin);

const blob = binaryBlob(200_000);
const argvRun = (word: string) =>
  runForm({ workflow_url: 'tasks/argv.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: { word }, attachments: workflowFiles('tasks/argv.cwl') });

/** GET (or HEAD) without credentials unless given: status, headers and the body's bytes. */
async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: Buffer; headers: Headers; json?: any }> {
  const res = await fetch(url, { method, headers });
  const body = Buffer.from(await res.arrayBuffer());
  const json = (res.headers.get('content-type') ?? '').includes('application/json') && body.length ? JSON.parse(body.toString()) : undefined;
  return { status: res.status, body, headers: res.headers, json };
}

/** The signed query of a link, and the link with its query replaced. */
const queryOf = (url: string) => new URL(url).searchParams;
const withQuery = (url: string, query: URLSearchParams) => `${url.split('?')[0]}?${query}`;

let aliceArgv = '';
let aliceBinary = '';
let bobArgv = '';
/** Every signature the API handed out, to look for in the logs. */
const signatures = new Set<string>();
const note = (url: string) => {
  const s = queryOf(url).get('signature');
  if (s) signatures.add(s);
  return url;
};

describe('signed links (authMode static)', () => {
  it('runs a run of each user', async () => {
    [aliceArgv, aliceBinary, bobArgv] = await Promise.all([as('alice').submitOk(argvRun('signed')), as('alice').submitOk(binaryToolRun(blob)), as('bob').submitOk(argvRun('bob'))]);
    await Promise.all([as('alice').waitForState(aliceArgv, ['COMPLETE']), as('alice').waitForState(aliceBinary, ['COMPLETE']), as('bob').waitForState(bobArgv, ['COMPLETE'])]);
  });

  it("hands out signed URLs of the run's logs, task logs and outputs, which serve the right bytes without credentials", async () => {
    const log = await as('alice').runLog(aliceArgv);
    const task = (await as('alice').getJson(`/runs/${aliceArgv}/tasks`)).task_logs[0];
    for (const url of [log.run_log.stdout, log.run_log.stderr, log.outputs.out.location, task.stdout, log.task_logs[0].stdout]) {
      note(url);
      expect(url).toMatch(/\?expires=\d+&signature=[A-Za-z0-9_-]{43}$/);
      const expires = Number(queryOf(url).get('expires'));
      // At least the lifetime from now, at most the lifetime and a bucket (1 s here) from when the RunLog was read.
      expect(expires).toBeGreaterThan(Date.now() / 1000);
      expect(expires).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + TTL_SECONDS + 1);
    }
    // The task_logs_url and the run's own URL are no file: not signed.
    expect(log.task_logs_url).not.toContain('signature=');

    const withCredentials = async (url: string) => (await get(url, { authorization: `Bearer ${USERS.alice}` })).body;
    const out = await get(log.outputs.out.location);
    expect(out.status).toBe(200);
    expect(out.body.toString()).toContain('signed');
    expect(out.body.equals(await withCredentials(log.outputs.out.location))).toBe(true);
    const taskOut = await get(task.stdout);
    expect(taskOut.status).toBe(200);
    expect(taskOut.body.toString()).toContain('signed');
    for (const url of [log.run_log.stdout, log.run_log.stderr]) {
      const r = await get(url);
      expect(r.status, url).toBe(200);
      expect(r.body.equals(await withCredentials(url)), url).toBe(true);
    }
    expect((await get(log.run_log.stdout)).body.toString()).toContain('"out"');
    expect((await get(log.run_log.stderr)).body.length).toBeGreaterThan(0);
    // HEAD, as link checkers and some download tools send first.
    const head = await get(log.outputs.out.location, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(out.body.length));
  });

  it('serves a Range of a binary output, and a Directory output whose listing holds signed links that work', async () => {
    const log = await as('alice').runLog(aliceBinary);
    const copy = note(log.outputs.copy.location);
    const part = await get(copy, { range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${blob.length}`);
    expect(part.body.equals(blob.subarray(1000, 2000))).toBe(true);
    expect((await get(copy)).body.equals(blob)).toBe(true);
    // curl, as a user pastes the URL: no credentials, a range.
    const curl = spawnSync('curl', ['-sS', '--fail', '-r', '100-199', copy]);
    expect(curl.status, String(curl.stderr)).toBe(0);
    expect(Buffer.from(curl.stdout).equals(blob.subarray(100, 200))).toBe(true);

    // A second on, a link signed afresh would expire later (1 s buckets here) than the folder's.
    await sleep(1100);
    const folder = await get(note(log.outputs.folder.location));
    expect(folder.status).toBe(200);
    const a = (folder.json.listing as any[]).find((e) => e.basename === 'a.txt');
    expect(a.location).toContain('signature=');
    // Let in on the folder's link, the listing's links expire with it: one link never yields a longer grant.
    expect(queryOf(a.location).get('expires')).toBe(queryOf(log.outputs.folder.location).get('expires'));
    expect((await get(note(a.location))).body.toString()).toBe('directory file\n');

    const listed = await as('alice').getJson(`/runs/${aliceBinary}/outputs`);
    const inner = listed.files.find((f: { path: string }) => f.path.endsWith('copy.bin'));
    expect(inner.url).toContain('signature=');
    expect((await get(note(inner.url))).body.equals(blob)).toBe(true);
  });

  it('takes credentials on the same URLs as before: the owner 200, another user 403 (the signature grants a user nothing)', async () => {
    const log = await as('alice').runLog(aliceArgv);
    const url = note(log.outputs.out.location);
    expect((await get(url, { authorization: `Bearer ${USERS.alice}` })).status).toBe(200);
    const bob = await get(url, { authorization: `Bearer ${USERS.bob}` });
    expect(bob.status).toBe(403);
    expect(bob.json.msg).toBe(`run ${aliceArgv} belongs to another user`);
    expect((await get(url, { authorization: 'Bearer not-a-token' })).status).toBe(401);
    // Without a signature, a file still needs credentials.
    expect((await get(url.split('?')[0]!)).status).toBe(401);
  });

  it('refuses a tampered signature or expiry, and a signature moved to another path, another output or another run: 401', async () => {
    const log = await as('alice').runLog(aliceArgv);
    const bobLog = await as('bob').runLog(bobArgv);
    const output = note(log.outputs.out.location);
    const q = queryOf(output);
    const sig = q.get('signature')!;
    const flipped = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    const cases: Record<string, string> = {
      'tampered signature': withQuery(output, new URLSearchParams({ expires: q.get('expires')!, signature: flipped })),
      'later expiry': withQuery(output, new URLSearchParams({ expires: String(Number(q.get('expires')) + 3600), signature: sig })),
      'no expiry': withQuery(output, new URLSearchParams({ signature: sig })),
      'no signature': withQuery(output, new URLSearchParams({ expires: q.get('expires')! })),
      'moved to stdout': withQuery(log.run_log.stdout, q),
      'moved to another output path': withQuery(output.replace(/\/outputs\/[^?]+/, '/outputs/other.txt'), q),
      "moved to another user's run": withQuery(bobLog.outputs.out.location, q),
      "another user's run, same path": withQuery(output.replace(aliceArgv, bobArgv), q),
    };
    for (const [name, url] of Object.entries(cases)) {
      const r = await anonymous().request('GET', url);
      expect(r.status, name).toBe(401);
      expect(r.body.msg, name).toBe('the signature of this link is not valid for this run and path');
      expect(r.headers.get('www-authenticate'), name).toContain('Bearer');
    }
    // Routes other than a file's take no signature: the run, its status, tasks and outputs listing need credentials.
    for (const route of ['', '/status', '/tasks', '/outputs']) {
      const r = await anonymous().request('GET', withQuery(h.client.url(`/runs/${aliceArgv}${route}`), q));
      expect(r.status, route).toBe(401);
      expect(r.body.msg, route).toContain('this server needs credentials');
    }
    // The same output, signed for bob's run, is bob's: it works there and only there.
    expect((await get(note(bobLog.outputs.out.location))).status).toBe(200);
  });

  it('answers 401 saying the link expired once its expiry has passed, and the RunLog then gives fresh links that work', async () => {
    const log = await as('alice').runLog(aliceArgv);
    const urls = [log.run_log.stdout, log.run_log.stderr, log.outputs.out.location, log.task_logs[0].stdout].map(note);
    const expires = Number(queryOf(urls[0]!).get('expires'));
    while (Date.now() / 1000 < expires + 1) await sleep(250);
    for (const url of urls) {
      const r = await anonymous().request('GET', url);
      expect(r.status, url).toBe(401);
      expect(r.body.msg).toContain('this link has expired');
      expect(r.headers.get('www-authenticate')).toContain('Bearer');
      // With credentials the old URL still serves: the expired signature is not looked at.
      expect((await get(url, { authorization: `Bearer ${USERS.alice}` })).status).toBe(200);
    }
    const fresh = await as('alice').runLog(aliceArgv);
    expect(Number(queryOf(fresh.run_log.stdout).get('expires'))).toBeGreaterThan(expires);
    expect((await get(note(fresh.outputs.out.location))).status).toBe(200);
  });

  it("downloads the run's outputs with the wes CLI (credentials and signed URLs together)", async () => {
    const outdir = path.join(dir, 'cli-out');
    const job = path.join(dir, 'job.json');
    writeFileSync(job, JSON.stringify({ word: 'cli-signed' }));
    const tool = path.join(dir, 'argv.cwl');
    writeFileSync(tool, workflowFiles('tasks/argv.cwl')['tasks/argv.cwl']!);
    const ran = await runWes(['run', '--outdir', outdir, tool, job], { url: h.stack.origin, env: { WES_TOKEN: USERS.alice } });
    expect(ran.code, ran.stderr).toBe(0);
    expect(readFileSync(path.join(outdir, 'argv.txt'), 'utf8')).toContain('cli-signed');
  });

  it('says at start-up that links are signed and where the key comes from, and writes no signature in any line of the API or the worker', () => {
    const start = readFileSync(h.stack.api.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'authentication');
    expect(start).toMatchObject({ authMode: 'static', signedLinkTtlSeconds: TTL_SECONDS, linkKey: 'shared in Redis' });
    expect(signatures.size).toBeGreaterThan(5);
    const logs = [h.stack.api.logFile, ...h.stack.workers.map((w) => w.logFile)].map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const s of signatures) expect(logs).not.toContain(s);
    for (const token of Object.values(USERS)) expect(logs).not.toContain(token);
  });
});

describe('signed links across API restarts', () => {
  const again = useStack({ workers: 0, env: { WES_CONFIG_FILE: configFile, WES_AUTH_MODE: 'static', WES_SIGNED_LINK_TTL_SECONDS: '3600' } });

  it('still work when the API that made them has been restarted: the key is kept in Redis', async () => {
    const alice = new WesClient(again.stack.origin, { authorization: `Bearer ${USERS.alice}` });
    const runId = await alice.submitOk(argvRun('restart'));
    // Queued (no worker): its stdout is empty, but served.
    const url = note((await alice.runLog(runId)).run_log.stdout);
    expect((await get(url)).status).toBe(200);
    await again.stack.restartApi();
    const r = await get(url.replace(/^http:\/\/[^/]+/, again.stack.origin));
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
  });
});

describe('signed links with authMode none', () => {
  const open = useStack({ workers: 0, env: { WES_SIGNED_LINK_TTL_SECONDS: '600' } });

  it('are not signed: every route is open anyway', async () => {
    const runId = await open.client.submitOk(argvRun('open'));
    const log = await open.client.runLog(runId);
    expect(log.run_log.stdout).toBe(open.client.url(`/runs/${runId}/logs/stdout`));
  });
});
