/** Request bodies the scenarios send. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BENCH_DIR } from './harness';
import { multipartBody } from './load';

export const workflowFile = (name: string) => path.join(BENCH_DIR, 'workflows', name);

/**
 * The small submission of scenarios 1, 4, 6 and 8: the RunRequest fields as text parts and one
 * attachment (hello.cwl, ~300 bytes), as curl -F would send them.
 */
export function helloSubmission(tag: string, params: Record<string, unknown> = { message: 'hello' }) {
  return multipartBody(
    [
      ['workflow_type', 'CWL'],
      ['workflow_type_version', 'v1.2'],
      ['workflow_url', 'hello.cwl'],
      ['workflow_params', JSON.stringify(params)],
      ['tags', JSON.stringify({ bench: tag })],
    ],
    [{ field: 'workflow_attachment', filename: 'hello.cwl', content: readFileSync(workflowFile('hello.cwl')) }],
  );
}

/** Submits one run; returns its id (throws on anything but 200). */
export async function submit(base: string, sub: { body: Buffer; contentType: string }): Promise<string> {
  const res = await fetch(`${base}/runs`, {
    method: 'POST',
    headers: { 'content-type': sub.contentType },
    body: sub.body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /runs: ${res.status} ${text}`);
  return (JSON.parse(text) as { run_id: string }).run_id;
}

/** DELETE /runs/{id} (this server's extension), which must succeed. */
export async function deleteRun(base: string, runId: string): Promise<void> {
  const res = await fetch(`${base}/runs/${runId}`, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`DELETE /runs/${runId}: ${res.status} ${text}`);
}

/** Kept-alive connections for the status polls of the scenarios (see runState). */
const pollAgent = new http.Agent({ keepAlive: true });

/**
 * GET /runs/{id}/status through node:http on a kept-alive connection: a poll loop runs on the
 * machine it measures, and fetch (undici, WHATWG streams) costs the polling process several
 * times the CPU of a plain request, CPU taken from the engine being timed.
 */
export function runState(base: string, runId: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/runs/${runId}/status`, { agent: pollAgent, timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          const body = JSON.parse(text) as { state?: string };
          if (res.statusCode !== 200 || !body.state) throw new Error(`GET status of ${runId}: ${res.statusCode} ${text}`);
          resolve(body.state);
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET status of ${runId}: no answer in 30 s`)));
    req.on('error', reject);
  });
}

/** The same through fetch (what the scenarios used before issue 15). */
export async function runStateByFetch(base: string, runId: string): Promise<string> {
  const res = await fetch(`${base}/runs/${runId}/status`, { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { state?: string };
  if (res.status !== 200 || !body.state) throw new Error(`GET status of ${runId}: ${res.status} ${JSON.stringify(body)}`);
  return body.state;
}
