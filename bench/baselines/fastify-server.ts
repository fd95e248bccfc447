/**
 * Baseline of scenarios 1 and 2: a bare Fastify 5 server (no Nest, no Redis, no logging) with
 * the product's two routes. POST /runs parses the same multipart body with @fastify/multipart
 * (every field read, the attachment read to its end) and answers a constant; GET
 * /runs/{id}/status answers constant JSON.
 *
 * Env: BENCH_PORT.
 */
import multipart from '@fastify/multipart';
import Fastify from 'fastify';

const BASE = '/ga4gh/wes/v1';

async function main() {
  const app = Fastify({ logger: false });
  await app.register(multipart);
  app.post(`${BASE}/runs`, async (req) => {
    const fields: Record<string, string> = {};
    let attachmentBytes = 0;
    for await (const part of req.parts({ preservePath: true })) {
      if (part.type === 'file') {
        for await (const chunk of part.file) attachmentBytes += (chunk as Buffer).length;
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
    if (!fields.workflow_url || attachmentBytes === 0) return { msg: 'missing parts', status_code: 400 };
    return { run_id: '01900000-0000-7000-8000-000000000000' };
  });
  app.get(`${BASE}/runs/:run_id/status`, async (req) => ({ run_id: (req.params as { run_id: string }).run_id, state: 'QUEUED' }));
  await app.listen({ port: Number(process.env.BENCH_PORT), host: '127.0.0.1' });
  process.stdout.write('baseline fastify listening\n');
  const close = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
}

main().catch((err) => {
  process.stderr.write(`fastify baseline: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
