import type { Redis } from 'ioredis';
import { parseJson } from '../../json/src';
import { holderPlace, joinPieces, pieceFields, readRunField, splitRunFields } from './run-fields';
import { RunKeys } from './run-keys';
import { RunHolder, RunRecord, RunSummaryRow, decodeCommand, decodeRunRequest } from './run-model';
import { HELD_SYNC_SCRIPT, LIST_FILTERED_SCRIPT, LIST_PAGE_SCRIPT } from './state-machine-scripts';
import { ActiveState, RUN_STATES, RunState } from './states';

/** Conditions of a run list, all of which a listed run meets. */
export interface RunFilter {
  /** In one of these states (empty or absent: any). */
  states?: readonly RunState[];
  /** Carrying every one of these tags (key, value); each within MAX_INDEXED_TAG_LENGTH. */
  tags?: readonly (readonly [string, string])[];
  /** Submitted by this owner (absent: any owner). */
  owner?: string;
}

/**
 * Most runs one filtered page looks at: the script's time (and Redis's pause) stays that of a
 * few thousand small reads however many runs are stored; a page that finds fewer matches comes
 * back short, with a token to go on.
 */
export const LIST_FILTER_BUDGET = 1000;

const num = (v: string | null | undefined): number | undefined => (v == null || v === '' ? undefined : Number(v));

/** Rows of a run list from the list scripts' flat replies (5 values a run; a run gone meanwhile has no state). */
function summaryRows(flat: (string | null)[]): RunSummaryRow[] {
  const rows: RunSummaryRow[] = [];
  for (let i = 0; i + 5 <= flat.length; i += 5) {
    const [runId, state, start, end, tags] = flat.slice(i, i + 5);
    if (!state) continue;
    rows.push({ runId: runId!, state: state as RunState, start: num(start), end: num(end), tags: tags ? JSON.parse(tags) : {} });
  }
  return rows;
}

/**
 * The tags of each run, as recorded (pieces in the run hash, or the doc hash of a run recorded
 * before them: run-fields.ts); {} for a run without tags, or gone.
 */
export async function readRunTags(redis: Redis, keys: RunKeys, runIds: readonly string[]): Promise<Record<string, string>[]> {
  if (runIds.length === 0) return [];
  const pipe = redis.pipeline();
  runIds.forEach((id) => pipe.hmget(keys.run(id), ...pieceFields('tags')).hget(keys.doc(id), 'tags'));
  const res = (await pipe.exec()) ?? [];
  return runIds.map((_, i) => {
    const json = joinPieces((res[2 * i]?.[1] ?? []) as (string | null)[]) ?? ((res[2 * i + 1]?.[1] as string | null) || undefined);
    return json ? (JSON.parse(json) as Record<string, string>) : {};
  });
}

/** Reads run records, the run index and the state counters from Redis. */
export class RunStore {
  private readonly scripted: {
    wesListPage(index: string, prefix: string, max: string, limit: number): Promise<(string | null)[]>;
    wesListFiltered(...args: (string | number)[]): Promise<[(string | null)[], string]>;
    wesHeldSync(prefix: string, from: string, ...ids: string[]): Promise<number>;
  };

  constructor(
    private readonly redis: Redis,
    private readonly keys: RunKeys,
  ) {
    if (!('wesListPage' in redis)) {
      redis.defineCommand('wesListPage', { numberOfKeys: 1, lua: LIST_PAGE_SCRIPT });
      redis.defineCommand('wesListFiltered', { lua: LIST_FILTERED_SCRIPT });
      redis.defineCommand('wesHeldSync', { numberOfKeys: 0, lua: HELD_SYNC_SCRIPT });
    }
    this.scripted = redis as unknown as RunStore['scripted'];
  }

  async get(runId: string): Promise<RunRecord | null> {
    const res = await this.redis
      .multi()
      .hgetall(this.keys.run(runId))
      .hgetall(this.keys.doc(runId))
      .lrange(this.keys.systemLogs(runId), 0, -1)
      .exec();
    const h = (res?.[0]?.[1] ?? {}) as Record<string, string>;
    const d = (res?.[1]?.[1] ?? {}) as Record<string, string>;
    if (!h.state) return null;
    const long = (name: string) => readRunField(h, d, name);
    const tags = long('tags');
    const request = decodeRunRequest(long('request') ?? '{}', tags ? JSON.parse(tags) : {});
    const attachments = long('attachments');
    const cmd = long('cmd');
    const outputs = long('outputs');
    return {
      runId,
      state: h.state as RunState,
      request,
      engine: h.engine,
      // Not recorded when it is the workflow_url itself (run footprint).
      workflow: long('workflow') ?? request.workflow_url,
      attachments: attachments ? JSON.parse(attachments) : [],
      created: Number(h.created),
      start: num(h.start),
      end: num(h.end),
      cmd: cmd !== undefined ? decodeCommand(cmd) : undefined,
      exitCode: num(h.exit_code),
      outputs: outputs ? (parseJson(outputs) as Record<string, unknown>) : undefined,
      systemLogs: (res?.[2]?.[1] ?? []) as string[],
      cancelRequestedAt: num(h.cancel),
      owner: h.owner || undefined,
      attempt: Number(h.attempt ?? 0),
      worker: h.worker || undefined,
      ...holderPlace(h.worker, h.host, h.wpid),
      pgid: num(h.pgid),
      pool: h.pool || undefined,
    };
  }

