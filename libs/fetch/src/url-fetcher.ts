import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import dns from 'node:dns';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, realpath, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Agent, request } from 'undici';
import { embeddedIPv4 } from './embedded-ipv4';

/** The URL is refused by policy (scheme, address, folder): the client's request is at fault. */
export class FetchRefusedError extends Error {
  override name = 'FetchRefusedError';
}

/** The URL was allowed but could not be read (missing, HTTP error, too large, too slow). */
export class FetchFailedError extends Error {
  override name = 'FetchFailedError';
}

export interface FetchPolicy {
  /** Largest object fetched, in bytes. */
  maxBytes: number;
  /** Whole fetch, headers and body, in milliseconds. */
  timeoutMs: number;
  maxRedirects: number;
  /** Addresses outbound fetches may reach although private/loopback/link-local (CIDRs). */
  allowCidrs: string[];
  /** Folders under which file:// URLs may be read; none: file:// is refused. */
  fileAllowDirs: string[];
  /** Folders never read over file://, even inside an allowed one: the server's own store and scratch. */
  fileDenyDirs?: string[];
  /** Where s3:// URLs may be read: `s3://bucket` (all of it) or `s3://bucket/prefix/`; none: s3:// is refused. */
  s3Allow?: string[];
  /** s3:// locations never read, even inside an allowed one: the object store's own keys (other runs'). */
  s3Deny?: string[];
}

/** A bucket and a key (or a key prefix ending in `/`, or '' for the whole bucket). */
interface S3Place {
  bucket: string;
  key: string;
}

/** An `s3://bucket/prefix` setting as a place: its prefix ends with `/` (a folder), or is '' (the bucket). */
export function s3Area(location: string): S3Place {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location.trim());
  if (!m) throw new Error(`"${location}" is not an s3://bucket or s3://bucket/prefix location`);
  const key = m[2].replace(/\/+$/, '');
  return { bucket: m[1], key: key ? `${key}/` : '' };
}

/**
 * The place an s3:// URL names. Keys with empty, `.` or `..` segments are refused: S3 takes
 * them literally, but an S3-compatible server backed by a file system may not, and a prefix
 * check must mean what it says.
 */
function s3Place(url: URL): S3Place {
  const key = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const segments = key.replace(/\/$/, '').split('/');
  if (key && segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new FetchRefusedError(`${url.href}: an s3:// key with an empty, "." or ".." segment is refused`);
  }
  return { bucket: url.hostname, key };
}

/** Whether a place lies in an area (a listing of a prefix counts as its folder). */
const s3Inside = (place: S3Place, area: S3Place) => place.bucket === area.bucket && (place.key.endsWith('/') ? place.key : `${place.key}/`).startsWith(area.key);
/** Whether a place and an area share any key: one holds the other. */
const s3Overlaps = (place: S3Place, area: S3Place) => place.bucket === area.bucket && (s3Inside(place, area) || area.key.startsWith(place.key));

/** Addresses no outbound fetch may reach unless allowed: loopback, private, link-local, and the like. */
const BLOCKED_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.168.0.0/16', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4'];
/**
 * IPv6 addresses that embed an IPv4 one (mapped, compatible, NAT64, 6to4) are judged by it
 * (embeddedIPv4); these two embed one where no rule of ours can find it: NAT64 local-use
 * prefixes (RFC 8215, the IPv4 address placed by the operator's prefix length) and Teredo
 * (the client's address inverted, reached through a relay).
 */
const BLOCKED_V6 = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8', '64:ff9b:1::/48', '2001::/32'];

function blockList(cidrs: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    list.addSubnet(address, Number(bits ?? (family === 'ipv6' ? 128 : 32)), family);
  }
  return list;
}

const isInside = (file: string, dir: string) => file === dir || file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** Drops a response body without reading it (its abort error is expected, not thrown). */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Counts bytes through a stream and fails it past a limit (whatever Content-Length claimed). */
function byteLimit(max: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) done(new FetchFailedError(`${what} is larger than ${max} bytes`));
      else done(null, chunk);
    },
  });
}

/**
 * Reads workflows and inputs from where users keep them: http(s) (undici; bounded size, time
 * and redirects; private addresses refused at connect time, so DNS tricks do not get round it),
 * s3:// (the configured S3 client) and file:// (only under folders the operator allowed).
 */
