import { WesSettings } from '../../../../libs/config/src';
import { WorkflowStateMachine } from '../../../../libs/runs/src';
import type { RunMetrics } from '../run-metrics';
import { ExecutionResult, HeldAttempt, InterruptReason, RunEnding } from './run-attempt';

/**
 * Step 5, settle: the run's end message, sent on the attempt this worker holds (a message of an
 * older attempt is refused: attempt fencing). If a cancel got in first the run ends CANCELED
 * instead; after an interruption, a cancel ends it CANCELED, a shutdown hands it back to the
 * queue or cancels it (shutdownPolicy), and a run another worker took over is left to it.
 */
export class SettleStep {
  constructor(
    private readonly settings: WesSettings,
    private readonly stateMachine: WorkflowStateMachine,
    private readonly workerId: string,
    private readonly metrics: RunMetrics,
  ) {}

  /** Ends the run with a message; if a cancel got in first, the run ends CANCELED instead. */
  async end(at: HeldAttempt, { message, options }: RunEnding): Promise<void> {
    const { log } = at;
    const result = await this.stateMachine.send(at.runId, message, { ...options, attempt: at.attempt });
    if (result.applied) {
      log.info({ state: result.to }, 'run ended');
      this.metrics.ended(at.runId, at.engine, result.to, log);
    } else if (result.stale) {
      log.warn({ message, state: result.state }, 'end refused: the run has moved on to another attempt');
    } else if (result.state === 'CANCELING') {
      await this.finishCancel(at, 'canceled by request as the engine finished');
    } else {
      log.warn({ message, state: result.state }, 'end refused');
    }
  }

  /** Settles the run's state after an interruption (the engine is already gone). */
  async afterInterrupt(at: HeldAttempt, reason: InterruptReason, note: string): Promise<ExecutionResult> {
    const { runId, attempt, log } = at;
    if (reason === 'superseded') {
      log.warn({ note }, 'run taken over by another worker: left to it');
      return 'done';
    }
    if (reason === 'shutdown') {
      if (this.settings.shutdownPolicy === 'requeue') {
        const r = await this.stateMachine.send(runId, 'preempt', {
          attempt,
          fields: { pgid: '', worker: '' },
          systemLogs: [`attempt ${attempt}: worker ${this.workerId} shut down (${note}); handed back to the queue`],
        });
        if (r.applied) return 'hand-back';
        if (r.state !== 'CANCELING' || r.stale) return 'done';
      } else {
        await this.stateMachine.send(runId, 'cancel', { attempt });
      }
      await this.finishCancel(at, `canceled: worker ${this.workerId} shut down; ${note}`);
      return 'done';
    }
    await this.finishCancel(at, `canceled by request: ${note}`);
    return 'done';
  }

  private async finishCancel(at: HeldAttempt, note: string): Promise<void> {
    const { log } = at;
    const result = await this.stateMachine.send(at.runId, 'canceled', { systemLogs: [note], attempt: at.attempt });
    if (result.applied) this.metrics.ended(at.runId, at.engine, result.to, log);
    log.info({ applied: result.applied, state: result.applied ? result.to : result.state }, 'run canceled');
  }
}
