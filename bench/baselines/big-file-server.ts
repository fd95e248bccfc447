/**
 * Baseline of scenarios 9 and 10 (local store): a bare Fastify 5 server (no Nest, no Redis, no
 * logging) with two routes. POST /upload streams every file part of a multipart body to a file
 * of its folder with @fastify/multipart (the per-part limit raised as the bench raises the
 * server's); GET /files/<name> sends a file of that folder, whole or one `Range: bytes=a-b`.
 *
 * Env: BENCH_PORT, BENCH_DIR (the folder), BENCH_MAX_PART_BYTES.
 */
import multipart from '@fastify/multipart';
import Fastify from 'fastify';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

async function main() {
  const dir = process.env.BENCH_DIR!;
  const app = Fastify({ logger: false });
  await app.register(multipart, { limits: { fileSize: Number(process.env.BENCH_MAX_PART_BYTES) } });
  app.post('/upload', async (req) => {
    let bytes = 0;
    let n = 0;
    for await (const part of req.parts()) {
      if (part.type !== 'file') continue;
      await pipeline(part.file, createWriteStream(path.join(dir, `upload-${process.pid}-${n++}`)));
      bytes += part.file.bytesRead;
      if (part.file.truncated) return { msg: 'part too large', status_code: 413 };
    }
    return { bytes };
  });
  app.get('/files/:name', async (req, reply) => {
    const file = path.join(dir, path.basename((req.params as { name: string }).name));
    const size = (await stat(file)).size;
    const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    reply.header('content-type', 'application/octet-stream');
    if (!m) {
      reply.header('content-length', size);
      return reply.send(createReadStream(file));
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), size - 1);
    reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`).header('content-length', end - start + 1);
    return reply.send(createReadStream(file, { start, end }));
  });
  await app.listen({ port: Number(process.env.BENCH_PORT), host: '127.0.0.1' });
  process.stdout.write('baseline big-file server listening\n');
  const close = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
}

main().catch((err) => {
  process.stderr.write(`big-file baseline: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
