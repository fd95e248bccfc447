import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/wait-for';
import { EngineLauncher } from './engine-launcher';
import { groupMembers } from './process-group';

/** The real launcher program (run from its TypeScript through tsx), real processes. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-launcher-'));
const files = (name: string) => ({ cwd: dir, stdoutFile: path.join(dir, `${name}.out`), stderrFile: path.join(dir, `${name}.err`) });
const sh = (script: string) => ({ file: '/bin/sh', args: ['-c', script] });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

const waitUntil = (what: string, check: () => boolean | Promise<boolean>) => waitFor(what, check, 10_000, 50);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('EngineLauncher', () => {
  const launcher = new EngineLauncher();
  afterAll(() => {
    if (launcher.pid) process.kill(launcher.pid, 'SIGKILL');
  });

  it('starts an engine in its own group with its output in files, reports its exit code, and kills what it left behind', async () => {
    const f = files('exit');
    const engine = await launcher.launch(sh('echo out; echo err >&2; sleep 300 & echo $! > left; exit 3'), f);
    expect(engine.pid).toBeGreaterThan(0);
    expect(await engine.exited).toEqual({ exitCode: 3, signal: undefined });
    expect(readFileSync(f.stdoutFile, 'utf8')).toBe('out\n');
    expect(readFileSync(f.stderrFile, 'utf8')).toBe('err\n');
    const left = Number(readFileSync(path.join(dir, 'left'), 'utf8'));
    await waitUntil('the left-behind sleep to die', () => !alive(left));
    expect(await groupMembers(engine.pid)).toEqual([]);
  });

  it('reports an engine that cannot be started, and a signal that ended one', async () => {
    expect(await (await launcher.launch({ file: path.join(dir, 'missing'), args: [] }, files('missing'))).exited).toMatchObject({ spawnError: expect.stringMatching(/not found/) });
    const engine = await launcher.launch(sh('kill -9 $$'), files('signal'));
    expect(await engine.exited).toEqual({ exitCode: undefined, signal: 'SIGKILL' });
  });

  it('stop: the stop signal to the group, SIGKILL after the grace when it is ignored', async () => {
    const engine = await launcher.launch(sh('trap "" TERM; sleep 300 & wait'), files('stop'));
    await waitUntil('the group to hold the sleep', async () => (await groupMembers(engine.pid)).length === 2);
    expect(await engine.stop('SIGTERM', 300)).toBe(true);
    expect(await groupMembers(engine.pid)).toEqual([]);
    expect(await engine.exited).toEqual({ exitCode: undefined, signal: 'SIGKILL' });
  });

  it('a launcher that dies: its engines end as lost with their groups killed, and the next launch starts a new launcher', async () => {
    const engine = await launcher.launch(sh('sleep 300 & wait'), files('lost'));
    await waitUntil('the group to hold the sleep', async () => (await groupMembers(engine.pid)).length === 2);
    const first = launcher.pid!;
    process.kill(first, 'SIGKILL');
    expect(await engine.exited).toMatchObject({ lost: expect.stringMatching(/launcher ended \(SIGKILL\)/) });
    await waitUntil('the orphaned group to die', async () => (await groupMembers(engine.pid)).length === 0);
    const next = await launcher.launch(sh('exit 0'), files('next'));
    expect(await next.exited).toEqual({ exitCode: 0, signal: undefined });
    expect(launcher.pid).toBeDefined();
    expect(launcher.pid).not.toBe(first);
  });
});

describe('a worker killed with SIGKILL', () => {
  it('takes its engine groups with it: its launcher stops them (stop signal, then SIGKILL after the grace) and exits', async () => {
    const script = path.join(dir, 'worker.ts');
    writeFileSync(
      script,
      `import { EngineLauncher } from ${JSON.stringify(path.join(__dirname, 'engine-launcher'))};
const launcher = new EngineLauncher();
const o = (n: string) => ({ cwd: ${JSON.stringify(dir)}, stdoutFile: ${JSON.stringify(dir)} + '/' + n + '.out', stderrFile: ${JSON.stringify(dir)} + '/' + n + '.err', stopSignal: 'SIGTERM' as const, killAfterMs: 300 });
void (async () => {
  const polite = await launcher.launch({ file: '/bin/sh', args: ['-c', 'sleep 300 & wait'] }, o('polite'));
  const stubborn = await launcher.launch({ file: '/bin/sh', args: ['-c', 'trap "" TERM; sleep 300 & wait'] }, o('stubborn'));
  console.log(JSON.stringify({ launcher: launcher.pid, groups: [polite.pid, stubborn.pid] }));
})();
`,
    );
    const worker = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      worker.stdout.once('data', (b: Buffer) => resolve(b.toString()));
      worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) before starting its engines`)));
    });
    const { launcher, groups } = JSON.parse(line) as { launcher: number; groups: number[] };
    for (const g of groups) await waitUntil('the group to hold its sleep', async () => (await groupMembers(g)).length === 2);
    worker.kill('SIGKILL');
    for (const g of groups) await waitUntil(`group ${g} to die`, async () => (await groupMembers(g)).length === 0);
    await waitUntil('the launcher to exit', () => !alive(launcher));
  });
});
