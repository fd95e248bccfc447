/** Request bodies the scenarios send. */
import { readFileSync } from 'node:fs';
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

export async function runState(base: string, runId: string): Promise<string> {
  const res = await fetch(`${base}/runs/${runId}/status`, { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { state?: string };
  if (res.status !== 200 || !body.state) throw new Error(`GET status of ${runId}: ${res.status} ${JSON.stringify(body)}`);
  return body.state;
}
