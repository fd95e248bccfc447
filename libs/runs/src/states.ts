/** WES 1.1 run states. */
export const RUN_STATES = [
  'UNKNOWN',
  'QUEUED',
  'INITIALIZING',
  'RUNNING',
  'PAUSED',
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'CANCELING',
  'PREEMPTED',
] as const;
export type RunState = (typeof RUN_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<RunState> = new Set<RunState>([
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
]);

/** States of a run that is not finished; the transition scripts keep an index of each. */
export const ACTIVE_STATES = ['QUEUED', 'INITIALIZING', 'RUNNING', 'CANCELING'] as const satisfies readonly RunState[];
export type ActiveState = (typeof ACTIVE_STATES)[number];

/**
 * Active states in which a worker holds the run (its `worker` field names it): what recovery
 * settles when that worker is lost, and what the per-worker sets of held runs list.
 */
export const HELD_STATES = ['INITIALIZING', 'RUNNING', 'CANCELING'] as const satisfies readonly ActiveState[];
export type HeldState = (typeof HELD_STATES)[number];

export function isTerminal(state: RunState | string | null | undefined): boolean {
  return state != null && TERMINAL_STATES.has(state as RunState);
}

/** Messages of the WorkflowStateMachine other than `enqueue` (which creates the run). */
export type RunMessage =
  | 'initialize'
  | 'run'
  | 'complete'
  | 'executor_error'
  | 'system_error'
  | 'cancel'
  | 'canceled'
  | 'preempt';

/**
 * The transition table of the design brief: for each message, each state it is legal from and
 * the state it leads to. A message from any other state is refused; terminal states appear
 * in no row, so nothing ever leaves them.
 */
export const TRANSITIONS: { readonly [M in RunMessage]: Readonly<Partial<Record<RunState, RunState>>> } = {
  initialize: { QUEUED: 'INITIALIZING' },
  run: { INITIALIZING: 'RUNNING' },
  complete: { RUNNING: 'COMPLETE' },
  executor_error: { INITIALIZING: 'EXECUTOR_ERROR', RUNNING: 'EXECUTOR_ERROR' },
  system_error: {
    QUEUED: 'SYSTEM_ERROR',
    INITIALIZING: 'SYSTEM_ERROR',
    RUNNING: 'SYSTEM_ERROR',
    CANCELING: 'SYSTEM_ERROR',
  },
  cancel: { QUEUED: 'CANCELED', INITIALIZING: 'CANCELING', RUNNING: 'CANCELING' },
  canceled: { CANCELING: 'CANCELED' },
  /** Worker-loss handling, policy "requeue": the run goes back to the queue for another attempt. */
  preempt: { INITIALIZING: 'QUEUED', RUNNING: 'QUEUED' },
};
