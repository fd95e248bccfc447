import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const TSX = path.join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');
const WATCHDOG = path.join(__dirname, 'shutdown-watchdog.ts');

/** Runs a child that arms the watchdog and then hangs on SIGTERM (its own listener keeps it alive). */
function child(budgetMs: number): Promise<{ code: number | null; stderr: string; ms: number }> {
  const script = `
    const { exitIfShutdownHangs } = require(${JSON.stringify(WATCHDOG)});
    exitIfShutdownHangs('test-proc', ${budgetMs});
    process.on('SIGTERM', () => { /* a shutdown that never ends */ });
    setInterval(() => undefined, 1000);
    process.stdout.write('ready\\n');
  `;
  return new Promise((resolve) => {
    const p = spawn(TSX, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let t0 = 0;
    p.stderr.on('data', (c) => (stderr += c));
    p.stdout.on('data', () => {
      t0 = Date.now();
      p.kill('SIGTERM');
    });
    p.on('exit', (code) => resolve({ code, stderr, ms: Date.now() - t0 }));
  });
}

describe('exitIfShutdownHangs', () => {
  it('ends a process whose shutdown hangs, once its budget after SIGTERM is spent', async () => {
    const r = await child(300);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('test-proc: still shutting down 300 ms after SIGTERM: exiting');
    expect(r.ms).toBeGreaterThanOrEqual(250);
  });
});
