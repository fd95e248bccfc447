import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../libs/auth/src';
import { WesClient } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { FAST_RECOVERY_ENV, napForm, uniqueSeconds, waitFor } from '../helpers/recovery';
import { expectValidComponent } from '../helpers/wes-schema';

/**
 * The per-user limits through the real API and worker, with authMode static: at most 2 active
 * runs and 3 submits a minute by default; alice and bob have no submit rate limit of their own
 * (authUsers `submitsPerMinute: 0`), carol and dave no active-run limit (`maxActiveRuns: 0`).
 * A refused submit is a 429 WES ErrorResponse with Retry-After, leaves nothing in the object
 * store, and does not affect another user.
 */
const USERS = {
  alice: { submitsPerMinute: 0 },
  bob: { submitsPerMinute: 0 },
  carol: { maxActiveRuns: 0 },
  dave: { maxActiveRuns: 0 },
} as const;
type UserName = keyof typeof USERS;
const TOKENS = Object.fromEntries(Object.keys(USERS).map((u) => [u, `${u}-${randomBytes(12).toString('hex')}`])) as Record<UserName, string>;
const ACTIVE_LIMIT = 2;
const SUBMIT_LIMIT = 3;

const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-limits-e2e-'));
const configFile = path.join(dir, 'wes.yaml');
writeFileSync(
  configFile,
  JSON.stringify({
    authUsers: (Object.keys(USERS) as UserName[]).map((name) => ({ name, roles: [], tokenSha256: hashToken(TOKENS[name]), ...USERS[name] })),
  }),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const h = useStack({
  env: {
    ...FAST_RECOVERY_ENV,
    WES_CONFIG_FILE: configFile,
    WES_AUTH_MODE: 'static',
    WES_LIMIT_ACTIVE_RUNS_PER_USER: String(ACTIVE_LIMIT),
    WES_LIMIT_SUBMITS_PER_MINUTE: String(SUBMIT_LIMIT),
  },
});

const as = (user: UserName) => new WesClient(h.stack.origin, { authorization: `Bearer ${TOKENS[user]}` });
/** A run that sleeps until cancelled. */
const sleeper = () => napForm(uniqueSeconds(600));

/** Every accepted run, with its owner: the object store may hold these runs' files and no others. */
const accepted = new Map<string, UserName>();

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { run_id?: string; msg?: string; status_code?: number };
}

/**
 * POST /runs with a raw fetch (the official WES document lists no 429, so WesClient would
 * refuse it): a 429 must be a WES ErrorResponse with status_code 429.
 */
async function submit(user: UserName, body: RequestInit['body'], headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(as(user).url('/runs'), { method: 'POST', body, headers: { authorization: `Bearer ${TOKENS[user]}`, ...headers }, ...init });
  const json = (await res.json()) as Answer['body'];
  if (res.status === 200) accepted.set(json.run_id!, user);
  if (res.status === 429) {
    expectValidComponent('ErrorResponse', json, 'POST /runs → 429');
    expect(json.status_code).toBe(429);
  }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: json };
}

/**
 * A multipart submission sent but for the last 4 bytes ("--\r\n" of the closing delimiter)
 * until `release`: the API has every part by then, and waits for the end of the body.
 */
async function heldSubmission(): Promise<{ body: ReadableStream<Uint8Array>; headers: Record<string, string>; release: () => void }> {
  const request = new Request('http://wes.test/', { method: 'POST', body: sleeper() });
  const bytes = new Uint8Array(await request.arrayBuffer());
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(bytes.slice(0, bytes.length - 4));
      await released;
      controller.enqueue(bytes.slice(bytes.length - 4));
      controller.close();
    },
  });
  return { body, headers: { 'content-type': request.headers.get('content-type')! }, release };
}

/** A submit refused before its body is read: the 429 comes while the body is still held. */
async function refusedUnread(user: UserName): Promise<Answer> {
  const { body, headers, release } = await heldSubmission();
  try {
    return await submit(user, body, headers, { duplex: 'half' } as RequestInit);
  } finally {
    release();
  }
}

async function submitOk(user: UserName): Promise<string> {
  const r = await submit(user, sleeper());
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.run_id!;
}

async function cancelAndWait(user: UserName, runId: string): Promise<void> {
  expect((await as(user).cancel(runId)).status).toBe(200);
  await as(user).waitForState(runId, ['CANCELED']);
}

const runsDir = () => path.join(h.stack.dataDir, 'runs');
const storedRuns = () => (existsSync(runsDir()) ? readdirSync(runsDir()) : []);

