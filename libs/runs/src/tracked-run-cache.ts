import type { Redis } from 'ioredis';
import { RunKeys } from './run-keys';
import { RunState } from './states';
import { TerminalStateCache } from './terminal-state-cache';

/** What the API's read path needs of a run on every request: its state (null: no such run) and owner. */
export interface RunHead {
  state: RunState | null;
  owner: string | undefined;
}

/** The channel Redis publishes invalidations on for a client tracking with REDIRECT (RESP2). */
export const INVALIDATE_CHANNEL = '__redis__:invalidate';

/** A cached run head, or the placeholder of a read in flight (Redis's "caching in progress"). */
interface Entry {
  head?: RunHead;
  read?: Promise<RunHead>;
}

/** What the cache reports of its connections (the API logs it). */
export type TrackedRunCacheEvent = { kind: 'serving' } | { kind: 'lost'; connection: 'tracking' | 'invalidations'; reason: string } | { kind: 'failed'; err: string };

/**
 * Run heads (state, owner) held in memory by Redis's server-assisted client-side caching, so the
 * API answers repeated polls of a run that is not finished without a read of its hash each time.
 *
 * Two connections of its own: `tracking` reads run hashes with `CLIENT TRACKING ON REDIRECT <id>`,
 * so Redis remembers every key it read and, when one changes (a transition by any process, a
 * deletion, an expiry, a FLUSHALL), publishes the key on `__redis__:invalidate` to the
 * `invalidations` connection (RESP2, subscribed to that channel), which drops it from the cache.
 *
 * What keeps a poll from ever answering a state older than a transition whose reply came before
 * the poll started:
 * - The fence. Redis queues a transition's invalidation on the invalidations connection before it
 *   sends the transition's reply, but the two travel on different connections, so this process may
 *   see the poll before the invalidation. Every cached read therefore waits for a PING on the
 *   invalidations connection sent after the read started: Redis answers it after everything it
 *   queued there before, so by its PONG every invalidation of a transition that finished before
 *   the poll started has been applied. A PING on the tracking connection goes with it: Redis says
 *   nothing when a tracking client is killed (its later changes are simply not reported), and this
 *   process may learn of the close after the other PONG; an answer on that very connection proves
 *   tracking was on throughout. Reads waiting at the same time share one pair of PINGs (at most
 *   two pairs in line): two commands for a burst of polls instead of one per poll.
 * - The read race. A read that misses puts a placeholder in the cache before it is sent; an
 *   invalidation of the key removes it; the reply is stored only if its own placeholder is still
 *   there (no invalidation of that key since the read was sent), otherwise answered but not kept.
 *   Another read finding the placeholder (after its own fence) waits for that read's reply: no
 *   invalidation of the key arrived since that read was sent, so its value is current.
 * - Loss. Redis sends nothing to a redirect target that is gone and forgets tracking on a closed
 *   connection; so on close, reconnect, end or error of either connection the cache is emptied,
 *   reads go to Redis directly (the shared connection), and caching resumes only once both are
 *   ready again, subscribed, and CLIENT TRACKING was sent again with the subscriber's new id. A
 *   generation counter, bumped on every loss, keeps replies of reads sent before it out.
 * - An invalidation without keys (FLUSHALL, FLUSHDB, a full tracking table) empties the cache.
 *
 * At most `maxEntries` runs (least recently used dropped first); 0 turns caching off and every
 * read goes to Redis. Terminal states still come from the TerminalStateCache first (no fence).
 */
/** How long a fence's PINGs may go unanswered before the silent connection is taken for lost. */
export const FENCE_TIMEOUT_MS = 2000;

