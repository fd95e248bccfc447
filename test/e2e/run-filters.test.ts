import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_STATES } from '../../libs/runs/src';
import { runForm, WesClient, workflowFiles } from '../helpers/client';
import { uniqueNumber, useStack } from '../helpers/e2e';
import { staticUsers } from '../helpers/static-users';

/**
 * GET /runs?state=...&tag=key:value (the filters of issue 13) through the real API and worker,
 * in authMode static: runs of two users in COMPLETE, EXECUTOR_ERROR, RUNNING, QUEUED and
 * CANCELED (one worker slot, held by a sleeping run, keeps the later ones QUEUED).
 */
const users = staticUsers({ alice: {}, bob: {}, root: { admin: true } });
const h = useStack({ workerConcurrency: 1, cancelGraceMs: 500, env: users.env });
const as = (user: 'alice' | 'bob' | 'root') => users.as(h.stack.origin, user);

const argv = (word: string, tags: Record<string, string>) =>
  runForm({ workflow_url: 'tasks/argv.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: { word }, tags, attachments: workflowFiles('tasks/argv.cwl') });
const failing = (tags: Record<string, string>) =>
  runForm({ workflow_url: 'fail.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.0', workflow_params: { marker: 'filters' }, tags, attachments: workflowFiles('fail.cwl') });
const sleeping = (tags: Record<string, string>) =>
  runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds: uniqueNumber() }, tags, attachments: workflowFiles('sleep.cwl') });

/** The runs of this file, by name, with their owner, final state and tags. */
const runs: Record<string, { id: string; owner: string; state: string; tags: Record<string, string> }> = {};
const ODD_TAGS = { 'a b': '{x}*:y', project: 'odd' };

async function submit(name: string, owner: 'alice' | 'bob', form: FormData, tags: Record<string, string>, state: string) {
  const id = await as(owner).submitOk(form);
  runs[name] = { id, owner, state, tags };
  if (state !== 'QUEUED' && state !== 'RUNNING') await as(owner).waitForState(id, [state]);
  return id;
}

beforeAll(async () => {
  await submit('a1', 'alice', argv('a1', { project: 'p1', kind: 'argv' }), { project: 'p1', kind: 'argv' }, 'COMPLETE');
  await submit('a2', 'alice', failing({ project: 'p1', kind: 'fail' }), { project: 'p1', kind: 'fail' }, 'EXECUTOR_ERROR');
  await submit('b1', 'bob', argv('b1', { project: 'p1', kind: 'argv' }), { project: 'p1', kind: 'argv' }, 'COMPLETE');
  await submit('a3', 'alice', argv('a3', ODD_TAGS), ODD_TAGS, 'COMPLETE');
  const sleeper = await submit('s1', 'alice', sleeping({ project: 'p2' }), { project: 'p2' }, 'RUNNING');
  await as('alice').waitForState(sleeper, ['RUNNING']);
  await submit('q1', 'alice', sleeping({ project: 'p1' }), { project: 'p1' }, 'QUEUED');
  await submit('q2', 'bob', sleeping({ project: 'p2' }), { project: 'p2' }, 'QUEUED');
  const canceled = await submit('c1', 'bob', sleeping({ project: 'p1' }), { project: 'p1' }, 'QUEUED');
  expect((await as('bob').cancel(canceled)).status).toBe(200);
  await as('bob').waitForState(canceled, ['CANCELED']);
  runs.c1.state = 'CANCELED';
}, 300_000);

afterAll(async () => {
  for (const r of Object.values(runs)) await as('root').cancel(r.id).catch(() => undefined);
});

/** Every run a filtered list gives, following the tokens, `size` a page; checks each page's shape. */
async function list(client: WesClient, query: Record<string, string | string[]>, size = 100): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let token = '';
  let pages = 0;
  do {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
    q.set('page_size', String(size));
    if (token) q.set('page_token', token);
    const body = await client.getJson(`/runs?${q}`);
    expect(body.runs.length).toBeLessThanOrEqual(size);
    ids.push(...body.runs.map((r: { run_id: string }) => r.run_id));
    token = body.next_page_token;
    pages++;
    expect(pages).toBeLessThan(50);
  } while (token);
  return { ids, pages };
}

/** The ids of this file's runs that `pick` selects, newest first (ids are time-ordered). */
const expected = (pick: (r: (typeof runs)[string]) => boolean) =>
  Object.values(runs)
    .filter(pick)
    .map((r) => r.id)
    .sort()
    .reverse();

