import { useEffect, useRef, useState } from 'preact/hooks';
import { runPath, wesFetch } from '../api';
import { ErrorNote } from '../components';
import { formatBytes } from '../lib/format';
import { dropPartialFirstLine, LOG_TAIL_BYTES, nextRange, stepLog } from '../lib/log-tail';
import { usePolling } from '../polling';

/** Characters kept on screen: a log followed for hours drops its oldest lines. */
const MAX_SHOWN_CHARS = 1 << 20;
export const LOG_POLL_MS = 1000;

/**
 * stdout or stderr of a run: the last LOG_TAIL_BYTES first, then followed with Range reads
 * while the run goes on (one last read once it ended), scrolled to the end unless the reader
 * scrolled up.
 */
export function LogView({ runId, stream, finished }: { runId: string; stream: 'stdout' | 'stderr'; finished: boolean }) {
  const [text, setText] = useState('');
  const [skipped, setSkipped] = useState(0);
  const [trimmed, setTrimmed] = useState(false);
  const [follow, setFollow] = useState(true);
  const [error, setError] = useState<unknown>();
  const offset = useRef<number | undefined>(undefined);
  const decoder = useRef(new TextDecoder());
  const pre = useRef<HTMLPreElement>(null);

  // One read at a time: the last read, started when the run ends, may overlap one in flight,
  // and two reads from the same offset would show their bytes twice (or start over).
  const reading = useRef<Promise<unknown>>(Promise.resolve());

  const readMore = async () => {
    const from = offset.current;
    const res = await wesFetch(runPath(runId, `/logs/${stream}`), { headers: { range: nextRange(from) }, cache: 'no-store' }, [416]);
    const body = new Uint8Array(await res.arrayBuffer());
    const step = stepLog(from, res.status, res.headers.get('content-range'), body.byteLength);
    if (step.useBody) {
      if (step.replace) {
        decoder.current = new TextDecoder();
        const first = decoder.current.decode(body, { stream: true });
        setText(step.skipped > 0 ? dropPartialFirstLine(first) : first);
        setSkipped(step.skipped);
      } else if (body.byteLength > 0) {
        const more = decoder.current.decode(body, { stream: true });
        setText((t) => {
          const all = t + more;
          if (all.length <= MAX_SHOWN_CHARS) return all;
          setTrimmed(true);
          return dropPartialFirstLine(all.slice(all.length - MAX_SHOWN_CHARS));
        });
      }
    }
    offset.current = step.offset;
  };

  usePolling(
    async () => {
      const last = finished;
      const read = reading.current.then(readMore);
      reading.current = read.catch(() => undefined);
      try {
        await read;
        setError(undefined);
      } catch (err) {
        setError(err);
      }
      return last;
    },
    LOG_POLL_MS,
    [runId, stream, finished],
  );

  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, follow]);

  const onScroll = () => {
    const el = pre.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
    if (atEnd !== follow) setFollow(atEnd);
  };

  return (
    <div class="log">
      <div class="log-bar">
        <h3 id={`log-${stream}`}>{stream}</h3>
        <label class="inline">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow the end
        </label>
        {!finished && <span class="muted small">live</span>}
      </div>
      {(skipped > 0 || trimmed) && (
        <p class="muted small">
          Showing the end of the log{skipped > 0 ? ` (the first ${formatBytes(skipped)} are not loaded; the last ${formatBytes(LOG_TAIL_BYTES)} were)` : ''}.
        </p>
      )}
      <ErrorNote error={error} />
      <pre ref={pre} tabIndex={0} aria-labelledby={`log-${stream}`} data-stream={stream} onScroll={onScroll}>
        {text || (finished ? '(empty)' : '(nothing yet)')}
      </pre>
    </div>
  );
}
