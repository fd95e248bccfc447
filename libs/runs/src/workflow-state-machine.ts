import type { Redis } from 'ioredis';
import { splitRunFields } from './run-fields';
import { RunKeys } from './run-keys';
import { readRunTags } from './run-store';
import { RunMessage, RunState } from './states';
import { ACTIVE_COUNT_SCRIPT, DELETE_SCRIPT, ENQUEUE_SCRIPT, TRANSITION_SCRIPT } from './state-machine-scripts';
import { TerminalStateCache } from './terminal-state-cache';

export type TransitionResult =
  | { applied: true; from: RunState; to: RunState }
  /** `stale`: refused because the run has moved on from the attempt the sender named. */
  | { applied: false; state: RunState | null; stale?: boolean };

export interface TransitionOptions {
  /** Fields of the run record written in the same atomic step as the new state. */
  fields?: Record<string, string>;
  /** Lines appended to the run's system_logs in the same step. */
  systemLogs?: string[];
  /** The attempt the sender holds: the message is refused as stale if the run is on another. */
  attempt?: number;
}

/** A message the state machine refused: the run is not in a state the message is legal from. */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly runId: string,
    readonly message_: RunMessage,
    readonly state: RunState | null,
  ) {
    super(`run ${runId}: message ${message_} is not legal from state ${state ?? '(none)'}`);
  }
}

/**
 * A new run refused because its owner already has `limit` runs that are not finished (the
 * per-user active-run limit); `active` is how many it has.
 */
export class ActiveRunLimitError extends Error {
  override name = 'ActiveRunLimitError';
  constructor(
    readonly owner: string | undefined,
    readonly active: number,
    readonly limit: number,
  ) {
    super(`${owner ? `user ${owner}` : 'the anonymous user'} has ${active} active runs (limit ${limit})`);
  }
}

export interface EnqueueOptions {
  /** Refuse the run (ActiveRunLimitError) when its owner has this many active runs already; 0: no limit. */
  maxActiveRuns?: number;
}

interface ScriptedRedis {
  wesTransition(...args: (string | number)[]): Promise<[number, string, string?]>;
  wesEnqueue(...args: (string | number)[]): Promise<[number, number]>;
  wesActiveCount(set: string, prefix: string, limit: number): Promise<number>;
  wesDelete(...args: (string | number)[]): Promise<[number, string]>;
}

/** What `remove` did: removed a finished run, or refused (the run's state; null: no such run). */
export type RemoveResult = { removed: true; state: RunState } | { removed: false; state: RunState | null };

/** The tags of a run's record fields (the JSON of its `tags` field), for their indexes. */
function tagsOf(json: string | undefined | null): Record<string, string> {
  return json ? (JSON.parse(json) as Record<string, string>) : {};
}

/**
 * The one authority on a run's WES state. Every change is a message applied by one Lua script
 * (compare the state, then set), so two processes racing on a run cannot both win, and
 * terminal states, which no message leaves, stay as first written.
 */