export class UrlFetcher {
  private readonly blocked = blockList([...BLOCKED_V4, ...BLOCKED_V6]);
  private readonly allowed: net.BlockList;
  private readonly agent: Agent;

  constructor(
    private readonly policy: FetchPolicy,
    private readonly s3?: S3Client,
  ) {
    this.allowed = blockList(policy.allowCidrs);
    this.agent = new Agent({
      connect: {
        lookup: (hostname, options, callback) => {
          dns.lookup(hostname, { all: true }, (err, addresses) => {
            if (err) return callback(err, '', 4);
            const bad = addresses.find((a) => this.isBlocked(a.address));
            if (bad) return callback(new FetchRefusedError(`${hostname} resolves to ${this.shown(bad.address)}, a private address`), '', 4);
            if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
            callback(null, addresses[0].address, addresses[0].family);
          });
        },
      },
    });
  }

  /** Schemes this fetcher reads, as service-info names them. */
  get protocols(): string[] {
    return ['http', 'https', ...(this.s3 && this.policy.s3Allow?.length ? ['s3'] : []), ...(this.policy.fileAllowDirs.length ? ['file'] : [])];
  }

  isBlocked(address: string): boolean {
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (this.allowed.check(address, family)) return false;
    const v4 = family === 'ipv6' ? embeddedIPv4(address) : undefined;
    // `::127.0.0.1`, `64:ff9b::7f00:1` and `2002:7f00:1::` reach 127.0.0.1 as surely as it does.
    if (v4 !== undefined) return this.isBlocked(v4);
    return this.blocked.check(address, family);
  }

  /** An address in a message: an IPv6 one that embeds an IPv4 one says which. */
  private shown(address: string): string {
    const v4 = net.isIPv6(address) ? embeddedIPv4(address) : undefined;
    return v4 === undefined ? address : `${address} (IPv4 ${v4})`;
  }

