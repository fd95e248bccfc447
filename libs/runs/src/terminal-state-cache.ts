import { RunState, isTerminal } from './states';

/**
 * Terminal states a process has read. They never change once written, so they are kept
 * without expiry (up to a bound, oldest dropped first); non-terminal states are never stored.
 */
export class TerminalStateCache {
  private readonly states = new Map<string, RunState>();

  constructor(private readonly maxEntries = 200_000) {}

  get(runId: string): RunState | undefined {
    return this.states.get(runId);
  }

  remember(runId: string, state: RunState | null | undefined): void {
    if (!state || !isTerminal(state) || this.states.has(runId)) return;
    if (this.states.size >= this.maxEntries) {
      const oldest = this.states.keys().next().value;
      if (oldest !== undefined) this.states.delete(oldest);
    }
    this.states.set(runId, state);
  }

  /** Drops a run this process deleted (terminal states are sticky, but a deleted run is gone). */
  forget(runId: string): void {
    this.states.delete(runId);
  }

  get size(): number {
    return this.states.size;
  }
}
