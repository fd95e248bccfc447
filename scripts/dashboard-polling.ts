/**
 * What the dashboard's polling costs the API: for each request an open page repeats (the runs
 * list every 3 s; a run's RunLog and tasks every 2 s and its two logs every second while it
 * runs; service-info every 5 s), the bytes of the answer, whether the API sends an ETag (the
 * page would then poll with If-None-Match), and its latency (p50/p95 over --requests
 * sequential requests), on one API over a private redis-server holding --runs queued runs.
 *
 * Usage: npm run build && npx tsx scripts/dashboard-polling.ts [--runs 200] [--requests 300]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startPrivateRedis } from './lib/proc';
import { cleanEnv, ROOT, summary, tailOf, WES_BASE, WesProcesses } from './lib/wes-stack';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '200' }, requests: { type: 'string', default: '300' } } });
const RUNS = Number(opt.runs);
const REQUESTS = Number(opt.requests);
const TOOL = 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: "true"\ninputs: []\noutputs: []\n';

async function main() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wes-dashboard-polling-'));
  const redis = await startPrivateRedis(root, root);
  const procs = new WesProcesses(
    ROOT,
    { ...cleanEnv(), REDIS_URL: redis.url, WES_KEY_PREFIX: 'poll', WES_QUEUE_NAME: 'poll-runs', WES_HOST: '127.0.0.1', WES_PORT: String(await freePort()), WES_DATA_DIR: path.join(root, 'data'), WES_WORK_DIR: path.join(root, 'work'), LOG_LEVEL: 'warn' },
    root,
    root,
  );
  const api = procs.startApi();
  try {
    if (!(await procs.waitApi(api))) throw new Error(`the API did not start: ${tailOf(api.logFile)}`);
    let runId = '';
    for (let i = 0; i < RUNS; i++) {
      const form = new FormData();
      for (const [k, v] of Object.entries({ workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_url: 'tool.cwl', tags: JSON.stringify({ project: `p${i % 7}` }) })) form.append(k, v);
      form.append('workflow_attachment', new Blob([TOOL]), 'tool.cwl');
      const res = await fetch(`${procs.api}/runs`, { method: 'POST', body: form });
      runId = ((await res.json()) as { run_id: string }).run_id;
    }
    const polls: [string, string, Record<string, string>?][] = [
      ['runs list (20 a page), every 3 s', '/runs?page_size=20'],
      ['RunLog, every 2 s', `/runs/${runId}`],
      ['tasks, every 2 s', `/runs/${runId}/tasks?page_size=100`],
      ['stderr from its end (nothing new), every 1 s', `/runs/${runId}/logs/stderr`, { range: 'bytes=0-' }],
      ['service-info, every 5 s', '/service-info'],
    ];
    process.stdout.write(`dashboard polling: ${RUNS} runs stored, ${REQUESTS} sequential requests each\n`);
    process.stdout.write('| request | bytes | ETag | p50 | p95 |\n|---|---|---|---|---|\n');
    for (const [name, p, headers] of polls) {
      const times: number[] = [];
      let bytes = 0;
      let etag: string | null = null;
      for (let i = 0; i < REQUESTS; i++) {
        const t0 = performance.now();
        const res = await fetch(`${procs.origin}${WES_BASE}${p}`, { headers });
        bytes = (await res.arrayBuffer()).byteLength;
        times.push(performance.now() - t0);
        etag = res.headers.get('etag');
      }
      const s = summary(times);
      process.stdout.write(`| ${name} | ${bytes} | ${etag ? 'yes' : 'no'} | ${s.p50} ms | ${s.p95} ms |\n`);
    }
  } finally {
    await api.stop();
    await redis.proc.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`dashboard-polling: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
