import { describe, expect, it } from 'vitest';
import { nextPollDelay } from './run-monitor';

describe('the wait between status polls', () => {
  it('is a twentieth of the time waited so far, at least 50 ms and at most a second', () => {
    expect(nextPollDelay(0)).toBe(50);
    expect(nextPollDelay(500)).toBe(50);
    expect(nextPollDelay(2_500)).toBe(125);
    expect(nextPollDelay(18_000)).toBe(900);
    expect(nextPollDelay(60_000)).toBe(1000);
  });

  it('notices the end of a short run within ~5 % of its time', () => {
    // Poll times for a run that ends at t: the first poll at or after t comes at most
    // max(50 ms, t/20 + a little) later.
    for (const end of [300, 1_000, 3_000, 8_000, 20_000]) {
      let t = 0;
      while (t < end) t += nextPollDelay(t);
      expect(t - end).toBeLessThanOrEqual(Math.max(50, Math.ceil(end / 20) + 50));
    }
  });
});
