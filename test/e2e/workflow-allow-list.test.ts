import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../libs/auth/src';
import { RunSpec, runForm, WesClient, workflowFiles } from '../helpers/client';
import { TWO_STEP_FILES, useStack } from '../helpers/e2e';
import { startHttpServer, TestHttpServer } from '../helpers/http-server';
import type { StackOptions } from '../helpers/stack';
import { buildZip } from '../helpers/zip';

/**
 * The workflow allow-list through the real API and worker, with static users of different
 * roles: attached workflows allowed by the sha256 of every document (one changed import is
 * refused), URL workflows by prefix (served here over http on loopback), a Dockstore-style TRS
 * URL by tool id, an entry for one role only. A refused run is a 403 that says why, and leaves
 * no run and no file behind. service-info lists the entries.
 */
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const TOKENS = { alice: `alice-${randomBytes(12).toString('hex')}`, bob: `bob-${randomBytes(12).toString('hex')}` };
const TWO_STEP = workflowFiles(...TWO_STEP_FILES);
const ARGV = workflowFiles('tasks/argv.cwl');
const TOOL_ID = '#workflow/github.com/org/two-step';
/** A TRS server at <origin>/api: the descriptor URLs of a version of the tool. */
const descriptorPath = (version: string) => `/api/ga4gh/trs/v2/tools/${encodeURIComponent(TOOL_ID)}/versions/${version}/PLAIN_CWL/descriptor`;
/** What the Dockstore CLI sends as workflow_url: the primary descriptor's path escaped as one segment. */
const trsUrl = (origin: string, version: string) => `${origin}${descriptorPath(version)}/${encodeURIComponent('/main.cwl')}`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-allow-list-e2e-'));
const configFile = path.join(dir, 'wes.yaml');
let http: TestHttpServer;
const options: StackOptions = {};

