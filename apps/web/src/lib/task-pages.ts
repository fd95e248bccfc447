/**
 * A run's tasks, read page by page (GET /runs/{id}/tasks: in start order, a token is the last
 * task id of a page, so it stays valid while the list grows). A task that ended does not
 * change, so each refresh reads again only from the first page still holding a task that has
 * not ended, or the last page (new tasks land there): a run with thousands of finished tasks
 * costs one request a poll, not one per hundred tasks.
 */
export interface TaskPage<T> {
  /** The token this page was read with ('' for the first). */
  token: string;
  tasks: T[];
  /** Its next_page_token ('' when it was the last). */
  next: string;
}

/** The index of the first page to read again. */
export function firstPageToRead<T>(pages: readonly TaskPage<T>[], ended: (task: T) => boolean): number {
  const i = pages.findIndex((p) => p.next === '' || p.tasks.some((t) => !ended(t)));
  return i < 0 ? pages.length : i;
}

/**
 * Reads the pages from the first one to read again to the end, with `read(token)`; returns
 * the pages kept and those read.
 */
export async function refreshTaskPages<T>(
  pages: readonly TaskPage<T>[],
  ended: (task: T) => boolean,
  read: (token: string) => Promise<{ tasks: T[]; next: string }>,
): Promise<TaskPage<T>[]> {
  const from = firstPageToRead(pages, ended);
  const out = pages.slice(0, from);
  let token = from < pages.length ? pages[from].token : (pages.at(-1)?.next ?? '');
  for (;;) {
    const page = await read(token);
    out.push({ token, ...page });
    if (!page.next) return out;
    token = page.next;
  }
}
