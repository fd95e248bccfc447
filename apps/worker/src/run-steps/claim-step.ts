import { hostname } from 'node:os';
import type { Logger } from '../../../../libs/logging/src';
import type { ReplicaAck } from '../../../../libs/queue/src';
import type { RunRecovery } from '../../../../libs/recovery/src';
import type { RunRecord, RunStore, WorkflowStateMachine } from '../../../../libs/runs/src';

/**
 * Step 1, claim: `initialize` (QUEUED → INITIALIZING) makes the run this worker's, its holder
 * fields naming the worker, host and pid. A job that comes back after its lock lapsed takes
 * the run only if the worker that held it is lost (the run is settled first); a live holder
 * keeps it. Returns the claimed run, or undefined when the job is to be dropped.
 */
export class ClaimStep {
  private readonly host = hostname();

  constructor(
    private readonly stateMachine: WorkflowStateMachine,
    private readonly runs: RunStore,
    private readonly recovery: RunRecovery,
    private readonly workerId: string,
    private readonly replicaAck: ReplicaAck,
  ) {}

  async claim(runId: string, log: Logger): Promise<RunRecord | undefined> {
    const holder = { worker: this.workerId, host: this.host, wpid: String(process.pid) };
    const written = this.replicaAck.mark();
    let init = await this.stateMachine.send(runId, 'initialize', { fields: holder });
    if (!init.applied && init.state && ['INITIALIZING', 'RUNNING', 'CANCELING'].includes(init.state)) {
      // The job came back after its lock lapsed. If the worker that held the run is lost, settle
      // the run and take it; if it is alive (e.g. Redis was away longer than the lock), it still
      // runs it and will end it: this job is dropped rather than running the workflow twice.
      const [run] = await this.runs.holders([runId]);
      if (run && (await this.recovery.holderLost(run))) {
        await this.recovery.settleLostRun(run, `worker ${run.worker ?? '(none)'} stopped renewing the job's lock`);
        init = await this.stateMachine.send(runId, 'initialize', { fields: holder });
      } else if (run) {
        log.warn({ holder: run.worker, state: run.state }, 'job redelivered while its run is held by a live worker: dropped');
      }
    }
    if (!init.applied) {
      log.info({ state: init.state }, 'job skipped: run is not QUEUED');
      return undefined;
    }
    // WES_REDIS_MIN_REPLICAS_ACK: the claim (and the job's move to active before it) survives a
    // failover, so no other worker takes the run while this one runs it.
    let run = await this.runs.get(runId);
    if (!(await this.replicaAck.confirm(written))) {
      // Not confirmed: a failover may have undone the claim (the run QUEUED again, its job
      // waiting for any worker). Claim it again on the primary there is now, or leave it to
      // whoever has it: the engine has not started, so nothing runs twice.
      log.warn(this.replicaAck.shortfall);
      run = await this.runs.get(runId);
      if (run?.state === 'QUEUED') {
        const again = await this.stateMachine.send(runId, 'initialize', { fields: holder });
        run = again.applied ? await this.runs.get(runId) : null;
      }
      if (!run || run.state !== 'INITIALIZING' || run.worker !== this.workerId) {
        log.warn({ state: run?.state, holder: run?.worker }, 'claim undone by a Redis failover and taken by another: job dropped');
        return undefined;
      }
    }
    if (!run) throw new Error(`run ${runId} disappeared after initialize`);
    log.info({ attempt: run.attempt }, 'initializing');
    return run;
  }
}
