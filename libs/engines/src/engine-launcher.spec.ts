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
const files = (name: string) => ({ cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdoutFile: path.join(dir, `${name}.out`), stderrFile: path.join(dir, `${name}.err`) });
const sh = (script: string) => ({ file: '/bin/sh', args: ['-c', script] });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

const waitUntil = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) => waitFor(what, check, timeoutMs, 50);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  it('close: the launcher kills every group it holds at once, a stop waiting out its grace included, and exits; nothing starts after', async () => {
    const own = new EngineLauncher();
    const stubborn = await own.launch(sh('trap "" TERM INT; sleep 300 & wait'), files('close-stubborn'));
    const plain = await own.launch(sh('sleep 300 & wait'), files('close-plain'));
    for (const e of [stubborn, plain]) await waitUntil('the group to hold its sleep', async () => (await groupMembers(e.pid)).length === 2);
    const launcherPid = own.pid!;
    const stopping = stubborn.stop('SIGTERM', 60_000);
    await sleep(200);
    const t0 = Date.now();
    await own.close();
    expect(Date.now() - t0).toBeLessThan(3_000);
    for (const e of [stubborn, plain]) expect(await groupMembers(e.pid)).toEqual([]);
    expect(alive(launcherPid)).toBe(false);
    expect(await stopping).toBe(true);
    expect(await plain.exited).toMatchObject({ lost: 'the worker is shutting down' });
    expect(await (await own.launch(sh('exit 0'), files('after-close'))).exited).toEqual({ spawnError: 'the worker is shutting down' });
  });
});

/** A secret in the environment of the fake worker below: it must reach neither its launcher nor its engines. */
const SECRET = `secret-${process.pid}-${Math.random().toString(36).slice(2)}`;

/**
 * A worker of its own (a Node process running an EngineLauncher), with a secret in its
 * environment as REDIS_URL and S3 keys are in a real worker's; it starts two engines (one
 * ignoring SIGTERM and SIGINT) with a 60 s grace, asks the stubborn one to stop, and prints its
 * launcher's pid and the engines'.
 */
async function startFakeWorker(): Promise<{ worker: ReturnType<typeof spawn>; launcher: number; groups: number[] }> {
  const script = path.join(dir, 'worker.ts');
  writeFileSync(
    script,
    `import { EngineLauncher } from ${JSON.stringify(path.join(__dirname, 'engine-launcher'))};
const launcher = new EngineLauncher();
const o = (n: string) => ({ cwd: ${JSON.stringify(dir)}, env: { PATH: '/usr/bin:/bin' }, stdoutFile: ${JSON.stringify(dir)} + '/' + n + '.out', stderrFile: ${JSON.stringify(dir)} + '/' + n + '.err', stopSignal: 'SIGTERM' as const, killAfterMs: 60_000 });
void (async () => {
  const polite = await launcher.launch({ file: '/bin/sh', args: ['-c', 'sleep 300 & wait'] }, o('polite'));
  const stubborn = await launcher.launch({ file: '/bin/sh', args: ['-c', 'trap "" TERM INT; sleep 300 & wait'] }, o('stubborn'));
  void stubborn.stop('SIGTERM', 60_000);
  console.log(JSON.stringify({ launcher: launcher.pid, groups: [polite.pid, stubborn.pid] }));
})();
`,
  );
  const env = { ...process.env, REDIS_URL: `redis://:${SECRET}@127.0.0.1:1`, AWS_SECRET_ACCESS_KEY: SECRET };
  const worker = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    worker.stdout!.once('data', (b: Buffer) => resolve(b.toString()));
    worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) before starting its engines`)));
  });
  const { launcher, groups } = JSON.parse(line) as { launcher: number; groups: number[] };
  for (const g of groups) await waitUntil('the group to hold its sleep', async () => (await groupMembers(g)).length === 2);
  return { worker, launcher, groups };
}

describe('a worker killed with SIGKILL', () => {
  it('takes its engine groups with it at once (SIGKILL, not the 60 s grace, a stop under way included); its launcher exits', async () => {
    const { worker, launcher, groups } = await startFakeWorker();
    // Its stop signal reached the stubborn engine, which ignores it.
    await sleep(200);
    const killedAt = Date.now();
    worker.kill('SIGKILL');
    for (const g of groups) await waitUntil(`group ${g} to die`, async () => (await groupMembers(g)).length === 0, 3_000);
    await waitUntil('the launcher to exit', () => !alive(launcher), 3_000);
    console.log(`launcher: engine groups gone ${Date.now() - killedAt} ms after the worker's SIGKILL (grace 60 s)`);
  });

  it("the launcher's environment (/proc/<pid>/environ, readable by an engine of the same user) holds nothing of the worker's, the engines' only what they were given", async () => {
    const { worker, launcher, groups } = await startFakeWorker();
    try {
      const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      expect(environ(launcher).join('\n')).not.toContain(SECRET);
      expect(environ(launcher).some((v) => v.startsWith('REDIS_URL=') || v.startsWith('AWS_SECRET_ACCESS_KEY='))).toBe(false);
      for (const g of groups) expect(environ(g)).toEqual(['PATH=/usr/bin:/bin']);
    } finally {
      worker.kill('SIGKILL');
      for (const g of groups) await waitUntil(`group ${g} to die`, async () => (await groupMembers(g)).length === 0, 3_000);
    }
  });
});
