import { describe, expect, it } from 'vitest';
import { firstPageToRead, refreshTaskPages, TaskPage } from './task-pages';

interface T {
  id: number;
  done: boolean;
}
const ended = (t: T) => t.done;
const page = (token: string, ids: number[], done: boolean, next: string): TaskPage<T> => ({ token, tasks: ids.map((id) => ({ id, done })), next });

describe('task pages', () => {
  it('reads again from the first page with a task still going, or the last page', () => {
    expect(firstPageToRead([], ended)).toBe(0);
    expect(firstPageToRead([page('', [1, 2], true, 't2'), page('t2', [3], true, '')], ended)).toBe(1);
    expect(firstPageToRead([page('', [1, 2], true, 't2'), page('t2', [3, 4], false, 't4'), page('t4', [5], true, '')], ended)).toBe(1);
  });

  it('keeps the ended pages and reads the rest with their tokens', async () => {
    const asked: string[] = [];
    const server: Record<string, { tasks: T[]; next: string }> = {
      t2: { tasks: [{ id: 3, done: true }, { id: 4, done: true }], next: 't4' },
      t4: { tasks: [{ id: 5, done: false }], next: '' },
    };
    const before = [page('', [1, 2], true, 't2'), page('t2', [3], false, '')];
    const after = await refreshTaskPages(before, ended, async (token) => (asked.push(token), server[token]));
    expect(asked).toEqual(['t2', 't4']);
    expect(after.flatMap((p) => p.tasks.map((t) => t.id))).toEqual([1, 2, 3, 4, 5]);
    expect(after[0]).toBe(before[0]);
  });

  it('starts from the first page when nothing was read', async () => {
    const asked: string[] = [];
    const after = await refreshTaskPages<T>([], ended, async (token) => (asked.push(token), { tasks: [], next: '' }));
    expect(asked).toEqual(['']);
    expect(after).toEqual([{ token: '', tasks: [], next: '' }]);
  });
});
