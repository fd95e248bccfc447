import type { Logger } from '../../../libs/logging/src';
import { WesMetrics } from '../../../libs/metrics/src';
import { RunState, RunStore } from '../../../libs/runs/src';

const seconds = (from?: number, to?: number) => (from === undefined || to === undefined ? undefined : (to - from) / 1000);

/**
 * The worker's run figures, from the times the state machine recorded on the run (so they hold
 * whichever process sent the earlier messages): queue wait at the claim, dispatch latency when
 * the engine starts, duration and cancel latency at the end, engine processes alive. A figure
 * that cannot be read is left out; it never holds up or fails the run.
 */
export class RunMetrics {
  constructor(
    private readonly metrics: WesMetrics,
    private readonly runs: RunStore,
  ) {}

  /** The run was claimed (INITIALIZING): how long it waited QUEUED. */
  claimed(runId: string, engine: string, log: Logger): void {
    this.afterReading(runId, log, (t) => {
      const wait = seconds(t.queued, t.initializing);
      if (wait !== undefined) this.metrics.observe('queueWait', { engine }, wait);
    });
  }

  /** The engine was launched: dispatch latency (QUEUED → engine started) and one more engine process. */
  engineStarted(runId: string, engine: string, log: Logger): void {
    const now = Date.now();
    this.metrics.add('engineProcesses', { engine }, 1);
    this.afterReading(runId, log, (t) => {
      const latency = seconds(t.queued, now);
      if (latency !== undefined) this.metrics.observe('dispatchLatency', { engine }, latency);
    });
  }

  engineExited(engine: string): void {
    this.metrics.add('engineProcesses', { engine }, -1);
  }

  /** This worker ended the run in `state`: counted, its duration, and for a cancel how long it took. */
  ended(runId: string, engine: string, state: RunState, log: Logger): void {
    this.metrics.inc('runsFinished', { engine, state });
    this.afterReading(runId, log, (t) => {
      const duration = seconds(t.running, t.end);
      if (duration !== undefined) this.metrics.observe('runDuration', { engine }, duration);
      const cancel = state === 'CANCELED' ? seconds(t.cancel, t.end) : undefined;
      if (cancel !== undefined) this.metrics.observe('cancelLatency', { engine }, cancel);
    });
  }

  private afterReading(runId: string, log: Logger, use: (t: Awaited<ReturnType<RunStore['times']>>) => void): void {
    this.runs.times(runId).then(use, (err: unknown) => log.debug({ err: (err as Error).message }, 'run times not read for metrics'));
  }
}