  /**
   * One page of runs, newest first, after the run id `after` (exclusive). Run ids are
   * time-ordered, so the indexes are read by lexical range: the cost is that of the page, not of
   * the number of stored runs, and a token stays valid while new runs arrive (and while runs
   * change state: a run keeps its id, whichever state's index lists it). Every run: the merge of
   * the per-state indexes (listFiltered without a condition). With `owner`, only that owner's
   * runs, from its own index (the cost is still the page's).
   */
  async listPage(pageSize: number, after?: string, owner?: string): Promise<{ rows: RunSummaryRow[]; last?: string; more: boolean }> {
    // Every run: the merge of the per-state indexes (RunKeys.listIndexes), no index of all runs.
    if (owner === undefined) return this.listFiltered(pageSize, after, {});
    // One script reads the index and the page's records: one round trip whatever the page size.
    const flat = await this.scripted.wesListPage(this.keys.ownerIndex(owner), this.keys.prefix, after ? `(${after}` : '+', pageSize + 1);
    const found = flat.length / 5;
    const more = found > pageSize;
    const rows = summaryRows(flat.slice(0, 5 * Math.min(found, pageSize)));
    return { rows, last: found ? flat[5 * Math.min(found, pageSize) - 5]! : undefined, more };
  }

  /**
   * One page of the runs that meet `filter`, newest first, after `after` (exclusive): the
   * smallest of the filter's indexes (a state's, the union of several states', a tag's, the
   * owner's) is walked and each run checked against the rest (LIST_FILTERED_SCRIPT), at most
   * LIST_FILTER_BUDGET runs a page, so the cost does not grow with the number of stored runs.
   * `more` with a short page: the budget ran out; `last` is where to go on.
   */
  async listFiltered(pageSize: number, after: string | undefined, filter: RunFilter): Promise<{ rows: RunSummaryRow[]; last?: string; more: boolean }> {
    const k = this.keys;
    const states = [...new Set(filter.states ?? [])];
    const tags = filter.tags ?? [];
    const keys = [...states.map((s) => k.stateIndex(s)), ...tags.map(([key, value]) => k.tagIndex(key, value))];
    if (filter.owner !== undefined) keys.push(k.ownerIndex(filter.owner));
    keys.push(...k.listIndexes);
    const [flat, next] = await this.scripted.wesListFiltered(
      keys.length,
      ...keys,
      k.prefix,
      after ? `(${after}` : '+',
      pageSize,
      Math.max(LIST_FILTER_BUDGET, pageSize + 1),
      states.length,
      tags.length,
      filter.owner !== undefined ? '1' : '0',
      ...states,
    );
    return { rows: summaryRows(flat), last: next || undefined, more: next !== '' };
  }

  /**
   * The ids of every stored run, oldest first (each index of RunKeys.listIndexes read whole):
   * for tests, checks and tools, not for a request path.
   */
  async allRunIds(): Promise<string[]> {
    const pipe = this.redis.pipeline();
    for (const index of this.keys.listIndexes) pipe.zrange(index, 0, -1);
    const res = (await pipe.exec()) ?? [];
    return [...new Set(res.flatMap(([, ids]) => ids as string[]))].sort();
  }

  /** Whether the run exists, and its owner (none for a run submitted with authMode none). */
  async ownerOf(runId: string): Promise<{ exists: boolean; owner?: string }> {
    const [state, owner] = await this.redis.hmget(this.keys.run(runId), 'state', 'owner');
    return { exists: !!state, owner: owner || undefined };
  }

  /** Number of runs in each WES state, from the counters the transitions keep. */
  async counts(): Promise<Record<RunState, number>> {
    const h = await this.redis.hgetall(this.keys.counts);
    const out = {} as Record<RunState, number>;
    for (const s of RUN_STATES) out[s] = Number(h[s] ?? 0);
    return out;
  }

