import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, uuidv7Time } from './format';
import { outputTree } from './output-tree';
import { currentToken, FIRST_PAGE, hasPrevious, next, pageNumber, previous } from './page-tokens';

describe('page tokens', () => {
  it('walks forward with next_page_token and back with a stack', () => {
    let p = FIRST_PAGE;
    expect(currentToken(p)).toBe('');
    expect(hasPrevious(p)).toBe(false);
    p = next(p, 't1');
    p = next(p, 't2');
    expect([currentToken(p), pageNumber(p)]).toEqual(['t2', 3]);
    p = previous(p);
    expect([currentToken(p), pageNumber(p)]).toEqual(['t1', 2]);
    p = previous(previous(p));
    expect(p).toEqual(['']);
    expect(next(p, '')).toBe(p);
  });
});

describe('outputTree', () => {
  it('nests paths into folders with total sizes, folders first', () => {
    const tree = outputTree([
      { path: 'z.txt', size: 1, url: 'u/z' },
      { path: 'dir/b.txt', size: 2, url: 'u/b' },
      { path: 'dir/sub/a.txt', size: 3, url: 'u/a' },
    ]);
    expect(tree.map((n) => [n.name, n.size, n.url])).toEqual([
      ['dir', 5, undefined],
      ['z.txt', 1, 'u/z'],
    ]);
    expect(tree[0].children.map((n) => [n.name, n.path, n.size])).toEqual([
      ['sub', 'dir/sub', 3],
      ['b.txt', 'dir/b.txt', 2],
    ]);
    expect(tree[0].children[0].children[0]).toMatchObject({ name: 'a.txt', path: 'dir/sub/a.txt', url: 'u/a' });
  });
});

describe('format', () => {
  it('formats sizes and durations', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20 MiB');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(184_000)).toBe('3 min 4 s');
  });

  it('reads the submit time of a UUIDv7 run id', () => {
    expect(uuidv7Time('01890a5d-ac96-774b-bcce-b302099a8057')).toBe(0x01890a5dac96);
    expect(uuidv7Time('6f1c2b6e-1c9a-4b1a-8d2e-0c1f2a3b4c5d')).toBeUndefined();
  });
});
