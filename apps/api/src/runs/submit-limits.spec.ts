import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../../../../test/helpers/private-redis';
import { WesSettings } from '../../../../libs/config/src';
import { createLogger } from '../../../../libs/logging/src';
import { ActiveRunLimitError, RunKeys, WorkflowStateMachine } from '../../../../libs/runs/src';
import { ANONYMOUS, Caller } from '../auth/caller';
import { TooManyRequestsError } from '../common/wes-errors';
import { ACTIVE_LIMIT_RETRY_AFTER_SECONDS, SubmitLimits } from './submit-limits';

/**
 * SubmitLimits against a real private redis-server: which limits apply to whom (defaults,
 * authUsers overrides, admins, authMode none's single anonymous user) and the 429s they give.
 */
const r = usePrivateRedis();

const user = (name: string, admin = false): Caller => (admin ? { name, owner: name, admin: true, roles: ['admin'] } : { name, owner: name, admin: false, roles: [] });

function setUp(settings: Partial<WesSettings>) {
  const keys = new RunKeys(`lim-${randomBytes(4).toString('hex')}`);
  const machine = new WorkflowStateMachine(r.redis, keys);
  const limits = new SubmitLimits(Object.assign(new WesSettings(), settings), r.redis, keys, machine, createLogger('spec', 'silent'));
  let seq = 0;
  /** Records a run the way RunsService does, with the caller's active-run limit. */
  const enqueue = (caller: Caller) =>
    machine.enqueue(`run-${++seq}`, { request: '{}', ...(caller.owner ? { owner: caller.owner } : {}) }, Date.now(), [], { maxActiveRuns: limits.limitsOf(caller).maxActiveRuns });
  return { limits, machine, enqueue };
}

const refusal = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err as TooManyRequestsError);

describe('SubmitLimits', () => {
  it('gives each user the defaults unless its authUsers entry says otherwise (0 lifts a limit)', () => {
    const { limits } = setUp({
      limitActiveRunsPerUser: 2,
      limitSubmitsPerMinute: 5,
      authUsers: [
        { name: 'big', roles: [], tokenSha256: 'a'.repeat(64), maxActiveRuns: 10 },
        { name: 'free', roles: ['admin'], tokenSha256: 'b'.repeat(64), maxActiveRuns: 0, submitsPerMinute: 0 },
      ],
    });
    expect(limits.limitsOf(user('alice'))).toEqual({ maxActiveRuns: 2, submitsPerMinute: 5 });
    expect(limits.limitsOf(user('big'))).toEqual({ maxActiveRuns: 10, submitsPerMinute: 5 });
    expect(limits.limitsOf(user('free', true))).toEqual({ maxActiveRuns: 0, submitsPerMinute: 0 });
    // Admins are limited like anyone else unless their entry lifts it.
    expect(limits.limitsOf(user('root', true))).toEqual({ maxActiveRuns: 2, submitsPerMinute: 5 });
    expect(limits.limitsOf(ANONYMOUS)).toEqual({ maxActiveRuns: 2, submitsPerMinute: 5 });
  });

  it('counts submits per user per minute; the refusal says which limit, its value and when to retry', async () => {
    const { limits } = setUp({ limitSubmitsPerMinute: 2 });
    await limits.admit(user('alice'));
    await limits.admit(user('alice'));
    const err = await refusal(limits.admit(user('alice')));
    expect(err).toBeInstanceOf(TooManyRequestsError);
    expect(err?.statusCode).toBe(429);
    expect(err?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(err?.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(err?.message).toBe(`too many submissions: user "alice" may submit 2 runs per minute (the submit rate limit); try again in ${err?.retryAfterSeconds} s`);
    await limits.admit(user('bob'));
  });

  it('refuses before the body when the user has its most active runs, and after, when a racing submit took the slot', async () => {
    const { limits, enqueue } = setUp({ limitActiveRunsPerUser: 1 });
    await limits.admit(user('alice'));
    // Two submits past the first check: the script lets one through.
    await limits.admit(user('alice'));
    await enqueue(user('alice'));
    const raced = await enqueue(user('alice')).catch((e: unknown) => e);
    expect(raced).toBeInstanceOf(ActiveRunLimitError);
    const fromScript = limits.refusal(raced as ActiveRunLimitError);
    const early = await refusal(limits.admit(user('alice')));
    for (const err of [fromScript, early]) {
      expect(err?.retryAfterSeconds).toBe(ACTIVE_LIMIT_RETRY_AFTER_SECONDS);
      expect(err?.message).toContain('too many active runs: user "alice" has 1 run not yet finished');
      expect(err?.message).toContain('at most 1');
    }
    await limits.admit(user('bob'));
  });

  it('with authMode none, counts every caller as one anonymous user, and says so', async () => {
    const { limits, enqueue } = setUp({ limitActiveRunsPerUser: 2 });
    await enqueue(ANONYMOUS);
    await enqueue(ANONYMOUS);
    const active = await refusal(limits.admit(ANONYMOUS));
    expect(active?.message).toContain('too many active runs: the anonymous user (authMode none: every caller counts as one user) has 2 runs');
    const rated = setUp({ limitSubmitsPerMinute: 1 }).limits;
    await rated.admit(ANONYMOUS);
    const rate = await refusal(rated.admit(ANONYMOUS));
    expect(rate?.message).toContain('too many submissions: the anonymous user (authMode none: every caller counts as one user) may submit 1 run per minute');
  });
});
