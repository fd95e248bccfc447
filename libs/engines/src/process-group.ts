import { readdirSync, readFileSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Sends a signal to every process of a group; a group already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * Pids of the live (not zombie) processes of a group. On Linux it reads /proc, because
 * kill(-pgid, 0) also succeeds for zombies that nobody has reaped yet.
 *
 * The scan reads synchronously: /proc files are made by the kernel on the spot (no disk), ~10 µs
 * each, while the same reads through libuv's four threads took ~300 ms per scan with eight
 * engines ending at once (a sandbox's group holds zombies for a moment after its engine ends,
 * so every sandboxed run scans once): the benchmark's scenario 13 ran at a third of the rate.
 */
export async function groupMembers(pgid: number): Promise<number[]> {
  // The usual case, a group already gone, costs one system call instead of a /proc scan.
  if (!signalGroup(pgid, 0)) return [];
  if (process.platform !== 'linux') return [pgid];
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name (which is in parentheses and may hold spaces): state ppid pgrp ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) === pgid && rest[0] !== 'Z') pids.push(Number(name));
  }
  return pids;
}

/**
 * Live members of a group that show a marker (e.g. the run id, which its scratch path holds)
 * in their command line or working folder: proof that a recorded group id still names that
 * run's processes and not a stranger that reused the number.
 */
export async function groupMembersMarked(pgid: number, marker: string): Promise<number[]> {
  const marked: number[] = [];
  for (const pid of await groupMembers(pgid)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (cmdline.includes(marker) || cwd.includes(marker)) marked.push(pid);
  }
  return marked;
}

export async function waitForGroupExit(pgid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await groupMembers(pgid)).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
}

/**
 * The program the worker wraps an engine in: bubblewrap, which dies of a stop signal and takes
 * its whole sandbox with it at once, leaving the engine no time to stop its own work cleanly.
 */
const WRAPPERS = new Set(['bwrap']);

/** Sends a stop signal to the members of a group that are not the worker's wrappers of the engine. */
async function signalEngine(pgid: number, signal: NodeJS.Signals): Promise<void> {
  if (process.platform !== 'linux') {
    signalGroup(pgid, signal);
    return;
  }
  for (const pid of await groupMembers(pgid)) {
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
    if (WRAPPERS.has(comm)) continue;
    try {
      process.kill(pid, signal);
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Stops a whole process group: the stop signal to the engine and what it started (not to its
 * wrappers: see WRAPPERS), then SIGKILL to the whole group after the grace period. Resolves once
 * no live process of the group remains (or, if even SIGKILL did not clear it within
 * killWaitMs, with false). In a sandbox, its processes die with it once the engine is gone.
 */
export async function stopGroup(pgid: number, signal: NodeJS.Signals, graceMs: number, killWaitMs = 5_000): Promise<boolean> {
  if (signal !== 'SIGKILL') {
    await signalEngine(pgid, signal);
    if (await waitForGroupExit(pgid, graceMs)) return true;
  }
  signalGroup(pgid, 'SIGKILL');
  return waitForGroupExit(pgid, killWaitMs);
}
