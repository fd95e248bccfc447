/**
 * Names of every Redis key and channel the run model uses, under one prefix. The transition
 * scripts build `inState` and `cancelChannel` names from the prefix themselves: keep them alike.
 */
export class RunKeys {
  constructor(readonly prefix: string) {}

  /** Hash: state, request, times, run_log fields, outputs. */
  run(runId: string): string {
    return `${this.prefix}:run:${runId}`;
  }

  /** List: system_logs lines of a run. */
  systemLogs(runId: string): string {
    return `${this.prefix}:run:${runId}:syslog`;
  }

  /** Sorted set (all scores 0) of run ids; ids are time-ordered, so lexical order is age order. */
  get index(): string {
    return `${this.prefix}:runs`;
  }

  /** Sorted set of the runs now in an active state, scored by the time they entered it. */
  inState(state: string): string {
    return `${this.prefix}:in:${state}`;
  }

  /** Lock held by whichever process is sweeping for lost runs. */
  get reaperLock(): string {
    return `${this.prefix}:reaper`;
  }

  /** Hash: number of runs in each state, kept by the transition scripts. */
  get counts(): string {
    return `${this.prefix}:counts`;
  }

  /** Pub/sub channel on which a cancel of an INITIALIZING or RUNNING run is broadcast. */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  /** Set of live worker ids, and each worker's heartbeat record. */
  get workers(): string {
    return `${this.prefix}:workers`;
  }

  worker(workerId: string): string {
    return `${this.prefix}:worker:${workerId}`;
  }
}
