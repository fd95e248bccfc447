import { describe, expect, it } from 'vitest';
import { PathClashError, PathSet } from './path-set';
import { UnsafePathError } from './safe-path';

describe('PathSet', () => {
  it('holds files side by side and in sub-folders', () => {
    const set = new PathSet(['main.cwl', 'tools/a.cwl', 'tools/b.cwl', 'tools/sub/c.cwl', 'toolsx', 'tool']);
    expect(set.size).toBe(6);
    expect(set.has('tools/a.cwl')).toBe(true);
    expect(set.has('tools')).toBe(false);
    expect(set.values()).toContain('toolsx');
  });

  it('takes the same path twice as one (repeats are the caller\'s to judge)', () => {
    const set = new PathSet(['a/b', 'a/b']);
    expect(set.size).toBe(1);
  });

  it.each([
    ['a file, then a file inside it', ['x', 'x/y'], /"x" and "x\/y" clash: "x" cannot be both a file and a folder/],
    ['a file inside, then the file', ['x/y', 'x'], /"x" and "x\/y" clash/],
    ['a deep file, then one of its folders', ['a/b/c/d.txt', 'a/b'], /"a\/b" and "a\/b\/c\/d.txt" clash/],
    ['a file, then a deep file under it', ['a/b', 'a/b/c/d.txt'], /"a\/b" and "a\/b\/c\/d.txt" clash/],
  ])('refuses %s with PathClashError naming both', (_what, paths, why) => {
    expect(() => new PathSet(paths)).toThrow(PathClashError);
    expect(() => new PathSet(paths)).toThrow(why);
    expect(() => new PathSet(paths)).toThrow(UnsafePathError);
  });

  it('is unchanged by a refused path', () => {
    const set = new PathSet(['x']);
    expect(() => set.add('x/y/z')).toThrow(PathClashError);
    expect(set.values()).toEqual(['x']);
    set.add('y/z');
    expect(() => set.add('y')).toThrow(/"y" and "y\/z" clash/);
  });
});
