import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { WesSettings } from '../../../../libs/config/src';
import type { Logger } from '../../../../libs/logging/src';
import { LOGGER, REDIS } from '../../../../libs/platform/src';
import { ActiveRunLimitError, RunKeys, WorkflowStateMachine } from '../../../../libs/runs/src';
import type { Caller } from '../auth/caller';
import { TooManyRequestsError } from '../common/wes-errors';

/**
 * Retry-After of a submit refused for the active-run limit. When one of the user's runs ends
 * is unknown, so this is only a hint of a sensible pause, and the message says so.
 */
export const ACTIVE_LIMIT_RETRY_AFTER_SECONDS = 30;

/** A user's limits: the defaults of the settings, or its authUsers entry's own (0: no limit). */
export interface UserLimits {
  maxActiveRuns: number;
  submitsPerMinute: number;
}

/** The rate limiter's key of callers without an owner (authMode none): no user name has a `*`. */
const ANONYMOUS_KEY = '*';

/**
 * The per-user submit limits, so that one user cannot starve the pool: submissions per minute
 * (rate-limiter-flexible counters in Redis, shared by every API process) and active runs (the
 * owner's set of active runs, which the enqueue script checks atomically; `admit` looks first
 * so a refused submit costs little). They count by run owner; with authMode none every caller
 * is the same anonymous user, so the limits cap the server as a whole. Admins are limited too
 * (an authUsers entry can lift a user's limits with 0).
 */
@Injectable()
export class SubmitLimits {
  /** One limiter per points value (per-user overrides differ); they share the counters' keys. */
  private readonly rateLimiters = new Map<number, RateLimiterRedis>();
  private readonly perUser: Map<string, UserLimits>;
  private readonly defaults: UserLimits;

  constructor(
    settings: WesSettings,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RunKeys,
    private readonly stateMachine: WorkflowStateMachine,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.defaults = { maxActiveRuns: settings.limitActiveRunsPerUser, submitsPerMinute: settings.limitSubmitsPerMinute };
    this.perUser = new Map(
      settings.authUsers.map((u) => [
        u.name,
        { maxActiveRuns: u.maxActiveRuns ?? this.defaults.maxActiveRuns, submitsPerMinute: u.submitsPerMinute ?? this.defaults.submitsPerMinute },
      ]),
    );
  }

  limitsOf(caller: Caller): UserLimits {
    return (caller.owner && this.perUser.get(caller.owner)) || this.defaults;
  }

  /**
   * Before a submission's body is read: counts it against the caller's submits per minute, and
   * refuses it at once when the caller already has its most active runs. Throws TooManyRequestsError.
   */
  async admit(caller: Caller): Promise<void> {
    const limits = this.limitsOf(caller);
    if (limits.submitsPerMinute > 0) await this.consumeSubmit(caller, limits.submitsPerMinute);
    if (limits.maxActiveRuns > 0) {
      const active = await this.stateMachine.activeRuns(caller.owner, limits.maxActiveRuns);
      if (active >= limits.maxActiveRuns) throw this.activeLimitReached(caller.owner, active, limits.maxActiveRuns);
    }
  }

  /** The 429 of a run the enqueue script refused for the active-run limit. */
  refusal(err: ActiveRunLimitError): TooManyRequestsError {
    return this.activeLimitReached(err.owner, err.active, err.limit);
  }

  private async consumeSubmit(caller: Caller, points: number): Promise<void> {
    let limiter = this.rateLimiters.get(points);
    if (!limiter) {
      limiter = new RateLimiterRedis({ storeClient: this.redis, keyPrefix: this.keys.submitRate, points, duration: 60 });
      this.rateLimiters.set(points, limiter);
    }
    try {
      await limiter.consume(caller.owner ?? ANONYMOUS_KEY);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfter = Math.min(60, Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
      this.logger.info({ action: 'submit-refused', user: caller.name, limit: 'submitsPerMinute', value: points }, 'submit refused: rate limit');
      throw new TooManyRequestsError(
        `too many submissions: ${who(caller.owner)} may submit ${runs(points)} per minute (the submit rate limit); try again in ${retryAfter} s`,
        retryAfter,
      );
    }
  }

  private activeLimitReached(owner: string | undefined, active: number, limit: number): TooManyRequestsError {
    this.logger.info({ action: 'submit-refused', user: owner ?? 'anonymous', limit: 'maxActiveRuns', value: limit, active }, 'submit refused: active-run limit');
    return new TooManyRequestsError(
      `too many active runs: ${who(owner)} has ${runs(active)} not yet finished (queued, initializing, running or canceling) ` +
        `and may have at most ${limit} (the active-run limit); submit again once one of them has ended or been cancelled ` +
        `(Retry-After ${ACTIVE_LIMIT_RETRY_AFTER_SECONDS} s is only a hint)`,
      ACTIVE_LIMIT_RETRY_AFTER_SECONDS,
    );
  }
}

const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`;

function who(owner: string | undefined): string {
  return owner ? `user "${owner}"` : 'the anonymous user (authMode none: every caller counts as one user)';
}