export class WorkflowStateMachine {
  private readonly scripted: ScriptedRedis;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RunKeys,
    private readonly cache: TerminalStateCache = new TerminalStateCache(),
  ) {
    if (!('wesTransition' in redis)) {
      redis.defineCommand('wesTransition', { numberOfKeys: 4, lua: TRANSITION_SCRIPT });
      // The number of keys comes first in each call: a run has as many tag indexes as tags.
      redis.defineCommand('wesEnqueue', { lua: ENQUEUE_SCRIPT });
      redis.defineCommand('wesDelete', { lua: DELETE_SCRIPT });
      redis.defineCommand('wesActiveCount', { numberOfKeys: 1, lua: ACTIVE_COUNT_SCRIPT });
    }
    this.scripted = redis as unknown as ScriptedRedis;
  }

  /**
   * Records a new run in QUEUED with its fields and first system_logs lines; false when the id
   * is taken. It is listed by the QUEUED index, then by its state's (RunKeys.listIndexes). A
   * field `owner` (the user who submitted it) also puts the run in that owner's index.
   * The run counts among its owner's active runs until it reaches a terminal state; with
   * `maxActiveRuns`, a run beyond them is refused (ActiveRunLimitError) in the same atomic step.
   */
  async enqueue(
    runId: string,
    fields: Record<string, string>,
    now = Date.now(),
    systemLogs: readonly string[] = [],
    options: EnqueueOptions = {},
  ): Promise<boolean> {
    const k = this.keys;
    const { short, long } = splitRunFields(fields, true);
    const limit = options.maxActiveRuns ?? 0;
    const tagIndexes = k.tagIndexes(tagsOf(fields.tags));
    const [code, active] = await this.scripted.wesEnqueue(
      6 + tagIndexes.length,
      k.run(runId),
      k.counts,
      k.doc(runId),
      k.systemLogs(runId),
      fields.owner ? k.ownerIndex(fields.owner) : '',
      k.activeRuns(fields.owner),
      ...tagIndexes,
      runId,
      now,
      k.prefix,
      limit,
      short.length,
      ...short.flat(),
      long.length,
      ...long.flat(),
      ...systemLogs,
    );
    if (code === -1) throw new ActiveRunLimitError(fields.owner, active, limit);
    return code === 1;
  }

  /**
   * How many runs of `owner` (undefined: the runs without an owner) are not finished, counted
   * as enqueue counts them; with `limit`, ids of finished or missing runs are dropped first
   * once the count reaches it (the set heals itself where it matters).
   */
  async activeRuns(owner: string | undefined, limit = 0): Promise<number> {
    return this.scripted.wesActiveCount(this.keys.activeRuns(owner), this.keys.prefix, limit);
  }

  /**
   * Removes a finished run from Redis (DELETE_SCRIPT: its index entries, counter and record in
   * one step, its id left in the `deleting` set until its files are gone too). A run that is
   * not finished, or not there, is refused. The tags are read first: they never change.
   */
  async remove(runId: string, now = Date.now()): Promise<RemoveResult> {
    const k = this.keys;
    const tagIndexes = k.tagIndexes((await readRunTags(this.redis, k, [runId]))[0]);
    const [code, state] = await this.scripted.wesDelete(
      7 + tagIndexes.length,
      k.run(runId),
      k.doc(runId),
      k.systemLogs(runId),
      k.tasks(runId),
      k.index,
      k.counts,
      k.deleting,
      ...tagIndexes,
      runId,
      k.prefix,
      now,
    );
    if (code === 1) {
      this.cache.forget(runId);
      return { removed: true, state: state as RunState };
    }
    return { removed: false, state: code === -1 ? null : (state as RunState) };
  }

  /** Applies a message; the result says whether it was applied or refused (and the state then). */
  async send(runId: string, message: RunMessage, options: TransitionOptions = {}): Promise<TransitionResult> {
    const k = this.keys;
    const { short, long } = splitRunFields(options.fields ?? {});
    const [code, a, b] = await this.scripted.wesTransition(
      k.run(runId),
      k.counts,
      k.systemLogs(runId),
      k.doc(runId),
      message,
      Date.now(),
      runId,
      k.prefix,
      options.attempt === undefined ? '' : String(options.attempt),
      short.length,
      ...short.flat(),
      long.length,
      ...long.flat(),
      ...(options.systemLogs ?? []),
    );
    if (code === 1) {
      const to = b as RunState;
      this.cache.remember(runId, to);
      return { applied: true, from: a as RunState, to };
    }
    const state = code === -1 ? null : (a as RunState);
    this.cache.remember(runId, state);
    return b === 'stale' ? { applied: false, state, stale: true } : { applied: false, state };
  }

  /** Like send, but a refused message is thrown as IllegalTransitionError. */
  async sendOrThrow(runId: string, message: RunMessage, options?: TransitionOptions): Promise<RunState> {
    const result = await this.send(runId, message, options);
    if (!result.applied) throw new IllegalTransitionError(runId, message, result.state);
    return result.to;
  }

  /** The run's state (null when there is no such run); terminal states come from the cache. */
  async getState(runId: string): Promise<RunState | null> {
    const cached = this.cache.get(runId);
    if (cached) return cached;
    const state = (await this.redis.hget(this.keys.run(runId), 'state')) as RunState | null;
    this.cache.remember(runId, state);
    return state;
  }
}
