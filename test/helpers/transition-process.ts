/**
 * A separate process that makes run transitions on request, for tests of what another process
 * sees of them (libs/runs TrackedRunCache). Started with `node --import tsx` and
 * `<redis url> <key prefix>`; reads lines `<message> <run id>` on stdin and, once the state
 * machine's script has answered, writes `<run id> <new state>` (or `<run id> error <message>`).
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { RunKeys, RunMessage, WorkflowStateMachine } from '../../libs/runs/src';

const [url, prefix] = process.argv.slice(2);
const redis = new Redis(url!, { maxRetriesPerRequest: null });
const machine = new WorkflowStateMachine(redis, new RunKeys(prefix!));

// One at a time, in order: each line is answered after its transition's reply.
let chain = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [message, runId] = line.trim().split(' ');
  chain = chain.then(async () => {
    try {
      const state = await machine.sendOrThrow(runId!, message as RunMessage);
      process.stdout.write(`${runId} ${state}\n`);
    } catch (err) {
      process.stdout.write(`${runId} error ${(err as Error).message.replace(/\n/g, ' ')}\n`);
    }
  });
}).on('close', () => void chain.then(() => redis.quit()));
process.stdout.write('ready\n');
