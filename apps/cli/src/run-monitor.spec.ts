import { describe, expect, it } from 'vitest';
import { nextPollDelay } from './run-monitor';

describe('the wait between status polls', () => {
  it('is a tenth of the time waited so far, at least 100 ms and at most a second', () => {
    expect(nextPollDelay(0)).toBe(100);
    expect(nextPollDelay(500)).toBe(100);
    expect(nextPollDelay(2_500)).toBe(250);
    expect(nextPollDelay(9_000)).toBe(900);
    expect(nextPollDelay(60_000)).toBe(1000);
  });

  it('notices the end of a short run within ~10 % of its time', () => {
    // Poll times for a run that ends at t: the first poll at or after t comes at most
    // max(100 ms, t/10 + a little) later.
    for (const end of [300, 1_000, 3_000, 8_000, 20_000]) {
      let t = 0;
      while (t < end) t += nextPollDelay(t);
      expect(t - end).toBeLessThanOrEqual(Math.max(100, Math.ceil(end / 10) + 100));
    }
  });
});
