import type { Logger } from '../../../libs/logging/src';
import { WesMetrics } from '../../../libs/metrics/src';
import { RunState, RunStore } from '../../../libs/runs/src';

const seconds = (from?: number, to?: number) => (from === undefined || to === undefined ? undefined : (to - from) / 1000);

/**
 * The worker's run figures, from the times the state machine recorded on the run (so they hold
 * whichever process sent the earlier messages): queue wait and dispatch latency when the engine
 * starts, duration and cancel latency at the end, engine processes alive. The run's times are
 * read twice per run (one HMGET each): at the engine's start and at the end; the queue wait of
 * a run whose engine never started is observed at its end. A figure that cannot be read is left
 * out; it never holds up or fails the run.
 */
export class RunMetrics {
  /** Runs claimed whose queue wait is not observed yet (by run id: the engine they run). */
  private readonly waiting = new Map<string, string>();

  constructor(
    private readonly metrics: WesMetrics,
    private readonly runs: RunStore,
  ) {}

  /** The run was claimed (INITIALIZING): its queue wait is observed with the next read of its times. */
  claimed(runId: string, engine: string): void {
    this.waiting.set(runId, engine);
  }

  /**
   * The worker is done with the run: a queue wait not observed yet (its engine never started and
   * this worker did not end it, e.g. handed back at a shutdown) is observed now.
   */
  released(runId: string, log: Logger): void {
    if (this.waiting.has(runId)) this.afterReading(runId, log, () => undefined);
  }

  /** The engine was launched: queue wait, dispatch latency (QUEUED → engine started) and one more engine process. */
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

  /** Reads the run's times, observes its queue wait if still due, then `use`s them. */
  private afterReading(runId: string, log: Logger, use: (t: Awaited<ReturnType<RunStore['times']>>) => void): void {
    const waitOf = this.waiting.get(runId);
    this.waiting.delete(runId);
    this.runs.times(runId).then(
      (t) => {
        const wait = waitOf === undefined ? undefined : seconds(t.queued, t.initializing);
        if (wait !== undefined) this.metrics.observe('queueWait', { engine: waitOf! }, wait);
        use(t);
      },
      (err: unknown) => log.debug({ err: (err as Error).message }, 'run times not read for metrics'),
    );
  }
}