describe('per-user limits', () => {
  const alice: string[] = [];

  it('refuses the run beyond the active-run limit with 429 and Retry-After; another user is not affected', async () => {
    alice.push(await submitOk('alice'), await submitOk('alice'));
    for (const id of alice) await as('alice').waitForState(id, ['RUNNING']);

    const refused = await refusedUnread('alice');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('30');
    expect(refused.body.msg).toContain('too many active runs: user "alice" has 2 runs not yet finished');
    expect(refused.body.msg).toContain(`at most ${ACTIVE_LIMIT}`);
    expect(refused.body.msg).toContain('only a hint');

    const bobs = await submitOk('bob');
    await cancelAndWait('bob', bobs);
  });

  it('takes the next run of the user once one of its runs is cancelled', async () => {
    await cancelAndWait('alice', alice.shift()!);
    alice.push(await submitOk('alice'));
    expect((await submit('alice', sleeper())).status).toBe(429);
  });

  it('refuses, and removes the files of, a submit that passed the first check but lost the last slot to another', async () => {
    // alice: one active run, one slot left.
    await cancelAndWait('alice', alice.pop()!);
    const before = new Set(storedRuns());
    // A submit whose body stops just before its closing delimiter: the API has checked the
    // limit and stored the attachment, and waits for the rest.
    const { body, headers, release } = await heldSubmission();
    const slow = submit('alice', body, headers, { duplex: 'half' } as RequestInit);
    const slowRun = await waitFor('the held submit to store its attachment', () => storedRuns().find((id) => !before.has(id) && existsSync(path.join(runsDir(), id, 'attachments', 'nap.cwl'))));

    alice.push(await submitOk('alice'));
    release();
    const refused = await slow;
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('30');
    expect(refused.body.msg).toContain('too many active runs: user "alice"');
    expect(accepted.has(slowRun)).toBe(false);
    expect(existsSync(path.join(runsDir(), slowRun))).toBe(false);
  });

  it(`refuses submit ${SUBMIT_LIMIT + 1} in a minute with 429 and a Retry-After of 1 to 60 s; another user is not affected`, async () => {
    const carols: string[] = [];
    for (let i = 0; i < SUBMIT_LIMIT; i++) carols.push(await submitOk('carol'));
    const refused = await refusedUnread('carol');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toMatch(/^\d+$/);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.body.msg).toContain(`too many submissions: user "carol" may submit ${SUBMIT_LIMIT} runs per minute`);
    expect(refused.body.msg).toContain(`try again in ${refused.retryAfter} s`);
    // Every submit counts, whatever its body: one that is not even a submission is refused alike.
    expect((await submit('carol', '{}', { 'content-type': 'application/json' })).status).toBe(429);

    const daves = await submitOk('dave');
    for (const id of carols) expect((await as('carol').cancel(id)).status).toBe(200);
    expect((await as('dave').cancel(daves)).status).toBe(200);
  });

  it("documents the 429 of POST /runs in the server's OpenAPI document, with Retry-After", async () => {
    const doc = yaml.load(await (await fetch(h.client.url('/openapi.yaml'))).text()) as any;
    const paths = Object.fromEntries(Object.entries(doc.paths).map(([p, ops]) => [p.replace(/^\/ga4gh\/wes\/v1(?=\/)/, ''), ops])) as any;
    const tooMany = paths['/runs'].post.responses['429'];
    expect(tooMany.headers['Retry-After'].schema.type).toBe('integer');
    expect(tooMany.content['application/json'].schema.$ref).toBe('#/components/schemas/ErrorResponse');
  });

  it('leaves in the object store the files of accepted runs only', async () => {
    for (const [id, user] of accepted) {
      await as(user).cancel(id);
      await as(user).waitForState(id, ['CANCELED']);
    }
    expect(storedRuns().sort()).toEqual([...accepted.keys()].sort());
  });

  it('logs each refusal with the user and the limit, and no credential', () => {
    const lines = readFileSync(h.stack.api.logFile, 'utf8').split('\n').filter((l) => l.includes('"action":"submit-refused"'));
    expect(lines.some((l) => l.includes('"user":"alice"') && l.includes('"limit":"maxActiveRuns"'))).toBe(true);
    expect(lines.some((l) => l.includes('"user":"carol"') && l.includes('"limit":"submitsPerMinute"'))).toBe(true);
    const all = readFileSync(h.stack.api.logFile, 'utf8');
    for (const token of Object.values(TOKENS)) expect(all).not.toContain(token);
  });
});
