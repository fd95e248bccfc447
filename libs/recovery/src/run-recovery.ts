import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { WesSettings } from '../../config/src';
import { groupMembersMarked, signalGroup } from '../../engines/src';
import type { Logger } from '../../logging/src';
import { DEFAULT_POOL, RunQueues, SHUTDOWN_REDIS_WAIT_MS, within, WorkerRegistry } from '../../queue/src';
import { HELD_STATES, HeldRunsBackfill, RunHolder, RunKeys, RunStore, TransitionResult, WorkflowStateMachine } from '../../runs/src';
import type { RetentionReport, RunRetention } from './run-retention';

export type Settlement = 'canceled' | 'requeued' | 'failed' | 'untouched';

export interface SweepReport {
  swept: boolean;
  settled: Record<Exclude<Settlement, 'untouched'>, number>;
  jobsRestored: number;
  /** What the storage sweep removed (when the recovery has one). */
  retention?: RetentionReport;
}

/** Whether a process of ours has this pid (EPERM: a process of another user has it, so it is not our worker either). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== 'ESRCH' && code !== 'EPERM';
  }
}

/** Releases a lock only if this process still holds it. */
const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Settles runs whose worker is lost, by the worker-loss policy, and re-queues QUEUED runs whose
 * queue job is missing. Used by the reaper (API and workers sweep in turn), by a worker that
 * receives a job whose previous holder lost its lock, and by a worker starting up on the host
 * where its predecessor died.
 */
export class RunRecovery {
  readonly host = hostname();
  /**
   * Until then, a lapsed heartbeat alone does not make a worker lost: after Redis comes back
   * from an outage every worker needs a few heartbeats to announce itself again.
   */
  private heartbeatsTrustedFrom = 0;
  private readonly heldBackfill: HeldRunsBackfill;

  constructor(
    private readonly settings: WesSettings,
    private readonly stateMachine: WorkflowStateMachine,
    private readonly runs: RunStore,
    private readonly workers: WorkerRegistry,
    private readonly queues: RunQueues,
    private readonly redis: Redis,
    private readonly keys: RunKeys,
    private readonly logger: Logger,
    /** The storage sweep (retention, orphaned uploads) done under the same lock, if any. */
    private readonly retention?: RunRetention,
  ) {
    const distrustHeartbeats = () => {
      this.heartbeatsTrustedFrom = Date.now() + settings.heartbeatMs * 3;
    };
    distrustHeartbeats();
    redis.on('ready', distrustHeartbeats);
    this.heldBackfill = new HeldRunsBackfill(redis, keys, runs);
  }

  /**
   * Queues a run again after attempt `lostAttempt` was lost, under a new job id: the lost
   * attempt's job may still sit in BullMQ, locked by its dead worker until the lock lapses, and
   * the run need not wait for that (if that job comes back, its `initialize` is refused).
   * The run goes back to its own pool's queue.
   */
  async requeue(runId: string, lostAttempt: number, pool: string | undefined): Promise<void> {
    const jobId = `${runId}-r${lostAttempt}`;
    await this.runs.setFields(runId, { job: jobId });
    await this.queues.of(pool).enqueue(runId, jobId);
  }

  /** Puts the run's current job back on its pool's queue if BullMQ no longer has it; true if it did. */
  async restoreJob(runId: string): Promise<boolean> {
    const { jobId, pool } = await this.runs.jobOf(runId);
    return this.queues.of(pool).restoreIfMissing(runId, jobId);
  }

