import { readFileSync } from 'node:fs';
import { runForm, TERMINAL, WesClient, workflowFiles } from './client';
import { findProcesses, ProcessInfo } from './processes';
import { Stack } from './stack';
import { holderPlace, RunStore } from '../../libs/runs/src';
import { waitFor } from './wait-for';

export { waitFor };

/**
 * Helpers of the crash, restart and cancel-race tests: runs of a sleep of a given length whose
 * processes are easy to find, polling of the run record in the stack's private Redis, and
 * checks on processes.
 */

/** Settings that make worker loss visible within a second or two (instead of 15-60 s). */
export const FAST_RECOVERY_ENV: Record<string, string> = {
  WES_HEARTBEAT_MS: '500',
  WES_REAPER_INTERVAL_MS: '500',
  WES_JOB_LOCK_MS: '2000',
  WES_STALLED_INTERVAL_MS: '1000',
  WES_CANCEL_POLL_MS: '300',
  WES_CANCEL_GRACE_MS: '2000',
};

/**
 * A sleep duration with a unique fraction, e.g. "4.318265": `sleep 4.318265` names this run's
 * tool process in /proc and no other. Trailing zeros are avoided so the text stays as given.
 */
export function uniqueSeconds(whole: number): string {
  const frac = String(100_001 + Math.floor(Math.random() * 899_998)).replace(/0+$/, '');
  return `${whole}.${frac}`;
}

/**
 * POST /runs body of the nap workflow: `sleep <seconds>` (or of stubborn.cwl, the same sleep
 * ignoring SIGTERM and SIGINT).
 */
export function napForm(seconds: string, tags: Record<string, string> = {}, workflow: 'nap.cwl' | 'stubborn.cwl' = 'nap.cwl'): FormData {
  return runForm({
    workflow_url: workflow,
    workflow_type: 'CWL',
    workflow_type_version: 'v1.1',
    workflow_params: { seconds },
    tags,
    attachments: workflowFiles(workflow),
  });
}

/** The run record (hash) and its system_logs, read directly from the stack's Redis. */
export interface RunRecordView {
  /**
   * The run hash (state, times, holder, and long fields in pieces) and its doc hash (long fields
   * too long for pieces: readRunField reads a long field from both).
   */
  hash: Record<string, string>;
  doc: Record<string, string>;
  systemLogs: string[];
}

export class RunInspector {
  private readonly redis;
  constructor(private readonly stack: Stack) {
    this.redis = stack.redisClient();
    // Redis may be restarted or stopped under it (then the next command fails loudly instead).
    this.redis.on('error', () => undefined);
  }

  async record(runId: string): Promise<RunRecordView> {
    const k = this.stack.keys;
    const [hash, doc, systemLogs] = await Promise.all([
      this.redis.hgetall(k.run(runId)),
      this.redis.hgetall(k.doc(runId)),
      this.redis.lrange(k.systemLogs(runId), 0, -1),
    ]);
    return { hash, doc, systemLogs };
  }

  async state(runId: string): Promise<string | null> {
    return this.redis.hget(this.stack.keys.run(runId), 'state');
  }

  /** Counters of the state machine and the true number of runs in each state (from the run hashes). */
  async countsAndTruth(): Promise<{ counts: Record<string, number>; truth: Record<string, number>; ids: string[] }> {
    const k = this.stack.keys;
    const ids = await new RunStore(this.redis, k).allRunIds();
    const raw = await this.redis.hgetall(k.counts);
    const counts: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw)) if (Number(v) !== 0) counts[k] = Number(v);
    const truth: Record<string, number> = {};
    const pipe = this.redis.pipeline();
    ids.forEach((id) => pipe.hget(k.run(id), 'state'));
    const res = ids.length ? ((await pipe.exec()) ?? []) : [];
    res.forEach(([, s]) => {
      const key = String(s);
      truth[key] = (truth[key] ?? 0) + 1;
    });
    return { counts, truth, ids };
  }

  /** Members of the `in:<STATE>` index of the active states. */
  async activeIndex(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const s of ['QUEUED', 'INITIALIZING', 'RUNNING', 'CANCELING']) out[s] = (await this.redis.zrange(this.stack.keys.inState(s), 0, -1)).sort();
    return out;
  }

  close(): void {
    this.redis.disconnect();
  }
}

/**
 * The terminal states a run hash holds a time of, as `t:<STATE>` (a run must have at most one):
 * its `t:<terminal>` fields (records of before), else its `end` time, which is its terminal
 * state's (the transition script writes no `t:` field of its own for a terminal state).
 */
export function terminalTimes(hash: Record<string, string>): string[] {
  const fields = Object.keys(hash).filter((k) => k.startsWith('t:') && TERMINAL.includes(k.slice(2)));
  if (fields.length || !hash.end) return fields;
  return [`t:${hash.state}`];
}

/** The pid of the worker a run hash names as its holder (`wpid`, or read from the worker id: holderPlace). */
export function holderPid(hash: Record<string, string>): number | undefined {
  return holderPlace(hash.worker, hash.host, hash.wpid).workerPid;
}

/** True when the process exists and is not a zombie, with the same command line as before. */
export function stillRunning(p: ProcessInfo): boolean {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    const cmdline = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').replace(/\0+$/, '').split('\0').join(' ');
    return cmdline === p.cmdline;
  } catch {
    return false;
  }
}

/** Waits until none of these processes runs any more; returns the time it took. */
export async function waitProcessesGone(procs: ProcessInfo[], timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  await waitFor(
    `${what} to be gone: ${procs
      .filter(stillRunning)
      .map((p) => `${p.pid} ${p.cmdline.slice(0, 160)}`)
      .join('; ')}`,
    () => procs.every((p) => !stillRunning(p)),
    timeoutMs,
    50,
  );
  return Date.now() - t0;
}

/** Processes of a run: cwltool (its argv names the run's scratch folder) and the tool (`sleep <seconds>`). */
export function runProcesses(runId: string, seconds?: string): ProcessInfo[] {
  const byId = findProcesses(runId);
  const bySleep = seconds ? findProcesses(`sleep ${seconds}`) : [];
  const seen = new Set<number>();
  return [...byId, ...bySleep].filter((p) => !seen.has(p.pid) && seen.add(p.pid));
}

/**
 * Waits until the run is RUNNING in `attempt` (from the record) and its tool process
 * (`sleep <seconds>`) is up; returns the run's processes (cwltool and the tool).
 */
export async function waitEngineRunning(client: WesClient, inspector: RunInspector, runId: string, seconds: string, attempt?: number, timeoutMs = 60_000): Promise<ProcessInfo[]> {
  await waitFor(
    `run ${runId} RUNNING${attempt ? ` in attempt ${attempt}` : ''} with its sleep ${seconds} up`,
    async () => {
      const { hash } = await inspector.record(runId);
      if (TERMINAL.includes(hash.state)) throw new Error(`run ${runId} ended ${hash.state}`);
      if (hash.state !== 'RUNNING' || (attempt !== undefined && Number(hash.attempt) !== attempt)) return false;
      return findProcesses(`sleep ${seconds}`).length > 0;
    },
    timeoutMs,
    50,
  );
  void client;
  return runProcesses(runId, seconds);
}

/** Waits until the run is in a terminal state (through the API); returns it. */
export async function waitTerminal(client: WesClient, runId: string, timeoutMs = 90_000): Promise<string> {
  return waitFor(`run ${runId} to reach a terminal state`, async () => {
    const s = await client.status(runId);
    return TERMINAL.includes(s) ? s : undefined;
  }, timeoutMs, 100);
}
