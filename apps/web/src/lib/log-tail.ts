/**
 * Following a log over HTTP Range requests: the first read asks for the last `tailBytes`
 * (`bytes=-N`), so a large log is never loaded whole; each later read asks for what follows
 * (`bytes=<offset>-`). The server answers 206 with Content-Range, 200 with the whole (short)
 * log, or 416 when nothing was added since.
 */

/** Bytes of a log's end loaded first. */
export const LOG_TAIL_BYTES = 64 * 1024;

export interface ContentRange {
  start: number;
  end: number;
  size: number;
}

/** Parses `bytes <start>-<end>/<size>`; null for anything else (e.g. the unsatisfied form, with a star). */
export function parseContentRange(header: string | null | undefined): ContentRange | null {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const [start, end, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return start <= end && end < size ? { start, end, size } : null;
}

/** The Range header of the next read: the tail at first (offset undefined), then what follows offset. */
export function nextRange(offset: number | undefined, tailBytes = LOG_TAIL_BYTES): string {
  return offset === undefined ? `bytes=-${tailBytes}` : `bytes=${offset}-`;
}

/** What a read gives: the bytes to add (`replace`: start over with them) and where the next read starts. */
export interface LogStep {
  /** The log's offset after these bytes: where the next read starts. */
  offset: number;
  /** Bytes of the log's beginning not loaded (only on the first read of a large log). */
  skipped: number;
  /** True when the bytes replace what is shown rather than follow it. */
  replace: boolean;
  /** Whether the response's body is to be used. */
  useBody: boolean;
}

/**
 * How one response moves the cursor. `offset`: where this read started (undefined for the
 * first, tail read); `bodyBytes`: the length of the body received.
 */
export function stepLog(offset: number | undefined, status: number, contentRange: string | null, bodyBytes: number): LogStep {
  if (status === 416) return { offset: offset ?? 0, skipped: 0, replace: false, useBody: false };
  if (status === 206) {
    const range = parseContentRange(contentRange);
    if (!range) throw new Error(`a 206 answer without a usable Content-Range (${contentRange ?? 'none'})`);
    if (offset === undefined) return { offset: range.end + 1, skipped: range.start, replace: true, useBody: true };
    // Bytes from elsewhere than asked: the log was replaced; start over from the tail.
    if (range.start !== offset) return { offset: range.end + 1, skipped: range.start, replace: true, useBody: true };
    return { offset: range.end + 1, skipped: 0, replace: false, useBody: true };
  }
  if (status === 200) {
    // The whole log (empty, or a server that ignored the Range): it replaces what is shown.
    if (offset !== undefined && bodyBytes === offset) return { offset, skipped: 0, replace: false, useBody: false };
    return { offset: bodyBytes, skipped: 0, replace: true, useBody: true };
  }
  throw new Error(`unexpected status ${status} for a log read`);
}

/** A tail that starts inside the log begins mid-line: drop up to the first line break. */
export function dropPartialFirstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? '' : text.slice(nl + 1);
}
