import { readFileSync, readlinkSync } from 'node:fs';
import { expect } from 'vitest';
import { WesClient } from './client';
import { listProcesses, ProcessInfo } from './processes';
import { waitFor } from './recovery';

/*
 * Toil runs seen from the whole machine: Toil's workers start in sessions of their own, so the
 * engine's process group does not hold them; the sandbox's pid namespace does.
 */

/** The pid namespace of a process (`pid:[4026532...]`), or undefined when it is gone. */
function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** The session id of a process (field 6 of /proc/<pid>/stat). */
function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

/**
 * Every process of the machine that belongs to a run: in its sandbox's pid namespace, or naming
 * its run id (the bwrap and timeout wrappers name its scratch folder) or its tool's unique sleep.
 */
export function runProcessesOnMachine(runId: string, seconds: string, namespace: string | undefined): ProcessInfo[] {
  return listProcesses().filter(
    (p) => p.cmdline.includes(runId) || p.cmdline.includes(`sleep ${seconds}`) || (namespace !== undefined && pidNamespace(p.pid) === namespace),
  );
}

/**
 * Waits until a nap run's tool (`sleep <seconds>`) runs under a Toil worker; returns the
 * sandbox's pid namespace, and checks that Toil's worker is outside the engine's session
 * (what a signal to the engine's group would miss).
 */
export async function waitToolUnderToil(client: WesClient, runId: string, seconds: string, leaderCommand: string): Promise<string> {
  const tool = await waitFor(
    `the tool of ${runId} running`,
    async () => {
      const s = await client.status(runId);
      if (!['QUEUED', 'INITIALIZING', 'RUNNING'].includes(s)) throw new Error(`run ended ${s}`);
      return listProcesses().find((p) => p.cmdline.startsWith(`sleep ${seconds}`));
    },
    90_000,
    100,
  );
  const namespace = pidNamespace(tool.pid)!;
  expect(namespace).not.toBe(pidNamespace(process.pid));
  const inside = listProcesses().filter((p) => pidNamespace(p.pid) === namespace);
  const leader = inside.find((p) => p.cmdline.includes(leaderCommand));
  const worker = inside.find((p) => p.cmdline.includes('_toil_worker'));
  expect(leader, inside.map((p) => p.cmdline).join('\n')).toBeDefined();
  expect(worker, inside.map((p) => p.cmdline).join('\n')).toBeDefined();
  expect(sessionOf(worker!.pid), "Toil's worker runs in a session of its own").not.toBe(sessionOf(leader!.pid));
  return namespace;
}

