import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveInside, safeRelativePath, UnsafePathError } from './safe-path';

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

  it('does not accept a sibling folder that shares the root as a prefix', () => {
    // "attachments-evil" starts with "attachments" as a string but is not inside it.
    const full = resolveInside(root, 'x');
    expect(full.startsWith(root + path.sep)).toBe(true);
    expect(() => resolveInside(root, '../attachments-evil/x')).toThrow(UnsafePathError);
  });
});