beforeAll(async () => {
  http = await startHttpServer();
  for (const [name, attached] of Object.entries(TWO_STEP)) {
    // Not the attached bytes: the sha256 entry must not be what lets these run.
    const text = `${attached}# served over http\n`;
    http.set(`/wf/${name}`, text);
    http.set(`/elsewhere/${name}`, text);
    // The primary descriptor as the CLI names it; the tools where main.cwl's relative references lead.
    for (const version of ['v1', 'v2']) http.set(`${descriptorPath(version)}/${name === 'main.cwl' ? encodeURIComponent('/main.cwl') : name}`, text);
  }
  // A URL under the prefix that redirects out of it.
  http.set('/wf/moved.cwl', { status: 302, headers: { location: `${http.origin}/elsewhere/main.cwl` } });
  writeFileSync(
    configFile,
    JSON.stringify({
      authUsers: [
        { name: 'alice', roles: ['analyst'], tokenSha256: hashToken(TOKENS.alice) },
        { name: 'bob', roles: ['team'], tokenSha256: hashToken(TOKENS.bob) },
      ],
      workflowAllowList: [
        { name: 'two-step', sha256: TWO_STEP_FILES.map((f) => sha(TWO_STEP[f])) },
        { name: 'hosted', urlPrefix: `${http.origin}/wf/` },
        { name: 'two-step-trs', trsId: TOOL_ID, trsVersions: ['v1'], trsServer: `${http.origin}/api` },
        { name: 'argv-for-team', roles: ['team'], sha256: [sha(ARGV['tasks/argv.cwl'])] },
      ],
    }),
  );
  options.env = { WES_CONFIG_FILE: configFile, WES_AUTH_MODE: 'static', WES_FETCH_ALLOW_CIDRS: '127.0.0.1/32' };
});
afterAll(async () => {
  await http?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const h = useStack(options);
const as = (user: keyof typeof TOKENS) => new WesClient(h.stack.origin, { authorization: `Bearer ${TOKENS[user]}` });

const INPUT = 'alpha\nbravo\n';
const twoStep = (extra: Partial<RunSpec>) =>
  runForm({ workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: { inp: { class: 'File', location: 'input.txt' } }, ...extra, attachments: { 'input.txt': INPUT, ...extra.attachments } });
const argvRun = () => runForm({ workflow_url: 'tasks/argv.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: { word: 'hi' }, attachments: ARGV });

/** The run folders in the object store (a refused run must leave none). */
const runFolders = () => {
  try {
    return readdirSync(path.join(h.stack.dataDir, 'runs')).sort();
  } catch {
    return [];
  }
};

/** Submits a run that must be refused by the allow-list: its message, after checking that nothing was left. */
async function refused(client: WesClient, form: FormData, says = "the workflow is not in this server's workflow allow-list"): Promise<string> {
  const before = runFolders();
  const listed = (await client.getJson('/runs?page_size=1000')).runs.length;
  const r = await client.submit(form);
  expect(r.status, r.text).toBe(403);
  expect(r.body.msg).toContain(says);
  expect(runFolders(), 'files left in the object store').toEqual(before);
  expect((await client.getJson('/runs?page_size=1000')).runs.length, 'a refused run was recorded').toBe(listed);
  return r.body.msg as string;
}

/** The allow-list entry the API's log says let the run in. */
function allowedBy(runId: string): string | undefined {
  const lines = readFileSync(h.stack.api.logFile, 'utf8').split('\n').filter((l) => l.includes(runId) && l.includes('allowListEntry'));
  return lines.length ? JSON.parse(lines[0]).allowListEntry : undefined;
}

/** Submits a run that must be let in by `entry` and COMPLETE; its RunLog. */
async function completes(client: WesClient, form: FormData, entry: string): Promise<any> {
  const runId = await client.submitOk(form);
  expect(allowedBy(runId)).toBe(entry);
  await client.waitForState(runId, ['COMPLETE'], 120_000, 200);
  return client.runLog(runId);
}

describe('workflow allow-list', () => {
  it('is listed in service-info (public, schema-valid), each entry with its rule and roles', async () => {
    const info = await new WesClient(h.stack.origin).getJson('/service-info');
    expect(info.workflow_allow_list).toEqual([
      { name: 'two-step', sha256: TWO_STEP_FILES.map((f) => sha(TWO_STEP[f])) },
      { name: 'hosted', url_prefix: `${http.origin}/wf/` },
      { name: 'two-step-trs', trs_id: TOOL_ID, trs_server: `${http.origin}/api`, trs_versions: ['v1'] },
      { name: 'argv-for-team', roles: ['team'], sha256: [sha(ARGV['tasks/argv.cwl'])] },
    ]);
  });

  it('runs an attached workflow whose every document is in a sha256 set, as files or as a zip', async () => {
    const [attached, zipped] = await Promise.all([
      completes(as('alice'), twoStep({ workflow_url: 'main.cwl', attachments: TWO_STEP }), 'two-step'),
      completes(as('alice'), twoStep({ workflow_url: 'wf.zip', attachments: { 'wf.zip': buildZip(TWO_STEP_FILES.map((name) => ({ name, data: TWO_STEP[name] }))) } }), 'two-step'),
    ]);
    for (const log of [attached, zipped]) expect(log.state).toBe('COMPLETE');
  });

  it('refuses it when one import changed, naming the document and its sha256', async () => {
    const changed = `${TWO_STEP['tools/rev.cwl']}# one more line\n`;
    const msg = await refused(as('alice'), twoStep({ workflow_url: 'main.cwl', attachments: { ...TWO_STEP, 'tools/rev.cwl': changed } }));
    expect(msg).toContain('rules tried: sha256, URL prefix, TRS id');
    expect(msg).toContain(`sha256: 1 of the 3 documents are in no allowed set: tools/rev.cwl (sha256 ${sha(changed)})`);
    expect(msg).toContain('URL prefix: main.cwl was attached, not fetched from a URL');
    // The same inside a zip: its unpacked files are what is judged.
    const zip = buildZip(TWO_STEP_FILES.map((name) => ({ name, data: name === 'tools/rev.cwl' ? changed : TWO_STEP[name] })));
    expect(await refused(as('alice'), twoStep({ workflow_url: 'wf.zip', attachments: { 'wf.zip': zip } }))).toContain(`tools/rev.cwl (sha256 ${sha(changed)})`);
  });

  it('refuses workflow_params that would change an allowed workflow (cwltool reads requirements and overrides from them)', async () => {
    const params = { inp: { class: 'File', location: 'input.txt' }, 'cwl:requirements': [{ class: 'EnvVarRequirement', envDef: [{ envName: 'LD_PRELOAD', envValue: 'x.so' }] }] };
    const msg = await refused(as('alice'), twoStep({ workflow_url: 'main.cwl', attachments: TWO_STEP, workflow_params: params }), 'workflow_params: "cwl:requirements" would change the workflow');
    expect(msg).toContain('may not start with $ or hold a :');
  });

  it('runs a URL workflow under an allowed prefix, and refuses one outside it or redirected out of it', async () => {
    const log = await completes(as('alice'), twoStep({ workflow_url: `${http.origin}/wf/main.cwl` }), 'hosted');
    expect(log.state).toBe('COMPLETE');
    const outside = await refused(as('alice'), twoStep({ workflow_url: `${http.origin}/elsewhere/main.cwl` }));
    expect(outside).toContain(`URL prefix: ${http.origin}/elsewhere/main.cwl: not under ${http.origin}/wf/`);
    const dotted = await refused(as('alice'), twoStep({ workflow_url: `${http.origin}/wf/%2e%2e/elsewhere/main.cwl` }));
    expect(dotted).toContain(`/wf/%2e%2e/elsewhere/main.cwl: not under ${http.origin}/wf/`);
    const moved = await refused(as('alice'), twoStep({ workflow_url: `${http.origin}/wf/moved.cwl` }));
    expect(moved).toContain(`${http.origin}/elsewhere/main.cwl: not under ${http.origin}/wf/`);
  });

  it('runs a TRS descriptor URL of an allowed tool version (as the Dockstore CLI sends it), not of another version', async () => {
    const log = await completes(as('alice'), twoStep({ workflow_url: trsUrl(http.origin, 'v1') }), 'two-step-trs');
    expect(log.state).toBe('COMPLETE');
    const other = await refused(as('alice'), twoStep({ workflow_url: trsUrl(http.origin, 'v2') }));
    expect(other).toContain(`TRS id: ${trsUrl(http.origin, 'v2')} is version v2`);
  });

  it('applies an entry with roles to callers holding one of them only', async () => {
    const log = await completes(as('bob'), argvRun(), 'argv-for-team');
    expect(log.state).toBe('COMPLETE');
    const msg = await refused(as('alice'), argvRun());
    expect(msg).toContain(`tasks/argv.cwl (sha256 ${sha(ARGV['tasks/argv.cwl'])})`);
  });
});
