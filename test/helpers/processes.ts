/** The tests' view of the process helpers in scripts/lib/proc.ts (matching by command line). */
import { killAll, ProcInfo, processesWithCommand, scanProcesses } from '../../scripts/lib/proc';

export type ProcessInfo = ProcInfo;

/** Live (not zombie) processes, from /proc (Linux only). */
export const listProcesses = scanProcesses;

/** Processes whose command line contains `marker`. */
export const findProcesses = processesWithCommand;

/** SIGKILLs every process whose command line contains `marker`; returns what it found. */
export function killProcesses(marker: string): ProcessInfo[] {
  return killAll(processesWithCommand(marker));
}
