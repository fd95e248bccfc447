import { KEY_PREFIX_PATTERN } from '../../config/src/settings';
import { RUN_STATES } from './states';

/**
 * The prefix every Redis key of a deployment starts with: the configured one, wrapped in braces
 * (`wes` → `{wes}`) unless it already holds a `{hash tag}`. Redis Cluster hashes only the tag, so
 * all of a deployment's keys, those the Lua scripts build from the prefix and BullMQ's, fall in
 * one slot, which the scripts and BullMQ's multi-key commands need. RunKeys and the BullMQ prefix
 * both come from here. Idempotent: a formed prefix forms itself.
 */
export function deploymentKeyPrefix(configured: string): string {
  if (!KEY_PREFIX_PATTERN.test(configured)) {
    throw new Error(`key prefix "${configured}" must be letters, digits, _ . - with at most one non-empty {hash tag}`);
  }
  return configured.includes('{') ? configured : `{${configured}}`;
}

/**
 * Longest tag key, and longest tag value, that goes into a tag index's key name (characters,
 * before encoding). A longer tag is kept with the run but not indexed, and a filter naming one
 * is refused: key names stay short whatever a client sends.
 */
export const MAX_INDEXED_TAG_LENGTH = 128;

/**
 * A tag key or value as it goes into a key name: percent-encoded, `*` too, so no brace (a
 * Redis Cluster hash tag), space, `*` (a glob in SCAN/KEYS) or colon (our separator) reaches it.
 */
