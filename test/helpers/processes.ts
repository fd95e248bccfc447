/** The tests' view of the process helpers in scripts/lib/proc.ts (matching by command line). */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAll, ProcInfo, processesMatching, processesWithCommand, scanProcesses } from '../../scripts/lib/proc';

export type ProcessInfo = ProcInfo;

/** Live (not zombie) processes, from /proc (Linux only). */
export const listProcesses = scanProcesses;

/** Processes whose command line contains `marker`. */
export const findProcesses = processesWithCommand;

/** The engine launcher a worker (its pid) started, if it runs. */
export function launcherOf(workerPid: number | undefined): ProcessInfo | undefined {
  return scanProcesses().find((p) => p.ppid === workerPid && p.cmdline.includes('engine-launcher-process'));
}

/** The environment a process was started with (/proc/<pid>/environ), as NAME=value entries. */
export function environOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
}

/**
 * What a stack left running once its workers and API exited: engines (their command line or
 * folder names the stack's work folder: bwrap's binds, an unsandboxed engine's paths) and engine
 * launchers (started in the stack's root folder). A worker's launcher kills its engines at once
 * when the worker is gone, so these get `waitMs` to go on their own; what is left then outlived
 * its worker: SIGKILLed, and returned.
 */
export async function killStackLeftovers(root: string, workDir: string, waitMs: number): Promise<ProcessInfo[]> {
  const left = () => [...processesMatching(workDir), ...scanProcesses().filter((p) => p.cwd === root && p.cmdline.includes('engine-launcher-process'))];
  const deadline = Date.now() + waitMs;
  while (left().length > 0 && Date.now() < deadline) await sleep(100);
  return killAll(left());
}
