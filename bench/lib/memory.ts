/**
 * Memory of the API and workers after a full garbage collection, for scenario 8. A preload
 * (--require through NODE_OPTIONS, as for the CPU profiles; the product is unchanged) waits for
 * SIGURG, then asks V8 for a full collection through the in-process inspector and writes
 * `process.memoryUsage()` to <dir>/mem.<pid>.json. A single RSS read after a load mostly says
 * when the last collection happened; after a full one, what is still held is what is left.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PRELOAD = `
const { Session } = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');
let session;
process.on('SIGURG', () => {
  if (!session) {
    session = new Session();
    session.connect();
  }
  session.post('HeapProfiler.collectGarbage', () => {
    const m = process.memoryUsage();
    const file = path.join(process.env.BENCH_MEMORY_DIR, 'mem.' + process.pid + '.json');
    fs.writeFileSync(file + '.tmp', JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external }));
    fs.renameSync(file + '.tmp', file);
  });
});
`;

export interface MemoryAfterGc {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

export function memoryPreload(dir: string): string {
  const file = path.join(dir, 'memory-preload.cjs');
  writeFileSync(file, PRELOAD);
  return file;
}

/** Memory of each process after a full collection (null if it did not answer within 10 s). */
export async function memoryAfterGc<K extends string>(dir: string, pids: Record<K, number>): Promise<Record<K, MemoryAfterGc | null>> {
  const files = {} as Record<K, string>;
  for (const k of Object.keys(pids) as K[]) {
    files[k] = path.join(dir, `mem.${pids[k]}.json`);
    rmSync(files[k], { force: true });
    process.kill(pids[k], 'SIGURG');
  }
  const out = {} as Record<K, MemoryAfterGc | null>;
  const deadline = Date.now() + 10_000;
  for (const k of Object.keys(pids) as K[]) {
    while (!existsSync(files[k]) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    out[k] = existsSync(files[k]) ? (JSON.parse(readFileSync(files[k], 'utf8')) as MemoryAfterGc) : null;
  }
  return out;
}