export function encodeTagPart(part: string): string {
  return encodeURIComponent(part).replace(/[*!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Whether a tag is indexed (both its key and its value within MAX_INDEXED_TAG_LENGTH). */
export function isIndexedTag(key: string, value: string): boolean {
  return key.length <= MAX_INDEXED_TAG_LENGTH && value.length <= MAX_INDEXED_TAG_LENGTH;
}

/**
 * Names of every Redis key and channel the run model uses, under one prefix. The transition
 * scripts build `inState` and `cancelChannel` names from the prefix themselves: keep them alike.
 */
export class RunKeys {
  /** The deployment's prefix as the keys carry it, hash tag included (deploymentKeyPrefix). */
  readonly prefix: string;

  /** `keyPrefix`: the configured prefix (settings.keyPrefix), with or without its hash tag. */
  constructor(keyPrefix: string) {
    this.prefix = deploymentKeyPrefix(keyPrefix);
  }

  /** Prefix of BullMQ's keys (`<prefix>:bull:<queue>:…`), in the deployment's hash slot. */
  get bullPrefix(): string {
    return `${this.prefix}:bull`;
  }

  /**
   * Hash of the run's fields: state, times, attempt, holder, exit code, and its long fields (the
   * request, command line, outputs...) cut into pieces (run-fields.ts). Every value stays within
   * Redis's default `hash-max-listpack-value` (64 bytes), so Redis keeps it as a compact listpack.
   */
  run(runId: string): string {
    return `${this.prefix}:run:${runId}`;
  }

  /**
   * Hash of those of the run's long fields (RUN_DOC_FIELDS) too long to be cut into pieces in
   * the run hash; of all of them, for runs recorded before the pieces (run-fields.ts).
   */
  doc(runId: string): string {
    return `${this.prefix}:run:${runId}:doc`;
  }

  /** List: system_logs lines of a run. */
  systemLogs(runId: string): string {
    return `${this.prefix}:run:${runId}:syslog`;
  }

  /**
   * List of the run's tasks (engine jobs) of its current attempt, in start order: index n is
   * the task with id n + 1, each a JSON TaskRecord (task-store.ts).
   */
  tasks(runId: string): string {
    return `${this.prefix}:run:${runId}:tasks`;
  }

  /**
   * Sorted set (all scores 0) of the ids of runs recorded before the per-state indexes held
   * every run (no longer written: a run is listed by its state's index, `stateIndex`, which
   * the index backfill also fills for these runs). Still read by the run list, beside the
   * per-state indexes, until those runs are deleted; the delete script removes them from it.
   */
  get index(): string {
    return `${this.prefix}:runs`;
  }

  /**
   * The sorted sets that together list every run, once or twice (all scores 0, run ids, which
   * are time-ordered, so lexical order is age order): the index of each state and the run index
   * of before (`index`). The run list walks and merges them (LIST_FILTERED_SCRIPT); RunStore.allRunIds reads them all.
   */
  get listIndexes(): string[] {
    return [...RUN_STATES.map((s) => this.stateIndex(s)), this.index];
  }

  /**
   * Sorted set (all scores 0) of the run ids of one owner, written by the enqueue script beside
   * its state's index: a user's run list costs the page, not all runs. `owner` is a static user's name
   * (`A-Z a-z 0-9 _ . @ -`) or a JWT user's `oidc:<percent-encoded>` (libs/auth oidcOwner): no
   * space, brace or `*` reaches the key.
   */
  ownerIndex(owner: string): string {
    return `${this.prefix}:owner:${owner}:runs`;
  }

  /**
   * Set of the ids of one user's runs not yet in a terminal state (QUEUED through CANCELING):
   * what the per-user active-run limit counts. Runs without an owner (authMode none) share one
   * set, as one user. Written by the enqueue script, emptied by the transition script on the
   * way to a terminal state (which builds this name from the prefix and the run's `owner`
   * field itself: keep them alike), and pruned of ids whose run is terminal or gone when a
   * user nears the limit. Whatever deletes a run record must remove its id here too.
   */
  activeRuns(owner: string | undefined): string {
    return owner ? `${this.prefix}:owner:${owner}:active` : `${this.prefix}:anonymous:active`;
  }

  /** Prefix of the submit rate limiter's counters (rate-limiter-flexible adds `:<user>`). */
  get submitRate(): string {
    return `${this.prefix}:rate:submit`;
  }

  /**
   * Sorted set (all scores 0) of the ids of the runs now in `state`, any state, terminal ones
   * included: what a `state` filter of the run list reads by lexical range, and, all of them
   * merged (listIndexes), the run list without a filter. The
   * enqueue, transition and delete scripts build this name from the prefix themselves
   * (`<prefix>:state:<STATE>:runs`): keep them alike.
   */
  stateIndex(state: string): string {
    return `${this.prefix}:state:${state}:runs`;
  }

  /**
   * Sorted set (all scores 0) of the ids of the runs tagged `key: value`, written by the
   * enqueue script (tags never change after submit), emptied of a run by the delete script:
   * what a `tag` filter of the run list reads. Only tags within MAX_INDEXED_TAG_LENGTH.
   */
  tagIndex(key: string, value: string): string {
    return `${this.prefix}:tag:${encodeTagPart(key)}:${encodeTagPart(value)}:runs`;
  }

  /** The tag indexes a run with these tags is in. */
  tagIndexes(tags: Record<string, string>): string[] {
    return Object.entries(tags)
      .filter(([k, v]) => isIndexedTag(k, v))
      .map(([k, v]) => this.tagIndex(k, v));
  }

  /**
   * Sorted set of the ids of deleted runs whose files may still be in the object store, scored
   * by the deletion time: the delete script adds the id as it removes the record, the deleter
   * removes it once the files are gone; the reaper finishes what a crash left in between.
   */
  get deleting(): string {
    return `${this.prefix}:deleting`;
  }

  /**
   * String: the last run folder of the object store the orphan sweep has looked at (the
   * folders are run ids, time-ordered: each is looked at once, a day after its submit).
   */
  get orphanSweepCursor(): string {
    return `${this.prefix}:orphan-sweep`;
  }

  /** String with a TTL: while it lives, the orphan sweep, caught up with the aged folders, waits. */
  get orphanSweepPause(): string {
    return `${this.prefix}:orphan-sweep:pause`;
  }

  /**
   * String: how far the backfill of the per-state and per-tag indexes has gone through the run
   * index (the last id done, or `done`): runs recorded before those indexes existed.
   */
  get indexBackfillCursor(): string {
    return `${this.prefix}:index-backfill`;
  }

  /** Sorted set of the runs now in an active state, scored by the time they entered it. */
  inState(state: string): string {
    return `${this.prefix}:in:${state}`;
  }

  /** Lock held by whichever process is sweeping for lost runs. */
  get reaperLock(): string {
    return `${this.prefix}:reaper`;
  }

  /** Hash: number of runs in each state, kept by the transition scripts. */
  get counts(): string {
    return `${this.prefix}:counts`;
  }

  /**
   * Pub/sub channel on which the delete script publishes a deleted run's id (the script builds
   * the name from the prefix: keep them alike): the APIs drop it from their terminal-state cache.
   */
  get deletedChannel(): string {
    return `${this.prefix}:deleted`;
  }

  /** Pub/sub channel on which a cancel of an INITIALIZING or RUNNING run is broadcast. */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  /** Set of live worker ids, and each worker's heartbeat record. */
  get workers(): string {
    return `${this.prefix}:workers`;
  }

  /**
   * String: the random key of the API's signed links when WES_LINK_SIGNING_KEY is empty, written
   * once (SET NX) by the first API process and read by every other, with no expiry.
   */
  get linkSigningKey(): string {
    return `${this.prefix}:link-signing-key`;
  }

  worker(workerId: string): string {
    return `${this.prefix}:worker:${workerId}`;
  }

  /**
   * Set of the ids of the runs worker `workerId` holds: those in a held state (HELD_STATES)
   * whose `worker` field names it. Kept by the transition and delete scripts (which build the
   * name from the prefix: keep them alike), so a worker's own orphan check and the reaper read
   * a worker's runs, not every active run. Unlike the worker's heartbeat record it has no TTL: a
   * lost worker's set stays until the reaper has settled its runs (Redis drops an empty set).
   */
  heldRuns(workerId: string): string {
    return `${this.prefix}:worker:${workerId}:runs`;
  }

  /**
   * Set of the ids of the workers whose `heldRuns` set is not empty, kept by the same scripts:
   * where the reaper looks for lost holders (a lost worker has dropped out of `workers`).
   */
  get holders(): string {
    return `${this.prefix}:holders`;
  }

  /**
   * String: how far the backfill of the held-run sets has gone through the indexes of the held
   * states (HeldRunsBackfill), or `done`: runs held before those sets existed.
   */
  get heldBackfillCursor(): string {
    return `${this.prefix}:held-backfill`;
  }
}
