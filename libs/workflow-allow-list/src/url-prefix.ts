/**
 * URL prefixes of the workflow allow-list. A prefix and a URL are compared after the WHATWG URL
 * parser has normalised both (scheme and host lower-cased, default port dropped, `.` and `..`
 * segments, `%2e` ones included, resolved), and only whole: the same scheme, host and port, and
 * a path that is the prefix's path or lies under it on a `/` boundary. So
 * `https://ok.example/../evil`, `https://ok.example.evil.com/` and `https://ok.example/wf-evil`
 * are not under `https://ok.example/wf`.
 */

/** Percent-escapes a server may decode into a path separator, a dot segment or a string end. */
const ENCODED_SEPARATOR = /%(2f|5c|2e|00)/i;

/** A URL of the allow-list's settings, parsed; throws an Error when it is not an absolute URL. */
export function settingUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new Error(`"${text}" is not an absolute URL`);
  }
}

/** Checks and normalises a prefix of the allow-list; throws an Error saying what is wrong. */
export function normaliseUrlPrefix(prefix: string): string {
  const url = settingUrl(prefix);
  if (!['http:', 'https:', 's3:', 'file:'].includes(url.protocol)) throw new Error(`"${prefix}": only http, https, s3 and file URLs are fetched`);
  if (url.protocol !== 'file:' && !url.host) throw new Error(`"${prefix}" names no host (or bucket)`);
  if (url.username || url.password) throw new Error(`"${prefix}" holds credentials`);
  if (url.search || url.hash || prefix.includes('?') || prefix.includes('#')) throw new Error(`"${prefix}": a prefix holds no query or fragment`);
  if (ENCODED_SEPARATOR.test(url.pathname)) throw new Error(`"${prefix}": an escaped / \\ . or NUL in the path`);
  return url.href;
}

/**
 * Why `url` is not under the (normalised) `prefix`, or undefined when it is. A URL with
 * credentials, a query, or an escaped separator in its path (a server might decode `%2F..%2F`
 * into a way out of the prefix) is never under one. The fragment is ignored: it is not sent.
 */
export function whyNotUnderPrefix(url: string, prefix: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not an absolute URL';
  }
  const p = new URL(prefix);
  if (u.username || u.password) return 'a URL with credentials is never under a prefix';
  if (u.search) return 'a URL with a query is never under a prefix';
  if (ENCODED_SEPARATOR.test(u.pathname)) return 'a URL with an escaped / \\ . or NUL in its path is never under a prefix';
  if (u.protocol !== p.protocol || u.host !== p.host) return `not under ${prefix}`;
  const under = p.pathname.endsWith('/') ? u.pathname.startsWith(p.pathname) : u.pathname === p.pathname || u.pathname.startsWith(`${p.pathname}/`);
  return under ? undefined : `not under ${prefix}`;
}
