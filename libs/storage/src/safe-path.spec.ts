import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_PATH_LIMITS, PathTooLongError, resolveInside, safeRelativePath, STORE_KEY_LIMITS, UnsafePathError } from './safe-path';

describe('safeRelativePath', () => {
  it.each([
    ['input.txt', 'input.txt'],
    ['tools/echo.cwl', 'tools/echo.cwl'],
    ['a/b/c/d.txt', 'a/b/c/d.txt'],
    ['./main.cwl', 'main.cwl'],
    ['././a/b', 'a/b'],
    ['a//b', 'a/b'],
    ['a/./b', 'a/b'],
    ['..hidden', '..hidden'],
    ['a/..b/c', 'a/..b/c'],
    ['name with spaces.txt', 'name with spaces.txt'],
  ])('keeps %j as %j', (given, expected) => {
    expect(safeRelativePath(given)).toBe(expected);
  });

  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['//server/share', /absolute/],
    ['C:/Windows/x', /absolute/],
    ['c:evil', /absolute/],
    ['..', /\.\./],
    ['../x', /\.\./],
    ['a/../../x', /\.\./],
    ['a/../b', /\.\./],
    ['a/b/..', /\.\./],
    ['a\\..\\b', /backslash/],
    ['a\\b', /backslash/],
    ['a\0b', /NUL/],
    ['.', /folder/],
    ['./', /folder/],
    ['a/', /folder/],
    ['tools/', /folder/],
  ])('refuses %j', (given, why) => {
    expect(() => safeRelativePath(given)).toThrow(UnsafePathError);
    expect(() => safeRelativePath(given)).toThrow(why);
  });

  describe('length limits (UTF-8 bytes: what file systems and S3 count)', () => {
    const seg = (n: number, c = 'a') => c.repeat(n);

    it('keeps a path of 768 bytes made of 200-byte names', () => {
      const name = [seg(200), seg(200), seg(200), seg(165)].join('/');
      expect(Buffer.byteLength(name)).toBe(768);
      expect(safeRelativePath(name)).toBe(name);
    });

    it.each([
      ['a 5,000-character name', seg(5000), /\(5000 bytes\) is longer than the 768 bytes/],
      ['769 bytes in short names', Array.from({ length: 77 }, () => seg(9)).join('/'), /\(769 bytes\) is longer than the 768 bytes/],
      ['one 230-character name in a short path', `dir/${seg(230)}/x.txt`, /name of 230 bytes, longer than the 200 bytes/],
      ['a 201-byte file name', seg(201), /name of 201 bytes, longer than the 200 bytes/],
      ['a name of 101 two-byte characters (202 bytes)', `d/${seg(101, 'é')}`, /name of 202 bytes/],
    ])('refuses %s with PathTooLongError naming the limit', (_what, name, why) => {
      expect(() => safeRelativePath(name)).toThrow(PathTooLongError);
      expect(() => safeRelativePath(name)).toThrow(why);
    });

    it('shows no more than the start of a long name in its message', () => {
      const err = (() => {
        try {
          safeRelativePath(seg(5000));
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(UnsafePathError);
      expect(err!.message.length).toBeLessThan(200);
    });

    it('gives store keys (a client path under a run folder) room for the run folder', () => {
      const key = `runs/0190a8c4-6f1e-7b3c-9d2a-1234567890ab/attachments/${[seg(200), seg(200), seg(200), seg(168)].join('/')}`;
      expect(() => safeRelativePath(key)).toThrow(PathTooLongError);
      expect(safeRelativePath(key, STORE_KEY_LIMITS)).toBe(key);
      expect(STORE_KEY_LIMITS.maxSegmentBytes).toBe(CLIENT_PATH_LIMITS.maxSegmentBytes);
    });
  });

  it('refuses a value that is not a string', () => {
    expect(() => safeRelativePath(undefined as unknown as string)).toThrow(UnsafePathError);
    expect(() => safeRelativePath(42 as unknown as string)).toThrow(UnsafePathError);
  });
});

describe('resolveInside', () => {
  const root = path.resolve('/srv/wes/runs/r1/attachments');

  it('joins a relative path under the folder', () => {
    expect(resolveInside(root, 'tools/echo.cwl')).toBe(path.join(root, 'tools', 'echo.cwl'));
    expect(resolveInside(root, './input.txt')).toBe(path.join(root, 'input.txt'));
  });

  it('resolves a relative root first', () => {
    expect(resolveInside('store/x', 'a.txt')).toBe(path.resolve('store/x', 'a.txt'));
  });

  it.each(['../x', '../../etc/passwd', '/etc/passwd', 'a/../../x', '..', '.', 'a\\..\\..\\x'])('refuses %j', (rel) => {
    expect(() => resolveInside(root, rel)).toThrow(UnsafePathError);
  });

  it('refuses a path longer than the limits before touching the file system', () => {
    expect(() => resolveInside(root, 'a'.repeat(5000))).toThrow(PathTooLongError);
  });

  it('does not accept a sibling folder that shares the root as a prefix', () => {
    // "attachments-evil" starts with "attachments" as a string but is not inside it.
    const full = resolveInside(root, 'x');
    expect(full.startsWith(root + path.sep)).toBe(true);
    expect(() => resolveInside(root, '../attachments-evil/x')).toThrow(UnsafePathError);
  });
});
