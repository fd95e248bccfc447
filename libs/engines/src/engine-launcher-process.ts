/**
 * The engine launcher: a small program each worker starts once (engine-launcher.ts), which starts
 * every engine of that worker. It exists so that a run costs one program start and a fork of this
 * small process, not a fork of the large worker and a chain of wrappers (setpriv, timeout) that
 * gave each engine the parent-death signal: the launcher holds every engine group it started and
 * SIGKILLs them all when its channel to the worker closes (the worker died, or closed it at the
 * end of its shutdown) or it gets the parent-death signal the worker set on it.
 *
 * Messages (Node's IPC channel, JSON): from the worker `spawn` and `stop`; to it `started`,
 * `failed`, `exit` and `stopped` (types in engine-launcher.ts). It imports only Node and
 * process-group.ts: it starts in a few tens of milliseconds.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupMembers, signalGroup, stopGroup } from './process-group';
import type { LauncherReply, LauncherRequest } from './engine-launcher';

interface HeldGroup {
  pgid: number;
  stopSignal: NodeJS.Signals;
  graceMs: number;
  /** Settles once the engine (the group's leader) has exited and been reaped. */
  ended: Promise<void>;
  /** Set once a stop the worker asked for is under way: the group is then left to it (unless the worker dies). */
  stopping?: Promise<boolean>;
}

/** Engine groups by request id, from their start until they are gone. */
const held = new Map<number, HeldGroup>();

function send(reply: LauncherReply): void {
  // A worker gone meanwhile: nothing to tell (its disconnect kills everything). The channel can
  // still read as connected when the worker has just died: the write then fails with EPIPE,
  // which without a callback would be thrown as an 'error' event and kill the launcher before
  // it stopped the groups it holds.
  if (process.connected) process.send!(reply, undefined, {}, (err: Error | null) => err && killAllAndExit());
}

function startEngine(req: Extract<LauncherRequest, { t: 'spawn' }>): void {
  let out: number | undefined;
  let err: number | undefined;
  try {
    out = openSync(req.stdoutFile, 'w');
    err = openSync(req.stderrFile, 'w');
    // Its own process group (detached), an argument array and no shell; the files are its stdout and stderr.
    const child = spawn(req.file, req.args, { cwd: req.cwd, env: req.env, detached: true, stdio: ['ignore', out, err] });
    if (child.pid === undefined) {
      child.once('error', (e) => send({ t: 'failed', id: req.id, error: e.message }));
      return;
    }
    let ended!: () => void;
    const group: HeldGroup = { pgid: child.pid, stopSignal: req.stopSignal, graceMs: req.graceMs, ended: new Promise((r) => (ended = r)) };
    held.set(req.id, group);
    child.once('exit', (code, signal) => {
      ended();
      // What it left behind in its group goes with it, unless a stop is already taking the group down gently.
      if (!group.stopping) {
        signalGroup(group.pgid, 'SIGKILL');
        held.delete(req.id);
      }
      send({ t: 'exit', id: req.id, exitCode: code ?? undefined, signal: signal ?? undefined });
    });
    send({ t: 'started', id: req.id, pid: child.pid });
  } catch (e) {
    send({ t: 'failed', id: req.id, error: (e as Error).message });
  } finally {
    if (out !== undefined) closeSync(out);
    if (err !== undefined) closeSync(err);
  }
}

function stopHeld(id: number, group: HeldGroup, signal: NodeJS.Signals, graceMs: number): Promise<boolean> {
  // Its exit reported before 'stopped': the worker then has both (a zombie leader counts as gone in stopGroup).
  group.stopping ??= stopGroup(group.pgid, signal, graceMs)
    .then((gone) => (gone ? group.ended.then(() => true) : false))
    .catch(() => false)
    .finally(() => held.delete(id));
  return group.stopping;
}

function killGroup(pgid: number): void {
  try {
    signalGroup(pgid, 'SIGKILL');
  } catch {
    // Not ours to signal (EPERM): nothing more this process can do.
  }
}

/** How long the launcher waits for its groups to go after their SIGKILL before it exits anyway. */
const KILL_WAIT_MS = 5_000;

/** SIGKILL to the group until no live process is left in it (a fork racing the first one is caught by the next). */
async function killUntilGone(pgid: number): Promise<void> {
  const deadline = Date.now() + KILL_WAIT_MS;
  for (;;) {
    killGroup(pgid);
    if ((await groupMembers(pgid)).length === 0 || Date.now() > deadline) return;
    await sleep(20);
  }
}

let leaving = false;
/**
 * The worker is gone: every group it had is SIGKILLed at once, a stop still waiting out its grace
 * included, then the launcher exits. No grace: nobody is left to settle the run or read its
 * outputs, and recovery may start the run's next attempt, in the same run folder, at any moment
 * (a start-up on this host at once, a lapsed heartbeat within 3 × WES_HEARTBEAT_MS, 15 s by
 * default, sooner than the 20 s stop grace): an engine still stopping would write beside it. A
 * stop with the engine's signal and grace is what a live worker asks for (cancel, drain).
 */
function killAllAndExit(): void {
  if (leaving) return;
  leaving = true;
  const groups = [...held.values()];
  for (const g of groups) killGroup(g.pgid);
  void Promise.all(groups.map((g) => killUntilGone(g.pgid))).finally(() => process.exit(0));
}

process.on('message', (req: LauncherRequest) => {
  if (req.t === 'spawn') {
    if (leaving) send({ t: 'failed', id: req.id, error: 'the launcher is stopping' });
    else startEngine(req);
  } else if (req.t === 'stop') {
    const group = held.get(req.id);
    const started = Date.now();
    void (group ? stopHeld(req.id, group, req.signal, req.graceMs) : Promise.resolve(true)).then((gone) => send({ t: 'stopped', id: req.id, gone, ms: Date.now() - started }));
  }
});
process.on('disconnect', killAllAndExit);
// Any other failure of the channel: the worker is gone or going; the groups must not outlive it.
process.on('error', killAllAndExit);
// The parent-death signal (setpriv at the launcher's start).
process.on('SIGTERM', killAllAndExit);
if (!process.connected) killAllAndExit();
