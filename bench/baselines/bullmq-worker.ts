/**
 * Baseline of scenarios 4 and 6: a bare BullMQ Worker on the same Redis as the product.
 *
 *   BENCH_MODE=record  the processor appends "<epoch seconds.micro> <job id>" to BENCH_RECORD_FILE the
 *                      moment it is called (scenario 4: Queue.add → processor called)
 *   BENCH_MODE=spawn   the processor spawns `true` and waits for it, then INCRs BENCH_DONE_KEY
 *                      (scenario 6: jobs that each spawn `true`)
 *
 * Env: REDIS_URL, BENCH_QUEUE, BENCH_PREFIX, BENCH_CONCURRENCY, BENCH_MODE, BENCH_RECORD_FILE,
 * BENCH_DONE_KEY.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

const env = process.env;
const mode = env.BENCH_MODE ?? 'record';
const epochMs = () => performance.timeOrigin + performance.now();

async function main() {
  const counter = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null, connectionName: 'baseline-bull-counter' });
  const worker = new Worker(
    env.BENCH_QUEUE!,
    async (job) => {
      if (mode === 'record') {
        appendFileSync(env.BENCH_RECORD_FILE!, `${(epochMs() / 1000).toFixed(6)} ${job.id}\n`);
        return;
      }
      await new Promise<void>((resolve, reject) => {
        const child = spawn('true', [], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', () => resolve());
      });
      await counter.incr(env.BENCH_DONE_KEY!);
    },
    {
      connection: new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null, connectionName: 'baseline-bull-worker' }),
      prefix: env.BENCH_PREFIX,
      concurrency: Number(env.BENCH_CONCURRENCY ?? '1'),
      lockDuration: 30_000,
      stalledInterval: 30_000,
    },
  );
  worker.on('error', (err) => process.stderr.write(`baseline worker error: ${err.message}\n`));
  await worker.waitUntilReady();
  process.stdout.write('baseline worker ready\n');
  const close = () => void worker.close().then(() => counter.quit()).then(() => process.exit(0));
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
}

main().catch((err) => {
  process.stderr.write(`bullmq baseline: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