  /** Checks a URL's scheme (and, for IP literals, its address) without fetching it. */
  check(url: string): URL {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new FetchRefusedError(`"${url}" is not a URL`);
    }
    const scheme = parsed.protocol.slice(0, -1);
    if (scheme === 's3') this.checkS3(parsed);
    if (scheme === 'file') {
      if (this.policy.fileAllowDirs.length === 0) throw new FetchRefusedError('file:// URLs are refused: no folder is allowed (WES_FILE_ALLOW_DIRS)');
      // Checked on the path as written first, so that nothing about files elsewhere is revealed.
      const file = path.resolve(decodeURIComponent(parsed.pathname));
      if (!this.policy.fileAllowDirs.some((dir) => isInside(file, path.resolve(dir)))) {
        throw new FetchRefusedError(`${url} is outside the folders file:// URLs may read (WES_FILE_ALLOW_DIRS)`);
      }
      this.checkNotDenied(url, file, (this.policy.fileDenyDirs ?? []).map((d) => path.resolve(d)));
    }
    if (!['http', 'https', 's3', 'file'].includes(scheme)) {
      throw new FetchRefusedError(`the "${scheme}" scheme is not supported (supported: ${this.protocols.join(', ')}, or an attachment name)`);
    }
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    if ((scheme === 'http' || scheme === 'https') && net.isIP(host) && this.isBlocked(host)) {
      throw new FetchRefusedError(`${this.shown(host)} is a private address`);
    }
    return parsed;
  }

  /** An s3:// URL must lie in an allowed place, and not touch the object store's own keys. */
  private checkS3(url: URL): void {
    if (!this.s3) throw new FetchRefusedError('s3:// URLs need the S3 settings (WES_S3_*, or WES_S3_INPUT_* for a client of their own)');
    const place = s3Place(url);
    const allowed = (this.policy.s3Allow ?? []).map(s3Area);
    if (allowed.length === 0) throw new FetchRefusedError('s3:// URLs are refused: no bucket or prefix is allowed (WES_S3_INPUT_ALLOW)');
    if (!allowed.some((area) => s3Inside(place, area))) {
      throw new FetchRefusedError(`${url.href} is outside the s3:// locations inputs may be read from (WES_S3_INPUT_ALLOW)`);
    }
    if ((this.policy.s3Deny ?? []).map(s3Area).some((area) => s3Overlaps(place, area))) {
      throw new FetchRefusedError(`${url.href} is in (or holds) the server's own object store, which inputs may not read`);
    }
  }

  /** A file or folder (as written, or its real path) inside the server's own folders is refused. */
  private checkNotDenied(url: string, file: string, denied: string[]): void {
    if (denied.some((dir) => isInside(file, dir) || isInside(dir, file))) {
      throw new FetchRefusedError(`${url} is in (or holds) the server's own data or scratch folders, which inputs may not read`);
    }
  }

  /** The denied folders by their real paths (a link to one is refused as surely as the path). */
  private realDenied(): Promise<string[]> {
    return Promise.all((this.policy.fileDenyDirs ?? []).map((d) => realpath(d).catch(() => path.resolve(d))));
  }

  /** Opens a URL for reading; the stream fails if it grows past maxBytes. */
  async open(url: string, signal?: AbortSignal): Promise<{ body: Readable; finalUrl: string }> {
    const parsed = this.check(url);
    // An error of the source (or the limit) reaches whoever reads the returned stream.
    const limited = (source: Readable) => {
      const out = byteLimit(this.policy.maxBytes, url);
      pipeline(source, out).catch(() => undefined);
      return out;
    };
    switch (parsed.protocol) {
      case 'file:':
        return { body: limited(await this.openFile(parsed)), finalUrl: url };
      case 's3:':
        return { body: limited(await this.openS3(parsed, signal)), finalUrl: url };
      default: {
        const { body, finalUrl } = await this.openHttp(parsed, signal);
        return { body: limited(body), finalUrl };
      }
    }
  }

  /** Downloads a URL into a file; returns its size. */
  async fetchToFile(url: string, file: string, signal?: AbortSignal): Promise<number> {
    const deadline = AbortSignal.timeout(this.policy.timeoutMs);
    const both = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const { body } = await this.open(url, both);
    await mkdir(path.dirname(file), { recursive: true });
    try {
      await pipeline(body, createWriteStream(file), { signal: both });
    } catch (err) {
      if (deadline.aborted) throw new FetchFailedError(`${url}: no answer within ${this.policy.timeoutMs} ms`);
      throw err;
    }
    return (await stat(file)).size;
  }

  /** Reads a (small) URL as text. */
  async fetchText(url: string): Promise<{ text: string; finalUrl: string }> {
    const deadline = AbortSignal.timeout(this.policy.timeoutMs);
    const { body, finalUrl } = await this.open(url, deadline);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body) chunks.push(chunk as Buffer);
    } catch (err) {
      if (deadline.aborted) throw new FetchFailedError(`${url}: no answer within ${this.policy.timeoutMs} ms`);
      throw err;
    }
    return { text: Buffer.concat(chunks).toString('utf8'), finalUrl };
  }

  /**
   * The files under a directory URL, each with its path relative to it and its own URL:
   * s3://bucket/prefix (a listing) or file:///folder (under the allowed folders). Directories
   * cannot be listed over http(s).
   */
  async listDirectory(url: string, maxFiles = 10_000): Promise<{ path: string; url: string }[]> {
    const parsed = this.check(url);
    const out: { path: string; url: string }[] = [];
    const add = (rel: string, fileUrl: string) => {
      if (out.length >= maxFiles) throw new FetchFailedError(`${url} holds more than ${maxFiles} files`);
      out.push({ path: rel, url: fileUrl });
    };
    if (parsed.protocol === 's3:') {
      const Bucket = parsed.hostname;
      const prefix = decodeURIComponent(parsed.pathname.replace(/^\//, '')).replace(/\/?$/, '/');
      let token: string | undefined;
      try {
        do {
          const page = await this.s3!.send(new ListObjectsV2Command({ Bucket, Prefix: prefix === '/' ? '' : prefix, ContinuationToken: token }));
          for (const o of page.Contents ?? []) {
            if (!o.Key || o.Key.endsWith('/')) continue;
            add(o.Key.slice(prefix === '/' ? 0 : prefix.length), `s3://${Bucket}/${o.Key.split('/').map(encodeURIComponent).join('/')}`);
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      } catch (err) {
        if (err instanceof FetchFailedError) throw err;
        throw new FetchFailedError(`${url}: ${(err as Error).name}: ${(err as Error).message}`);
      }
      if (out.length === 0) throw new FetchFailedError(`${url}: no such folder (no object under it)`);
      return out;
    }
    if (parsed.protocol === 'file:') {
      let root: string;
      try {
        root = await realpath(fileURLToPath(parsed));
      } catch {
        throw new FetchFailedError(`${url}: no such folder`);
      }
      const roots = await Promise.all(this.policy.fileAllowDirs.map((d) => realpath(d).catch(() => path.resolve(d))));
      if (!roots.some((r) => isInside(root, r))) throw new FetchRefusedError(`${url} is outside the folders file:// URLs may read (WES_FILE_ALLOW_DIRS)`);
      this.checkNotDenied(url, root, await this.realDenied());
      if (!(await stat(root)).isDirectory()) throw new FetchFailedError(`${url} is not a folder`);
      for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
        if (e.isDirectory()) continue;
        const full = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
        // Links are followed only as far as the allowed folders (openFile checks each target).
        add(path.relative(root, full).split(path.sep).join('/'), pathToFileURL(full).href);
      }
      return out;
    }
    throw new FetchRefusedError(`${url}: a Directory input cannot be listed over ${parsed.protocol.slice(0, -1)}; use s3://, file:// or attachments`);
  }

  private async openHttp(start: URL, signal?: AbortSignal): Promise<{ body: Readable; finalUrl: string }> {
    let url = start;
    for (let hop = 0; ; hop++) {
      let res;
      try {
        res = await request(url, {
          dispatcher: this.agent,
          method: 'GET',
          signal,
          headersTimeout: this.policy.timeoutMs,
          bodyTimeout: this.policy.timeoutMs,
          headers: { 'user-agent': 'wes-server' },
        });
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause;
        if (err instanceof FetchRefusedError) throw err;
        if (cause instanceof FetchRefusedError) throw cause;
        throw new FetchFailedError(`${url.href}: ${(err as Error).message}`);
      }
      const { statusCode, headers, body } = res;
      if (statusCode >= 300 && statusCode < 400 && headers.location) {
        body.resume();
        if (hop >= this.policy.maxRedirects) throw new FetchFailedError(`${start.href}: more than ${this.policy.maxRedirects} redirects`);
        url = this.check(new URL(String(headers.location), url).href);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchRefusedError(`${start.href} redirects to ${url.protocol} URL`);
        continue;
      }
      if (statusCode !== 200) {
        body.resume();
        throw new FetchFailedError(`${url.href}: HTTP ${statusCode}`);
      }
      const length = Number(headers['content-length'] ?? NaN);
      if (length > this.policy.maxBytes) {
        discard(body);
        throw new FetchFailedError(`${url.href} is ${length} bytes, larger than ${this.policy.maxBytes}`);
      }
      return { body: body as unknown as Readable, finalUrl: url.href };
    }
  }

  private async openS3(url: URL, signal?: AbortSignal): Promise<Readable> {
    const Bucket = url.hostname;
    const Key = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!Bucket || !Key) throw new FetchRefusedError(`${url.href}: an s3:// URL names a bucket and a key`);
    try {
      const out = await this.s3!.send(new GetObjectCommand({ Bucket, Key }), { abortSignal: signal });
      if (Number(out.ContentLength ?? 0) > this.policy.maxBytes) {
        discard(out.Body as Readable);
        throw new FetchFailedError(`${url.href} is ${out.ContentLength} bytes, larger than ${this.policy.maxBytes}`);
      }
      return out.Body as Readable;
    } catch (err) {
      if (err instanceof FetchFailedError) throw err;
      throw new FetchFailedError(`${url.href}: ${(err as Error).name}: ${(err as Error).message}`);
    }
  }

  private async openFile(url: URL): Promise<Readable> {
    let real: string;
    try {
      real = await realpath(fileURLToPath(url));
    } catch {
      throw new FetchFailedError(`${url.href}: no such file`);
    }
    const roots = await Promise.all(this.policy.fileAllowDirs.map((d) => realpath(d).catch(() => path.resolve(d))));
    if (!roots.some((root) => isInside(real, root))) {
      throw new FetchRefusedError(`${url.href} is outside the folders file:// URLs may read (WES_FILE_ALLOW_DIRS)`);
    }
    this.checkNotDenied(url.href, real, await this.realDenied());
    const s = await stat(real);
    if (!s.isFile()) throw new FetchFailedError(`${url.href} is not a file`);
    if (s.size > this.policy.maxBytes) throw new FetchFailedError(`${url.href} is ${s.size} bytes, larger than ${this.policy.maxBytes}`);
    return createReadStream(real);
  }
}
