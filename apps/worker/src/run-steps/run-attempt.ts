import type { Logger } from '../../../../libs/logging/src';
import type { TransitionOptions } from '../../../../libs/runs/src';

/** Why a run was interrupted while this worker held it. */
export type InterruptReason =
  /** The client cancelled it. */
  | 'cancel'
  /** This worker is shutting down and its drain time is over. */
  | 'shutdown'
  /** Another worker took the run over (this worker had lost its job lock). */
  | 'superseded';

/** Thrown inside a run's execution when it is interrupted; `note` says how the engine was stopped. */
export class RunInterrupted extends Error {
  constructor(
    readonly reason: InterruptReason,
    readonly note: string,
  ) {
    super(note);
  }
}

export const reasonOf = (signal: AbortSignal): InterruptReason =>
  signal.reason === 'shutdown' || signal.reason === 'superseded' ? signal.reason : 'cancel';

/** Throws RunInterrupted when `signal` is aborted; `note` says when. */
export function throwIfInterrupted(signal: AbortSignal, note: string): void {
  if (signal.aborted) throw new RunInterrupted(reasonOf(signal), note);
}

/** The attempt of a run this worker holds: every message it sends names it (attempt fencing). */
export interface HeldAttempt {
  runId: string;
  attempt: number;
  /** The run's engine (the label of its metrics). */
  engine: string;
  log: Logger;
}

/**
 * What became of a job: done with (whatever the run's state), handed back to the queue at once,
 * or passed on (back to the queue after a pause: this worker cannot run it; RunProcessor).
 */
export type ExecutionResult = 'done' | 'hand-back' | 'pass-on';

/** How a run is to end: the state machine's message and what it records. */
export interface RunEnding {
  message: 'complete' | 'executor_error' | 'system_error';
  options: TransitionOptions;
}

/** Name of the params file written at the root of the attachments (made unique if taken). */
export function paramsFileName(attachments: readonly string[]): string {
  let name = 'wes-params.json';
  for (let i = 1; attachments.includes(name); i++) name = `wes-params-${i}.json`;
  return name;
}
