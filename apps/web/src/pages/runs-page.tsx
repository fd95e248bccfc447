import { useRef, useState } from 'preact/hooks';
import { RUN_STATES } from '../../../../libs/runs/src/states';
import { RunList, RunSummary, wesFetch } from '../api';
import { ErrorNote, StateBadge } from '../components';
import { formatTime } from '../lib/format';
import { currentToken, FIRST_PAGE, hasPrevious, next, pageNumber, PageTokens, previous } from '../lib/page-tokens';
import { parseTagFilter } from '../lib/params';
import { usePolling } from '../polling';
import { Link, uiHref } from '../router';

const PAGE_SIZE = 20;
/** The list is polled this often (the API sends no ETag for it: plain polling; see README, Dashboard). */
export const RUNS_POLL_MS = 3000;

interface Filter {
  state: string;
  tag: string;
}

/** Rows that match the filter: the server filters too, this keeps the list right if it does not. */
function matches(run: RunSummary, filter: Filter): boolean {
  if (filter.state && run.state !== filter.state) return false;
  const tag = parseTagFilter(filter.tag);
  if (!tag) return true;
  const value = run.tags?.[tag.key];
  return value !== undefined && (tag.value === undefined || value === tag.value);
}

function listUrl(token: string, filter: Filter): string {
  const q = new URLSearchParams({ page_size: String(PAGE_SIZE) });
  if (token) q.set('page_token', token);
  if (filter.state) q.set('state', filter.state);
  const tag = parseTagFilter(filter.tag);
  if (tag) q.set('tag', tag.value === undefined ? tag.key : `${tag.key}:${tag.value}`);
  return `runs?${q}`;
}

export function RunsPage() {
  const [filter, setFilter] = useState<Filter>({ state: '', tag: '' });
  const [draft, setDraft] = useState<Filter>(filter);
  const [pages, setPages] = useState<PageTokens>(FIRST_PAGE);
  const [list, setList] = useState<RunList | undefined>();
  const [error, setError] = useState<unknown>();
  const [updated, setUpdated] = useState<Date | undefined>();
  const etag = useRef<{ url: string; etag: string; list: RunList } | undefined>(undefined);

  const url = listUrl(currentToken(pages), filter);
  usePolling(
    async () => {
      try {
        const headers: Record<string, string> = {};
        const cached = etag.current?.url === url ? etag.current : undefined;
        if (cached) headers['if-none-match'] = cached.etag;
        const res = await wesFetch(url, { headers, cache: 'no-store' });
        const body = res.status === 304 && cached ? cached.list : ((await res.json()) as RunList);
        const tag = res.headers.get('etag');
        etag.current = tag ? { url, etag: tag, list: body } : undefined;
        setList(body);
        setError(undefined);
        setUpdated(new Date());
      } catch (err) {
        setError(err);
      }
    },
    RUNS_POLL_MS,
    [url],
  );

  const apply = (e: Event) => {
    e.preventDefault();
    setFilter(draft);
    setPages(FIRST_PAGE);
  };
  const rows = (list?.runs ?? []).filter((r) => matches(r, filter));

  return (
    <main id="main" tabIndex={-1}>
      <h1>Runs</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter runs">
        <label>
          State
          <select value={draft.state} onChange={(e) => setDraft({ ...draft, state: e.currentTarget.value })} name="state">
            <option value="">all states</option>
            {RUN_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Tag
          <input
            name="tag"
            value={draft.tag}
            placeholder="key:value"
            onInput={(e) => setDraft({ ...draft, tag: e.currentTarget.value })}
            autocomplete="off"
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table class="runs">
          <caption class="visually-hidden">Runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">State</th>
              <th scope="col">Started</th>
              <th scope="col">Ended</th>
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.run_id} data-run-id={r.run_id}>
                <td>
                  <Link href={uiHref(`runs/${r.run_id}`)} class="mono">
                    {r.run_id}
                  </Link>
                </td>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td data-label="Started">{formatTime(r.start_time)}</td>
                <td data-label="Ended">{formatTime(r.end_time)}</td>
                <td>
                  {Object.entries(r.tags ?? {}).map(([k, v]) => (
                    <span class="tag" key={k}>
                      {k}={v}
                    </span>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list && rows.length === 0 && <p class="muted">No runs{filter.state || filter.tag ? ' match this filter on this page' : ' yet'}.</p>}
      <nav class="pager" aria-label="Pages of runs">
        <button type="button" disabled={!hasPrevious(pages)} onClick={() => setPages(previous(pages))}>
          Previous
        </button>
        <span>Page {pageNumber(pages)}</span>
        <button type="button" disabled={!list?.next_page_token} onClick={() => list && setPages(next(pages, list.next_page_token))}>
          Next
        </button>
      </nav>
      {updated && <p class="muted small">Updated {updated.toLocaleTimeString()} (every {RUNS_POLL_MS / 1000} s)</p>}
    </main>
  );
}
