/**
 * Baseline of scenarios 4 and 6: a bare BullMQ Worker on the same Redis as the product, made by
 * RunQueue (the product's job and worker options, BullMQ's default 30 s lock).
 *
 *   BENCH_MODE=record  the processor appends "<epoch seconds.micro> <job id>" to BENCH_RECORD_FILE the
 *                      moment it is called (scenario 4: Queue.add → processor called)
 *   BENCH_MODE=spawn   the processor spawns `true` and waits for it, then INCRs BENCH_DONE_KEY
 *                      (scenario 6: jobs that each spawn `true`)
 *
 * Env: REDIS_URL, BENCH_QUEUE, BENCH_CONCURRENCY, BENCH_MODE, BENCH_RECORD_FILE,
 * BENCH_DONE_KEY.
 */
import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { baselineQueue } from '../lib/baseline-queue';

const env = process.env;
const mode = env.BENCH_MODE ?? 'record';
const epochMs = () => performance.timeOrigin + performance.now();

async function main() {
  const counter = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null, connectionName: 'baseline-bull-counter' });
  const queue = baselineQueue(env.REDIS_URL!, env.BENCH_QUEUE!, Number(env.BENCH_CONCURRENCY ?? '1'));
  const worker = queue.createWorker(
    async (jobId) => {
      if (mode === 'record') {
        appendFileSync(env.BENCH_RECORD_FILE!, `${(epochMs() / 1000).toFixed(6)} ${jobId}\n`);
        return 'done';
      }
      await new Promise<void>((resolve, reject) => {
        const child = spawn('true', [], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', () => resolve());
      });
      await counter.incr(env.BENCH_DONE_KEY!);
      return 'done';
    },
    (err) => process.stderr.write(`baseline worker error: ${err.message}\n`),
  );
  await worker.waitUntilReady();
  worker.start();
  process.stdout.write('baseline worker ready\n');
  const close = () => void worker.close().then(() => queue.close()).then(() => counter.quit()).then(() => process.exit(0));
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
}

main().catch((err) => {
  process.stderr.write(`bullmq baseline: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