  /**
   * Ids of runs in an active state that entered it at or before `enteredBefore` (ms), oldest
   * first, at most `limit`: the index the transition scripts keep, so no scan of all runs.
   */
  async inState(state: ActiveState, enteredBefore = Number.MAX_SAFE_INTEGER, limit = 1000): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.inState(state), '-inf', enteredBefore, 'LIMIT', 0, limit);
  }

  /** The holders of these runs (runs that no longer exist are left out). */
  async holders(runIds: string[]): Promise<RunHolder[]> {
    if (runIds.length === 0) return [];
    const pipe = this.redis.pipeline();
    runIds.forEach((id) => pipe.hmget(this.keys.run(id), 'state', 'attempt', 'worker', 'host', 'wpid', 'pgid', 'cancel', 'pool'));
    const res = (await pipe.exec()) ?? [];
    const out: RunHolder[] = [];
    runIds.forEach((runId, i) => {
      const [state, attempt, worker, host, wpid, pgid, cancel, pool] = (res[i]?.[1] ?? []) as (string | null)[];
      if (!state) return;
      out.push({
        runId,
        state: state as RunState,
        attempt: Number(attempt ?? 0),
        worker: worker || undefined,
        ...holderPlace(worker, host, wpid),
        pgid: num(pgid),
        cancelRequestedAt: num(cancel),
        pool: pool || undefined,
      });
    });
    return out;
  }

  /** Ids of the runs worker `workerId` holds, from its set (RunKeys.heldRuns): its runs only. */
  async heldBy(workerId: string): Promise<string[]> {
    return this.redis.smembers(this.keys.heldRuns(workerId));
  }

  /** Ids of the workers that hold runs (RunKeys.holders), live or lost. */
  async holderIds(): Promise<string[]> {
    return this.redis.smembers(this.keys.holders);
  }

  /**
   * Makes the held-run sets true of these runs (HELD_SYNC_SCRIPT): each leaves the set of
   * `from` unless `from` still holds it, and joins its holder's set. Returns how many left.
   */
  async syncHeld(from: string | undefined, runIds: string[]): Promise<number> {
    if (runIds.length === 0) return 0;
    return this.scripted.wesHeldSync(this.keys.prefix, from ?? '', ...runIds);
  }

  /**
   * Writes fields of the run record that are not part of its state (e.g. the worker holding
   * it); an empty value deletes the field (run-fields.ts).
   */
  async setFields(runId: string, fields: Record<string, string>): Promise<void> {
    const { short, long } = splitRunFields(fields);
    const multi = this.redis.multi();
    for (const [key, pairs] of [
      [this.keys.run(runId), short],
      [this.keys.doc(runId), long],
    ] as const) {
      const set = pairs.filter(([, v]) => v !== '');
      const gone = pairs.filter(([, v]) => v === '').map(([f]) => f);
      if (set.length) multi.hset(key, Object.fromEntries(set));
      if (gone.length) multi.hdel(key, ...gone);
    }
    await multi.exec();
  }

  /** The run's current queue job and its pool (none recorded: `default`'s queue): where to find the job. */
  async jobOf(runId: string): Promise<{ jobId: string; pool?: string }> {
    const [job, pool] = await this.redis.hmget(this.keys.run(runId), 'job', 'pool');
    return { jobId: job || runId, pool: pool || undefined };
  }

  /** The engine a run was submitted for (undefined: no such run). */
  async engineOf(runId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.run(runId), 'engine')) ?? undefined;
  }

  /**
   * When the run last entered QUEUED, INITIALIZING and RUNNING, when a cancel was asked for and
   * when it ended (ms; undefined: not yet): the worker's latency metrics.
   */
  async times(runId: string): Promise<{ queued?: number; initializing?: number; running?: number; cancel?: number; end?: number }> {
    const [queued, created, initializing, running, start, cancel, end] = await this.redis.hmget(this.keys.run(runId), 't:QUEUED', 'created', 't:INITIALIZING', 't:RUNNING', 'start', 'cancel', 'end');
    // The enqueue writes no 't:QUEUED' (it is 'created'); a return to QUEUED does. Entering
    // RUNNING writes 'start' (and, in records of before, the same time as 't:RUNNING').
    return { queued: num(queued) ?? num(created), initializing: num(initializing), running: num(running) ?? num(start), cancel: num(cancel), end: num(end) };
  }

  async appendSystemLog(runId: string, line: string): Promise<void> {
    await this.redis.rpush(this.keys.systemLogs(runId), line);
  }
}
