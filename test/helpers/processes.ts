import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  /** argv joined by single spaces. */
  cmdline: string;
}

/** Live (not zombie) processes, from /proc (Linux only). */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const raw = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!raw) continue; // kernel thread
      out.push({ pid, cmdline: raw.replace(/\0+$/, '').split('\0').join(' ') });
    } catch {
      // the process ended while being read
    }
  }
  return out;
}

/** Processes whose command line contains `marker`. */
export function findProcesses(marker: string): ProcessInfo[] {
  return listProcesses().filter((p) => p.cmdline.includes(marker));
}

/** SIGKILLs every process whose command line contains `marker`; returns what it found. */
export function killProcesses(marker: string): ProcessInfo[] {
  const found = findProcesses(marker);
  for (const p of found) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return found;
}