  /**
   * Ends or re-queues a run whose worker is lost. Engine processes it left on this host are
   * killed first. CANCELING → CANCELED; INITIALIZING/RUNNING → QUEUED again (policy requeue,
   * attempts left) or SYSTEM_ERROR. Each outcome is written to the run's system_logs.
   */
  async settleLostRun(run: RunHolder, reason: string): Promise<Settlement> {
    const log = this.logger.child({ runId: run.runId });
    await this.killLeftovers(run, log);
    // The run's pool's attempts; a pool no longer configured has no queue to go back to.
    const pool = this.queues.pools.ofRun(run.pool);
    const max = pool?.maxAttempts ?? this.settings.maxAttempts;
    const attempt = `attempt ${run.attempt} of ${max}`;
    let result: TransitionResult;
    let outcome: Settlement;
    if (run.state === 'CANCELING') {
      result = await this.stateMachine.send(run.runId, 'canceled', {
        attempt: run.attempt,
        systemLogs: [`${reason}; the run was being canceled: CANCELED`],
      });
      outcome = 'canceled';
    } else if (run.state === 'INITIALIZING' || run.state === 'RUNNING') {
      if (this.settings.workerLossPolicy === 'requeue' && run.attempt < max && pool) {
        result = await this.stateMachine.send(run.runId, 'preempt', {
          attempt: run.attempt,
          fields: { pgid: '', worker: '' },
          systemLogs: [`${attempt} lost while ${run.state}: ${reason}; queued again in pool ${run.pool ?? DEFAULT_POOL}`],
        });
        outcome = 'requeued';
        if (result.applied) await this.requeue(run.runId, run.attempt, run.pool);
      } else {
        const why =
          this.settings.workerLossPolicy === 'fail'
            ? 'the worker-loss policy is "fail"'
            : !pool
              ? `its pool ${run.pool ?? DEFAULT_POOL} is no longer configured`
              : 'no attempts left';
        result = await this.stateMachine.send(run.runId, 'system_error', {
          attempt: run.attempt,
          systemLogs: [`${attempt} lost while ${run.state}: ${reason}; ${why}: SYSTEM_ERROR`],
        });
        outcome = 'failed';
      }
    } else {
      return 'untouched';
    }
    if (!result.applied) return 'untouched';
    log.warn({ reason, outcome, attempt: run.attempt }, 'lost run settled');
    return outcome;
  }

  /** Kills what is left of the run's engine group if it ran on this host and still runs. */
  private async killLeftovers(run: RunHolder, log: Logger): Promise<void> {
    if (!run.pgid || run.host !== this.host) return;
    if ((await groupMembersMarked(run.pgid, run.runId)).length > 0) {
      log.warn({ pgid: run.pgid }, 'killing the engine group of a lost worker');
      signalGroup(run.pgid, 'SIGKILL');
    }
  }

  /** Whether the worker holding this run is lost. */
  async holderLost(run: RunHolder): Promise<boolean> {
    return this.isLost(run, await this.workers.alive(run.worker ? [run.worker] : []));
  }

  /** Whether the worker holding a run is lost: its heartbeat lapsed, or (same host) its process is gone. */
  private isLost(run: RunHolder, alive: Set<string>): boolean {
    if (!run.worker) return true;
    if (!alive.has(run.worker) && Date.now() >= this.heartbeatsTrustedFrom) return true;
    return run.host === this.host && !!run.workerPid && !processAlive(run.workerPid);
  }

  /**
   * Settles this host's runs whose worker died (a worker starting up calls it before it takes
   * jobs, so what its predecessor on this machine left is cleaned up at once).
   */
  async reconcileHost(selfWorkerId: string): Promise<Settlement[]> {
    // Just after an upgrade its predecessor's runs may not be in its set yet (once done: a GET).
    await this.heldBackfill.run();
    return this.settleLost((run) => run.host === this.host && run.worker !== selfWorkerId, 'died on this host (found by a worker starting up)', selfWorkerId);
  }

  /**
   * Settles runs recorded as held by this worker that it no longer executes (e.g. its end
   * message failed while Redis was away): no other process can tell, as its heartbeat goes on.
   * It reads its own set of held runs and the holders of those it no longer executes: the cost
   * grows with its own runs, not with the pool's.
   */
  async settleOrphansOf(workerId: string, stillHeld: (runId: string) => boolean): Promise<Settlement[]> {
    const outcomes: Settlement[] = [];
    const dropped = (await this.runs.heldBy(workerId)).filter((id) => !stillHeld(id));
    for (const run of await this.heldRunsOf(workerId, dropped)) {
      // The executor may have taken it meanwhile (the set was read first).
      if (stillHeld(run.runId)) continue;
      outcomes.push(await this.settleLostRun(run, `worker ${workerId} no longer runs it`));
    }
    return outcomes;
  }

  /**
   * Of these ids from `workerId`'s set, the runs it still holds (read again: a run may have
   * moved on since the set was read); entries whose run moved on behind the scripts' back, or
   * is gone, are dropped from the set, so it never keeps an entry for good.
   */
  private async heldRunsOf(workerId: string, ids: string[]): Promise<RunHolder[]> {
    const runs = await this.runs.holders(ids);
    const held = runs.filter((r) => r.worker === workerId && (HELD_STATES as readonly string[]).includes(r.state));
    if (held.length < ids.length) {
      const keep = new Set(held.map((r) => r.runId));
      await this.runs.syncHeld(workerId, ids.filter((id) => !keep.has(id)));
    }
    return held;
  }