export class TrackedRunCache {
  private readonly entries = new Map<string, Entry>();
  private tracking?: Redis;
  private invalidations?: Redis;
  /** Whether reads may be served from, and stored in, the cache (both connections up, tracking on). */
  private serving = false;
  /** Bumped on every loss of either connection: replies of reads sent before it are not stored. */
  private generation = 0;
  /** CLIENT ID of the invalidations connection while subscribed; undefined after it closed. */
  private redirectId?: number;
  /** Bumped when the invalidations connection closes, so an id read before it is not kept. */
  private redirectSession = 0;
  private enabling = false;
  private enableAgain = false;
  private closed = false;
  private fenceInFlight?: Promise<void>;
  private fenceNext?: Promise<void>;
  /** Rejecters of the fences and enabling steps waiting on the connections (see guarded). */
  private readonly pending = new Set<(err: Error) => void>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RunKeys,
    private readonly maxEntries: number,
    private readonly terminal?: TerminalStateCache,
    private readonly report: (event: TrackedRunCacheEvent) => void = () => undefined,
  ) {}

  /** Opens the two connections (not awaited: the API starts while Redis is away too). */
  start(): void {
    if (this.maxEntries <= 0 || this.tracking) return;
    // Pending commands are not sent again after a reconnect (a PING resent on a new connection
    // proves nothing about the invalidations the old one lost), nor is the subscription: enable()
    // takes the new connection's id first, which cannot be asked once subscribed.
    this.invalidations = this.redis.duplicate({ connectionName: 'wes-api-invalidations', autoResubscribe: false, autoResendUnfulfilledCommands: false, enableAutoPipelining: false });
    this.tracking = this.redis.duplicate({ connectionName: 'wes-api-tracking', enableAutoPipelining: false });
    this.invalidations.on('messageBuffer', (channel: Buffer, keys: Buffer | Buffer[] | null) => {
      if (channel.toString() === INVALIDATE_CHANNEL) this.invalidate(keys);
    });
    for (const [conn, name] of [
      [this.invalidations, 'invalidations'],
      [this.tracking, 'tracking'],
    ] as const) {
      conn.on('ready', () => void this.enable());
      conn.on('close', () => this.lose(name, 'closed'));
      conn.on('end', () => this.lose(name, 'ended'));
      conn.on('reconnecting', () => this.lose(name, 'reconnecting'));
      conn.on('error', (err: Error) => {
        this.lose(name, err.message);
        // An error need not close the connection; if it did not, nothing else would re-enable.
        void this.enable();
      });
    }
  }

  /** Closes the two connections (not quit(): Redis may be gone; nothing pending matters). */
  close(): void {
    this.closed = true;
    this.lose('tracking', 'closed by this process');
    this.tracking?.disconnect();
    this.invalidations?.disconnect();
  }

  /** Whether reads are served from memory now (both connections up and tracking enabled). */
  get isServing(): boolean {
    return this.serving;
  }

  /** Runs held (placeholders of reads in flight included). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The run's state (null: no such run): a terminal one from the TerminalStateCache, else from
   * `known` (a read() made for the same request, e.g. the API's owner check), else as read().
   */
  async state(runId: string, known?: RunHead): Promise<RunState | null> {
    const done = this.terminal?.get(runId);
    if (done) return done;
    const { state } = known ?? (await this.read(runId));
    this.terminal?.remember(runId, state);
    return state;
  }

  /** The run's state and owner, never older than a change whose reply reached anyone before this call. */
  async read(runId: string): Promise<RunHead> {
    const head = await this.readThrough(runId);
    // "No such run" is never taken from the cache alone: a full CI run once saw the owner check
    // get it for a run that existed (a 404 for another user's request instead of the 403), cause
    // not found yet. A missing run is rare on the hot path, so confirming it costs nothing there.
    return head.state === null ? this.direct(runId) : head;
  }

  private async readThrough(runId: string): Promise<RunHead> {
    if (!this.serving) return this.direct(runId);
    const generation = this.generation;
    try {
      await this.fence();
    } catch {
      return this.direct(runId);
    }
    if (!this.serving || generation !== this.generation) return this.direct(runId);
    const key = this.keys.run(runId);
    const found = this.entries.get(key);
    if (found) {
      // Least recently used first out: a hit moves to the end.
      this.entries.delete(key);
      this.entries.set(key, found);
      if (found.head) return found.head;
      if (found.read) return found.read.catch(() => this.direct(runId));
    }
    return this.readTracked(key, generation);
  }

  private async readTracked(key: string, generation: number): Promise<RunHead> {
    const entry: Entry = {};
    entry.read = this.tracking!.hmget(key, 'state', 'owner').then(([state, owner]) => ({ state: (state as RunState | null) ?? null, owner: owner || undefined }));
    this.entries.set(key, entry);
    this.evict();
    try {
      const head = await entry.read;
      // Kept only if no invalidation of the key (nor a loss) came since the read was sent.
      if (this.entries.get(key) === entry && generation === this.generation) {
        entry.head = head;
        entry.read = undefined;
      }
      return head;
    } catch (err) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw err;
    }
  }

  private async direct(runId: string): Promise<RunHead> {
    const [state, owner] = await this.redis.hmget(this.keys.run(runId), 'state', 'owner');
    return { state: (state as RunState | null) ?? null, owner: owner || undefined };
  }

  private evict(): void {
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) return;
      this.entries.delete(oldest);
    }
  }

  private invalidate(keys: Buffer | Buffer[] | null): void {
    // No keys: Redis dropped them all (FLUSHALL/FLUSHDB, or its tracking table was full).
    if (keys === null || keys === undefined) return this.entries.clear();
    for (const key of Array.isArray(keys) ? keys : [keys]) this.entries.delete(key.toString());
  }

  /**
   * Resolves once PINGs sent on both connections after this call were answered: every
   * invalidation Redis queued before has been applied, and tracking was on all along. Callers
   * arriving while a pair is out share the next. Rejected on a loss of either connection (the
   * caller then reads Redis directly).
   */
  private fence(): Promise<void> {
    if (!this.fenceInFlight) return this.ping();
    if (!this.fenceNext) {
      const next: Promise<void> = this.guarded(
        this.fenceInFlight
          .catch(() => undefined)
          .then(() => {
            if (this.fenceNext === next) this.fenceNext = undefined;
            return this.ping();
          }),
      );
      this.fenceNext = next;
    }
    return this.fenceNext;
  }

  private ping(): Promise<void> {
    const conns = [
      ['invalidations', this.invalidations!],
      ['tracking', this.tracking!],
    ] as const;
    const answered = [false, false];
    const sent = this.guarded(Promise.all(conns.map(([, conn], i) => conn.ping().then(() => void (answered[i] = true)))).then(() => undefined));
    this.fenceInFlight = sent;
    // A connection that neither answers nor closes (a half-open socket, a stalled server) must
    // not hold polls: it is taken for lost (the waiting reads go to Redis directly) and made anew,
    // which enables caching again once it is ready.
    const timer = setTimeout(() => {
      conns.forEach(([name, conn], i) => {
        if (answered[i]) return;
        this.lose(name, `no answer to PING within ${FENCE_TIMEOUT_MS} ms`);
        conn.disconnect(true);
      });
    }, FENCE_TIMEOUT_MS);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      if (this.fenceInFlight === sent) this.fenceInFlight = undefined;
    };
    sent.then(done, done);
    return sent;
  }

  /**
   * `p`, but rejected at the next loss. The invalidations connection drops what was pending when
   * it closed (a PING answered by its successor would prove nothing), so nothing else settles it.
   */
  private guarded<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      p.then(resolve, reject).finally(() => this.pending.delete(reject));
    });
  }

  private lose(connection: 'tracking' | 'invalidations', reason: string): void {
    // Closed, ended or reconnecting: the subscription and the client id went with the connection.
    if (connection === 'invalidations' && (reason === 'closed' || reason === 'ended' || reason === 'reconnecting')) {
      this.redirectId = undefined;
      this.redirectSession++;
    }
    this.generation++;
    this.entries.clear();
    const pending = [...this.pending];
    this.pending.clear();
    this.fenceInFlight = this.fenceNext = undefined;
    for (const reject of pending) reject(new Error(`Redis connection lost (${connection}: ${reason})`));
    if (this.serving) this.report({ kind: 'lost', connection, reason });
    this.serving = false;
  }

  /** Subscribes (once per connection of the invalidations side) and turns tracking on again. */
  private async enable(): Promise<void> {
    if (this.enabling) {
      this.enableAgain = true;
      return;
    }
    this.enabling = true;
    try {
      do {
        this.enableAgain = false;
        const invalidations = this.invalidations!;
        const tracking = this.tracking!;
        if (this.closed || this.serving || invalidations.status !== 'ready' || tracking.status !== 'ready') return;
        const generation = this.generation;
        if (this.redirectId === undefined) {
          const session = this.redirectSession;
          const id = (await this.guarded(invalidations.client('ID'))) as number;
          await this.guarded(invalidations.subscribe(INVALIDATE_CHANNEL));
          if (session !== this.redirectSession) {
            this.enableAgain = true;
            continue;
          }
          this.redirectId = id;
        }
        // OFF first: ON with another redirect target is not a change Redis makes in place.
        await this.guarded(tracking.client('TRACKING', 'OFF'));
        await this.guarded(tracking.client('TRACKING', 'ON', 'REDIRECT', String(this.redirectId)));
        if (generation === this.generation && !this.closed && this.redirectId !== undefined) {
          this.serving = true;
          this.report({ kind: 'serving' });
        } else {
          this.enableAgain = true;
        }
      } while (this.enableAgain);
    } catch (err) {
      // A loss brings another attempt; a refusal (a Redis without CLIENT TRACKING) leaves reads direct.
      this.report({ kind: 'failed', err: (err as Error).message });
    } finally {
      this.enabling = false;
    }
  }
}
