import { describe, expect, it } from 'vitest';
import { dropPartialFirstLine, LOG_TAIL_BYTES, nextRange, parseContentRange, stepLog } from './log-tail';

describe('nextRange', () => {
  it('asks for the tail first, then for what follows', () => {
    expect(nextRange(undefined)).toBe(`bytes=-${LOG_TAIL_BYTES}`);
    expect(nextRange(undefined, 10)).toBe('bytes=-10');
    expect(nextRange(0)).toBe('bytes=0-');
    expect(nextRange(1234)).toBe('bytes=1234-');
  });
});

describe('parseContentRange', () => {
  it('reads bytes start-end/size', () => {
    expect(parseContentRange('bytes 10-19/20')).toEqual({ start: 10, end: 19, size: 20 });
    expect(parseContentRange('bytes */20')).toBeNull();
    expect(parseContentRange('bytes 5-3/20')).toBeNull();
    expect(parseContentRange(null)).toBeNull();
  });
});

describe('stepLog', () => {
  it('starts a large log at its tail and says how much was skipped', () => {
    // 1 MiB log, last 64 KiB asked.
    const size = 1 << 20;
    const step = stepLog(undefined, 206, `bytes ${size - LOG_TAIL_BYTES}-${size - 1}/${size}`, LOG_TAIL_BYTES);
    expect(step).toEqual({ offset: size, skipped: size - LOG_TAIL_BYTES, replace: true, useBody: true });
  });

  it('takes a short log whole (the suffix range covers it)', () => {
    expect(stepLog(undefined, 206, 'bytes 0-99/100', 100)).toEqual({ offset: 100, skipped: 0, replace: true, useBody: true });
  });

  it('takes an empty log (200, no body) and then follows from 0', () => {
    expect(stepLog(undefined, 200, null, 0)).toEqual({ offset: 0, skipped: 0, replace: true, useBody: true });
  });

  it('appends what follows the offset', () => {
    expect(stepLog(100, 206, 'bytes 100-149/150', 50)).toEqual({ offset: 150, skipped: 0, replace: false, useBody: true });
  });

  it('keeps its place when nothing was added (416)', () => {
    expect(stepLog(150, 416, null, 60)).toEqual({ offset: 150, skipped: 0, replace: false, useBody: false });
  });

  it('starts over when the bytes are not the ones asked for', () => {
    expect(stepLog(100, 206, 'bytes 0-49/50', 50)).toEqual({ offset: 50, skipped: 0, replace: true, useBody: true });
    expect(stepLog(100, 200, null, 300)).toEqual({ offset: 300, skipped: 0, replace: true, useBody: true });
  });

  it('ignores a whole log of the length already read', () => {
    expect(stepLog(100, 200, null, 100)).toEqual({ offset: 100, skipped: 0, replace: false, useBody: false });
  });

  it('refuses a 206 without Content-Range and other statuses', () => {
    expect(() => stepLog(0, 206, null, 3)).toThrow(/Content-Range/);
    expect(() => stepLog(0, 500, null, 3)).toThrow(/500/);
  });
});

describe('dropPartialFirstLine', () => {
  it('drops up to the first line break', () => {
    expect(dropPartialFirstLine('ne 3\nline 4\n')).toBe('line 4\n');
    expect(dropPartialFirstLine('no break')).toBe('');
  });
});