  /**
   * Settles the runs of lost workers that `filter` picks. Lost holders are found from the
   * workers that hold runs (RunKeys.holders) and their heartbeat records, one MGET for all: a
   * holder whose record lapsed, or one on this host whose process is gone. Only their sets of
   * held runs are read, so a sweep costs the number of workers plus the lost workers' runs,
   * not every active run. (Runs held before the sets existed are put in them by
   * HeldRunsBackfill, at the first sweep.)
   */
  private async settleLost(filter: (run: RunHolder) => boolean, reason: string, exceptWorker?: string): Promise<Settlement[]> {
    const outcomes: Settlement[] = [];
    const holders = (await this.runs.holderIds()).filter((w) => w !== exceptWorker);
    if (holders.length === 0) return outcomes;
    const records = await this.workers.records(holders);
    const alive = new Set(holders.filter((w) => records.get(w)));
    // Without a record the host is unknown: the runs tell (isLost, which also waits until
    // heartbeats are trusted again after an outage).
    const lost = holders.filter((w) => {
      const record = records.get(w);
      return !record || (record.host === this.host && !processAlive(record.pid));
    });
    for (const workerId of lost) {
      const runs = (await this.heldRunsOf(workerId, await this.runs.heldBy(workerId))).filter(filter);
      for (const run of runs) {
        if (this.isLost(run, alive)) outcomes.push(await this.settleLostRun(run, `worker ${run.worker ?? '(none)'}: ${reason}`));
      }
    }
    return outcomes;
  }

  /**
   * One sweep of the reaper, if no other process is sweeping: lost runs are settled, and QUEUED
   * runs older than queuedJobCheckMs whose job is missing (e.g. the API died between recording
   * the run and queueing it) get their job back, and the storage sweep runs (RunRetention).
   */
  async sweep(): Promise<SweepReport> {
    const report: SweepReport = { swept: false, settled: { canceled: 0, requeued: 0, failed: 0 }, jobsRestored: 0 };
    const token = randomBytes(8).toString('hex');
    const locked = await this.redis.set(this.keys.reaperLock, token, 'PX', this.settings.reaperIntervalMs * 3, 'NX');
    if (!locked) return report;
    try {
      report.swept = true;
      // Runs held before the per-worker sets existed join them first (once: then one GET).
      const backfilled = await this.heldBackfill.run();
      if (backfilled !== null) this.logger.info({ runs: backfilled }, 'held runs put in their workers\' sets');
      for (const outcome of await this.settleLost(() => true, 'lost (its heartbeat lapsed or its process is gone)')) {
        if (outcome !== 'untouched') report.settled[outcome]++;
      }
      const oldQueued = await this.runs.inState('QUEUED', Date.now() - this.settings.queuedJobCheckMs);
      for (const runId of oldQueued) {
        try {
          if ((await this.stateMachine.getState(runId)) === 'QUEUED' && (await this.restoreJob(runId))) {
            await this.runs.appendSystemLog(runId, 'the queue had lost this run; it was queued again');
            this.logger.warn({ runId }, 'queued run had no job: re-added');
            report.jobsRestored++;
          }
        } catch (err) {
          // One run (e.g. of a pool no longer configured) must not stop the sweep of the others.
          this.logger.warn({ runId, err }, 'queued run: its job could not be checked');
        }
      }
      if (this.retention) {
        try {
          report.retention = await this.retention.sweep();
        } catch (err) {
          // The store may be away: the lost runs above were settled all the same.
          this.logger.warn({ err }, 'retention sweep failed');
        }
      }
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, this.keys.reaperLock, token).catch(() => undefined);
    }
    return report;
  }
}

/** Runs RunRecovery.sweep every reaperIntervalMs (jittered) until stopped. */
export class Reaper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly recovery: RunRecovery,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const next = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.running = this.recovery
          .sweep()
          .then((r) => {
            const settled = r.settled.canceled + r.settled.requeued + r.settled.failed;
            const stored = r.retention ? r.retention.expired + r.retention.orphans + r.retention.finished + (r.retention.indexed ?? 0) : 0;
            if (settled || r.jobsRestored || stored) this.logger.info({ ...r }, 'reaper sweep');
          })
          .catch((err) => this.logger.warn({ err }, 'reaper sweep failed'))
          .finally(next);
      }, this.intervalMs * (0.75 + Math.random() / 2));
      this.timer.unref();
    };
    next();
  }

  /** Stops sweeping; waits for a sweep under way, at most SHUTDOWN_REDIS_WAIT_MS (Redis may be unreachable). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) await within(this.running, SHUTDOWN_REDIS_WAIT_MS);
  }
}
