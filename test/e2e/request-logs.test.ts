import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { hashPassword, hashToken } from '../../libs/auth/src';
import { runForm, WesClient, workflowFiles } from '../helpers/client';
import { useStack } from '../helpers/e2e';
import { getJson } from '../helpers/ops';

/**
 * Request logs of a real API process, read from its stdout: one line per request with method,
 * route template, status, duration, request id and user; the id is the client's sane
 * x-request-id (else a new one) and comes back on every response, errors included. A bearer
 * token, a Basic password, a signed link's signature and the metrics token never reach a line
 * of the API or the worker. Every line naming a run carries its runId; the worker logs the
 * engine's command once per run.
 */
const TOKEN = `alice-token-${randomBytes(12).toString('hex')}`;
const PASSWORD = `alice-pw-${randomBytes(12).toString('hex')}`;
const METRICS_TOKEN = `metrics-${randomBytes(12).toString('hex')}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-reqlog-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const h = useStack(async () => {
  const configFile = path.join(dir, 'wes.yaml');
  // A low scrypt cost keeps the test quick (the server reads N, r, p from the hash).
  const passwordScrypt = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 });
  writeFileSync(configFile, JSON.stringify({ authUsers: [{ name: 'alice', roles: [], tokenSha256: hashToken(TOKEN), passwordScrypt }] }));
  return { env: { WES_CONFIG_FILE: configFile, WES_AUTH_MODE: 'static', WES_SIGNED_LINK_TTL_SECONDS: '600', WES_METRICS_TOKEN: METRICS_TOKEN } };
});
const alice = () => new WesClient(h.stack.origin, { authorization: `Bearer ${TOKEN}` });

interface LogLine {
  msg: string;
  reqId?: string;
  method?: string;
  route?: string;
  url?: string;
  status?: number;
  ms?: number;
  user?: string;
  runId?: string;
  cmd?: string[];
  afterExitMs?: number;
}
const linesOf = (file: string): LogLine[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

/** The request line with this id (lines are written as the response ends: waits a little). */
async function requestLine(reqId: string): Promise<LogLine> {
  for (let i = 0; i < 50; i++) {
    const line = linesOf(h.stack.api.logFile).find((l) => l.msg === 'request' && l.reqId === reqId);
    if (line) return line;
    await sleep(100);
  }
  throw new Error(`no request line with reqId ${reqId}`);
}

describe('request logs and request ids', () => {
  const secrets: string[] = [TOKEN, PASSWORD, METRICS_TOKEN];
  let runId = '';

  it("logs one line per request with method, route, status, duration, the client's request id and the user", async () => {
    const r = await alice().request('GET', '/runs', { headers: { 'x-request-id': 'client-id-1.2_3' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toBe('client-id-1.2_3');
    const line = await requestLine('client-id-1.2_3');
    expect(line).toMatchObject({ method: 'GET', route: '/ga4gh/wes/v1/runs', url: '/ga4gh/wes/v1/runs', status: 200, user: 'alice' });
    expect(line.ms).toBeTypeOf('number');
  });

  it('makes a new id for a missing or insane x-request-id, and returns it on errors too', async () => {
    const bad = await fetch(`${h.stack.origin}/ga4gh/wes/v1/runs`, { headers: { 'x-request-id': 'has spaces and "quotes"' } });
    expect(bad.status).toBe(401);
    const id = bad.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await requestLine(id)).status).toBe(401);
    expect((await requestLine(id)).user).toBeUndefined();
    for (const [url, status] of [
      [`${h.stack.origin}/ga4gh/wes/v1/nowhere`, 404],
      [`${h.stack.origin}/ga4gh/wes/v1/runs/%E0%A4%A`, 400],
      [`${h.stack.origin}/ga4gh/wes/v1/runs?page_size=-1`, 401],
    ] as const) {
      const res = await fetch(url);
      expect(res.status, url).toBe(status);
      const rid = res.headers.get('x-request-id');
      expect(rid ?? `none for ${url}`, `x-request-id of ${url}`).toMatch(/^[0-9a-f-]{36}$/);
      expect((await requestLine(rid!)).status).toBe(status);
    }
    const basic = await fetch(`${h.stack.origin}/ga4gh/wes/v1/runs`, { headers: { authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`, 'x-request-id': 'basic-1' } });
    expect(basic.status).toBe(200);
    expect((await requestLine('basic-1')).user).toBe('alice');
    // /metrics wants its token; health endpoints are public.
    expect((await getJson(`${h.stack.origin}/metrics`)).status).toBe(401);
    expect((await fetch(`${h.stack.origin}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${h.stack.origin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
    expect((await getJson(`${h.stack.origin}/healthz`)).status).toBe(200);
  });

  it('never writes a token, a password or a signed link signature; every line naming a run carries its runId', async () => {
    runId = await alice().submitOk(
      runForm({ workflow_url: 'sleep.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.1', workflow_params: { seconds: 1 }, attachments: workflowFiles('sleep.cwl') }),
    );
    await alice().waitForState(runId, ['COMPLETE']);
    const log = await alice().runLog(runId);
    const stdoutUrl: string = log.run_log.stdout;
    const signature = new URL(stdoutUrl).searchParams.get('signature');
    expect(signature, stdoutUrl).toBeTruthy();
    secrets.push(signature!);
    const res = await fetch(stdoutUrl, { headers: { 'x-request-id': 'signed-1' } });
    expect(res.status).toBe(200);
    const line = await requestLine('signed-1');
    expect(line.url).toContain('signature=[Redacted]');
    expect(line.runId).toBe(runId);

    await sleep(500);
    const files = [h.stack.api.logFile, ...h.stack.workers.map((w) => w.logFile)];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const secret of secrets) expect(text.includes(secret), `${path.basename(file)} holds a secret`).toBe(false);
      for (const l of linesOf(file)) {
        if (JSON.stringify(l).includes(runId)) expect(l.runId, `${path.basename(file)}: ${JSON.stringify(l)}`).toBe(runId);
      }
    }
    const worker = linesOf(h.stack.workers[0]!.logFile).filter((l) => l.runId === runId);
    const started = worker.filter((l) => l.msg === 'engine started');
    expect(started).toHaveLength(1);
    expect(started[0]!.cmd!.some((a) => a.endsWith('/sleep.cwl')), JSON.stringify(started[0]!.cmd)).toBe(true);
    expect(worker.map((l) => l.msg)).toEqual(expect.arrayContaining(['initializing', 'engine started', 'engine exited', 'run ended']));
    // What the worker spent after the engine's own exit (logs, tasks): a step trace splits the run with it.
    const exited = worker.find((l) => l.msg === 'engine exited');
    expect(exited?.afterExitMs, JSON.stringify(exited)).toBeGreaterThanOrEqual(0);
  });
});