describe('GET /runs filtered by state', () => {
  it('one state: exactly the runs in it, newest first, each listed with that state', async () => {
    for (const state of ['COMPLETE', 'EXECUTOR_ERROR', 'RUNNING', 'QUEUED', 'CANCELED']) {
      expect((await list(as('root'), { state })).ids, state).toEqual(expected((r) => r.state === state));
    }
    const body = await as('root').getJson('/runs?state=COMPLETE');
    expect(body.runs.map((r: { state: string }) => r.state)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE']);
    expect((await list(as('root'), { state: 'SYSTEM_ERROR' })).ids).toEqual([]);
  });

  it('repeated (or comma-separated): the runs in any of them', async () => {
    const finished = expected((r) => ['COMPLETE', 'EXECUTOR_ERROR', 'CANCELED'].includes(r.state));
    expect((await list(as('root'), { state: ['COMPLETE', 'EXECUTOR_ERROR', 'CANCELED'] })).ids).toEqual(finished);
    expect((await list(as('root'), { state: 'COMPLETE,EXECUTOR_ERROR,CANCELED' })).ids).toEqual(finished);
  });

  it('pages through a filter one run a page, with no run twice or missed', async () => {
    const active = expected((r) => r.state === 'QUEUED' || r.state === 'RUNNING');
    const paged = await list(as('root'), { state: ['QUEUED', 'RUNNING'] }, 1);
    expect(paged.ids).toEqual(active);
    expect(paged.pages).toBe(active.length);
    const tagged = await list(as('root'), { tag: 'project:p1' }, 2);
    expect(tagged.ids).toEqual(expected((r) => r.tags.project === 'p1'));
  });
});

describe('GET /runs filtered by tag', () => {
  it('one tag: the runs carrying it; several: the runs carrying all (AND)', async () => {
    expect((await list(as('root'), { tag: 'project:p1' })).ids).toEqual(expected((r) => r.tags.project === 'p1'));
    expect((await list(as('root'), { tag: ['project:p1', 'kind:argv'] })).ids).toEqual(expected((r) => r.tags.project === 'p1' && r.tags.kind === 'argv'));
    expect((await list(as('root'), { tag: ['project:p1', 'kind:none'] })).ids).toEqual([]);
    expect((await list(as('root'), { tag: 'project:p1', state: 'COMPLETE' })).ids).toEqual(expected((r) => r.tags.project === 'p1' && r.state === 'COMPLETE'));
  });

  it('matches keys and values with spaces, braces, stars and colons exactly (the key ends at the first colon)', async () => {
    expect((await list(as('root'), { tag: 'a b:{x}*:y' })).ids).toEqual([runs.a3.id]);
    expect((await list(as('root'), { tag: ['a b:{x}*:y', 'project:odd'] })).ids).toEqual([runs.a3.id]);
    expect((await list(as('root'), { tag: 'a b:{x}*' })).ids).toEqual([]);
    expect((await list(as('root'), { tag: 'a:b:{x}*:y' })).ids).toEqual([]);
    const body = await as('root').getJson(`/runs?${new URLSearchParams({ tag: 'project:odd' })}`);
    expect(body.runs[0].tags).toEqual(ODD_TAGS);
  });
});

describe('GET /runs filters and users', () => {
  it("a user's filtered list holds only its own runs; the admin's holds everyone's", async () => {
    expect((await list(as('alice'), { tag: 'project:p1' })).ids).toEqual(expected((r) => r.owner === 'alice' && r.tags.project === 'p1'));
    expect((await list(as('bob'), { tag: 'project:p1' })).ids).toEqual(expected((r) => r.owner === 'bob' && r.tags.project === 'p1'));
    expect((await list(as('bob'), { state: 'COMPLETE' })).ids).toEqual([runs.b1.id]);
    expect((await list(as('bob'), { state: 'COMPLETE' }, 1)).ids).toEqual([runs.b1.id]);
    expect((await list(as('alice'), { state: ['QUEUED', 'CANCELED'] })).ids).toEqual([runs.q1.id]);
    expect((await list(as('bob'), { tag: 'project:odd' })).ids).toEqual([]);
    expect((await list(as('root'), { state: ['QUEUED', 'CANCELED'] })).ids).toEqual(expected((r) => r.state === 'QUEUED' || r.state === 'CANCELED'));
  });
});

describe('GET /runs with bad filters', () => {
  const bad: [string, string][] = [
    ['state=FINISHED', 'state: "FINISHED" is not a WES state'],
    ['state=complete', 'state: "complete" is not a WES state'],
    ['state=COMPLETE&state=', 'state: "" is not a WES state'],
    ['tag=project', 'tag: "project" is not key:value'],
    ['tag=:p1', 'tag: ":p1" is not key:value'],
    [`tag=k:${'v'.repeat(129)}`, 'cannot be filtered on'],
    [`tag=${'k'.repeat(129)}:v`, 'cannot be filtered on'],
    ['state=COMPLETE&page_token=not-ours', 'page_token'],
  ];
  it.each(bad)('%s is a 400 naming the problem', async (query, message) => {
    const r = await as('root').request('GET', `/runs?${query}`);
    expect(r.status).toBe(400);
    expect(r.body.status_code).toBe(400);
    expect(r.body.msg).toContain(message);
  });

  it('every WES state name is accepted', async () => {
    for (const state of RUN_STATES) expect((await as('root').request('GET', `/runs?state=${state}`)).status, state).toBe(200);
  });
});
