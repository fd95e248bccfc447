import { S3Client } from '@aws-sdk/client-s3';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, TestHttpServer } from '../../../test/helpers/http-server';
import { LocalS3, startS3 } from '../../../test/helpers/s3';
import { FetchFailedError, FetchPolicy, FetchRefusedError, UrlFetcher } from './url-fetcher';

/**
 * The fetcher of workflow and input URLs: http(s) with an SSRF guard (literal addresses at
 * check time, host names at connect time, redirects re-checked), bounded size, time and
 * redirects; s3:// through an S3 client; file:// only under allowed folders.
 */
let http: TestHttpServer;
let s3: LocalS3;
let s3Client: S3Client;
let tmp: string;
let allowedDir: string;
let outsideDir: string;

const BUCKET = 'fetch-spec';

function fetcher(policy: Partial<FetchPolicy> = {}, withS3 = false): UrlFetcher {
  // With S3, the buckets these tests read are allowed unless a test says otherwise.
  const s3Allow = withS3 ? [`s3://${BUCKET}`, 's3://bucket', 's3://no-such-bucket'] : [];
  return new UrlFetcher(
    { maxBytes: 1_000_000, timeoutMs: 5000, maxRedirects: 3, allowCidrs: [], fileAllowDirs: [], s3Allow, ...policy },
    withS3 ? s3Client : undefined,
  );
}

/** The fetcher the tests use for the local HTTP server: 127.0.0.1 (only) allowed. */
const local = (policy: Partial<FetchPolicy> = {}) => fetcher({ allowCidrs: ['127.0.0.1/32'], ...policy });

beforeAll(async () => {
  http = await startHttpServer();
  s3 = await startS3();
  s3Client = s3.client;
  await s3.createBucket(BUCKET);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wes-fetch-spec-'));
  allowedDir = path.join(tmp, 'allowed');
  outsideDir = path.join(tmp, 'outside');
  mkdirSync(path.join(allowedDir, 'sub'), { recursive: true });
  mkdirSync(outsideDir);
  writeFileSync(path.join(allowedDir, 'sub', 'in.txt'), 'inside\n');
  writeFileSync(path.join(outsideDir, 'secret.txt'), 'secret\n');
  symlinkSync(path.join(outsideDir, 'secret.txt'), path.join(allowedDir, 'link-out.txt'));
  // A sibling whose name starts with the allowed folder's name.
  mkdirSync(`${allowedDir}-evil`);
  writeFileSync(path.join(`${allowedDir}-evil`, 'x.txt'), 'evil\n');

  http.set('/data/hello.txt', 'hello world\n');
  http.set('/big.bin', Buffer.alloc(2000, 7));
  http.set('/big-chunked.bin', { body: Buffer.alloc(2000, 7), noLength: true });
  http.set('/hang', { hang: true });
  http.set('/redirect-ok', { status: 302, headers: { location: '/data/hello.txt' } });
  for (let i = 0; i < 6; i++) http.set(`/loop/${i}`, { status: 302, headers: { location: `/loop/${i + 1}` } });
  http.set('/loop/6', 'end of the chain\n');
});

afterAll(async () => {
  await http?.stop();
  await s3?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('UrlFetcher.check', () => {
  it.each([
    ['ftp://example.org/x.cwl', /"ftp" scheme is not supported/],
    ['gopher://example.org/x', /"gopher" scheme/],
    ['javascript:alert(1)', /"javascript" scheme/],
    ['data:text/plain,hello', /"data" scheme/],
    ['not a url', /not a URL/],
    ['s3://bucket/key', /s3:\/\/ URLs need the S3 settings/],
    ['file:///etc/passwd', /file:\/\/ URLs are refused/],
    ['http://127.0.0.1/x', /127\.0\.0\.1 is a private address/],
    ['http://127.0.0.2:8080/x', /127\.0\.0\.2 is a private address/],
    ['https://10.1.2.3/x', /10\.1\.2\.3 is a private address/],
    ['http://192.168.1.1/x', /192\.168\.1\.1/],
    ['http://172.16.0.1/x', /172\.16\.0\.1/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a private address/],
    ['http://0.0.0.0/x', /0\.0\.0\.0/],
    ['http://[::1]/x', /::1 is a private address/],
    ['http://[fe80::1]/x', /fe80::1/],
    ['http://[fd00::1]/x', /fd00::1/],
    ['http://2130706433/x', /127\.0\.0\.1/], // 127.0.0.1 as one number: WHATWG URL parsing makes it a dotted address
    ['http://0x7f.1/x', /127\.0\.0\.1/],
    // IPv6 addresses that embed a private IPv4 one: judged by it.
    ['http://[::ffff:127.0.0.1]/x', /::ffff:7f00:1 \(IPv4 127\.0\.0\.1\) is a private address/],
    ['http://[::127.0.0.1]/x', /::7f00:1 \(IPv4 127\.0\.0\.1\) is a private address/],
    ['http://[::a9fe:a9fe]/latest/meta-data/', /IPv4 169\.254\.169\.254/],
    ['http://[64:ff9b::127.0.0.1]/x', /64:ff9b::7f00:1 \(IPv4 127\.0\.0\.1\) is a private address/],
    ['http://[64:ff9b::10.0.0.1]/x', /IPv4 10\.0\.0\.1/],
    ['http://[2002:7f00:1::1]/x', /2002:7f00:1::1 \(IPv4 127\.0\.0\.1\) is a private address/],
    ['http://[2002:c0a8:101::]/x', /IPv4 192\.168\.1\.1/],
    ['http://[64:ff9b:1::7f00:1]/x', /64:ff9b:1::7f00:1 is a private address/],
    ['http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x', /is a private address/],
  ])('refuses %s', (url, why) => {
    const f = fetcher();
    expect(() => f.check(url)).toThrow(FetchRefusedError);
    expect(() => f.check(url)).toThrow(why);
  });

  it('names the supported schemes when refusing one', () => {
    expect(() => fetcher({}, true).check('ftp://x/y')).toThrow(/supported: http, https, s3/);
  });

  it('accepts public http(s) URLs, s3:// with a client, file:// with allowed folders', () => {
    expect(fetcher().check('https://example.org/wf/main.cwl').hostname).toBe('example.org');
    expect(fetcher({}, true).check('s3://bucket/key').protocol).toBe('s3:');
    expect(fetcher({ fileAllowDirs: [allowedDir] }).check(pathToFileURL(path.join(allowedDir, 'x')).href).protocol).toBe('file:');
  });

  it('judges an IPv6 address that embeds an IPv4 one by it: public ones pass, allowed ones pass', () => {
    expect(fetcher().check('http://[64:ff9b::8.8.8.8]/x').hostname).toBe('[64:ff9b::808:808]');
    expect(fetcher().check('http://[2002:808:808::1]/x').hostname).toBe('[2002:808:808::1]');
    expect(fetcher().check('https://[2606:4700::1111]/x').hostname).toBe('[2606:4700::1111]');
    const f = local();
    expect(f.check('http://[::127.0.0.1]/x').hostname).toBe('[::7f00:1]');
    expect(f.check('http://[64:ff9b::127.0.0.1]/x').hostname).toBe('[64:ff9b::7f00:1]');
    expect(() => f.check('http://[::127.0.0.2]/x')).toThrow(FetchRefusedError);
    expect(f.isBlocked('::ffff:127.0.0.1')).toBe(false);
    expect(f.isBlocked('2002:7f00:2::')).toBe(true);
  });

  it('allows exactly the CIDRs the operator listed', () => {
    const f = local();
    expect(f.check('http://127.0.0.1:1/x').hostname).toBe('127.0.0.1');
    expect(() => f.check('http://127.0.0.2:1/x')).toThrow(FetchRefusedError);
    expect(() => f.check('http://10.0.0.1/x')).toThrow(FetchRefusedError);
    expect(() => f.check('http://[::1]/x')).toThrow(FetchRefusedError);
  });

  it('lists exactly the schemes it reads', () => {
    expect(fetcher().protocols).toEqual(['http', 'https']);
    expect(fetcher({}, true).protocols).toEqual(['http', 'https', 's3']);
    expect(fetcher({ fileAllowDirs: [allowedDir] }).protocols).toEqual(['http', 'https', 'file']);
    expect(fetcher({ fileAllowDirs: [allowedDir] }, true).protocols).toEqual(['http', 'https', 's3', 'file']);
    expect(fetcher({ s3Allow: [] }, true).protocols).toEqual(['http', 'https']);
  });
});

describe('UrlFetcher over http', () => {
  it('fetches from an allowed address', async () => {
    expect((await local().fetchText(`${http.origin}/data/hello.txt`)).text).toBe('hello world\n');
  });

  it('refuses 127.0.0.1 when no CIDR allows it (before any request is made)', async () => {
    const before = http.requests.length;
    await expect(fetcher().fetchText(`${http.origin}/data/hello.txt`)).rejects.toThrow(FetchRefusedError);
    expect(http.requests.length).toBe(before);
  });

  it('refuses a host name that resolves to a private address (checked at connect time)', async () => {
    const before = http.requests.length;
    const url = `http://localhost:${new URL(http.origin).port}/data/hello.txt`;
    const err = await fetcher().fetchText(url).catch((e) => e);
    expect(err).toBeInstanceOf(FetchRefusedError);
    expect(err.message).toMatch(/localhost resolves to 127\.0\.0\.1, a private address/);
    expect(http.requests.length).toBe(before);
  });

  it('follows a redirect on the same allowed server, and reports the final URL', async () => {
    const r = await local().fetchText(`${http.origin}/redirect-ok`);
    expect(r.text).toBe('hello world\n');
    expect(r.finalUrl).toBe(`${http.origin}/data/hello.txt`);
  });

  it('refuses a redirect to a private address that is not allowed', async () => {
    http.set('/to-private', { status: 302, headers: { location: 'http://127.0.0.2:9/x' } });
    http.set('/to-metadata', { status: 301, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
    await expect(local().fetchText(`${http.origin}/to-private`)).rejects.toThrow(/127\.0\.0\.2 is a private address/);
    await expect(local().fetchText(`${http.origin}/to-metadata`)).rejects.toThrow(FetchRefusedError);
  });

  it('checks every redirect target by its address (an allowed name passes, [::1] does not)', async () => {
    http.set('/to-localhost', { status: 302, headers: { location: `http://localhost:${new URL(http.origin).port}/data/hello.txt` } });
    // localhost is 127.0.0.1, allowed here: allowed by address, not by name. Without the allow list it is refused.
    await expect(local().fetchText(`${http.origin}/to-localhost`)).resolves.toMatchObject({ text: 'hello world\n' });
    http.set('/to-localhost6', { status: 302, headers: { location: 'http://[::1]:9/x' } });
    await expect(local().fetchText(`${http.origin}/to-localhost6`)).rejects.toThrow(FetchRefusedError);
  });

  it('refuses a redirect to another scheme (file://, s3://)', async () => {
    http.set('/to-file', { status: 302, headers: { location: 'file:///etc/passwd' } });
    http.set('/to-file-allowed', { status: 302, headers: { location: pathToFileURL(path.join(allowedDir, 'sub', 'in.txt')).href } });
    await expect(local().fetchText(`${http.origin}/to-file`)).rejects.toThrow(FetchRefusedError);
    // Even where file:// is allowed, a web server must not be able to point the fetcher at local files.
    await expect(local({ fileAllowDirs: [allowedDir] }).fetchText(`${http.origin}/to-file-allowed`)).rejects.toThrow(FetchRefusedError);
  });

  it('follows at most maxRedirects redirects', async () => {
    await expect(local({ maxRedirects: 3 }).fetchText(`${http.origin}/loop/0`)).rejects.toThrow(/more than 3 redirects/);
    await expect(local({ maxRedirects: 6 }).fetchText(`${http.origin}/loop/0`)).resolves.toMatchObject({ text: 'end of the chain\n' });
    await expect(local({ maxRedirects: 0 }).fetchText(`${http.origin}/redirect-ok`)).rejects.toThrow(FetchFailedError);
  });

  it('a missing document is a FetchFailedError naming the HTTP status', async () => {
    await expect(local().fetchText(`${http.origin}/nope.cwl`)).rejects.toThrow(/HTTP 404/);
    await expect(local().fetchText(`${http.origin}/nope.cwl`)).rejects.toBeInstanceOf(FetchFailedError);
  });

  it('refuses a body larger than maxBytes, by its content-length or as it streams', async () => {
    await expect(local({ maxBytes: 1000 }).fetchText(`${http.origin}/big.bin`)).rejects.toThrow(/larger than 1000/);
    await expect(local({ maxBytes: 1000 }).fetchText(`${http.origin}/big-chunked.bin`)).rejects.toThrow(/larger than 1000 bytes/);
    const file = path.join(tmp, 'dl', 'big.bin');
    await expect(local({ maxBytes: 1000 }).fetchToFile(`${http.origin}/big-chunked.bin`, file)).rejects.toThrow(FetchFailedError);
    expect(await local({ maxBytes: 2000 }).fetchToFile(`${http.origin}/big-chunked.bin`, file)).toBe(2000);
  });

  it('gives up after timeoutMs on a server that does not answer', async () => {
    const started = Date.now();
    const err = await local({ timeoutMs: 500 }).fetchText(`${http.origin}/hang`).catch((e) => e);
    expect(err).toBeInstanceOf(FetchFailedError);
    expect(Date.now() - started).toBeLessThan(4000);
    const file = path.join(tmp, 'dl', 'hang.bin');
    const err2 = await local({ timeoutMs: 500 }).fetchToFile(`${http.origin}/hang`, file).catch((e) => e);
    expect(err2).toBeInstanceOf(FetchFailedError);
  });

  it('a refused connection is a FetchFailedError', async () => {
    // A port nobody listens on (bound then closed by the server helper is not guaranteed: use port 1).
    await expect(local().fetchText('http://127.0.0.1:1/x')).rejects.toBeInstanceOf(FetchFailedError);
  });
});

describe('UrlFetcher over s3://', () => {
  it('reads an object, and fails on a missing one or one too large', async () => {
    await s3.put(BUCKET, 'wf/main.cwl', 'cwlVersion: v1.2\n');
    await s3.put(BUCKET, 'big.bin', Buffer.alloc(5000, 1));
    const f = fetcher({ maxBytes: 1000 }, true);
    expect((await f.fetchText(`s3://${BUCKET}/wf/main.cwl`)).text).toBe('cwlVersion: v1.2\n');
    await expect(f.fetchText(`s3://${BUCKET}/wf/missing.cwl`)).rejects.toBeInstanceOf(FetchFailedError);
    await expect(f.fetchText(`s3://no-such-bucket/x`)).rejects.toBeInstanceOf(FetchFailedError);
    await expect(f.fetchText(`s3://${BUCKET}/big.bin`)).rejects.toThrow(/larger than 1000/);
    await expect(f.fetchText(`s3://${BUCKET}/`)).rejects.toBeInstanceOf(FetchRefusedError);
  });

  it('decodes the key of the URL', async () => {
    await s3.put(BUCKET, 'with space/a b.txt', 'spaced\n');
    const file = path.join(tmp, 'dl', 'spaced.txt');
    expect(await fetcher({}, true).fetchToFile(`s3://${BUCKET}/with%20space/a%20b.txt`, file)).toBe(7);
    expect(readFileSync(file, 'utf8')).toBe('spaced\n');
  });
});

describe('where s3:// and file:// inputs may be read from', () => {
  it('refuses s3:// when no location is allowed, and outside the allowed buckets and prefixes', () => {
    expect(() => fetcher({ s3Allow: [] }, true).check(`s3://${BUCKET}/data/in.txt`)).toThrow(/no bucket or prefix is allowed \(WES_S3_INPUT_ALLOW\)/);
    const f = fetcher({ s3Allow: [`s3://${BUCKET}/data`, 's3://whole-bucket'] }, true);
    expect(f.check(`s3://${BUCKET}/data/in.txt`).protocol).toBe('s3:');
    expect(f.check(`s3://${BUCKET}/data/sub/`).protocol).toBe('s3:');
    expect(f.check(`s3://${BUCKET}/data`).protocol).toBe('s3:');
    expect(f.check('s3://whole-bucket/any/key').protocol).toBe('s3:');
    for (const outside of [`s3://${BUCKET}/database/x`, `s3://${BUCKET}/other/x`, `s3://${BUCKET}/`, 's3://another-bucket/data/in.txt']) {
      expect(() => f.check(outside), outside).toThrow(/outside the s3:\/\/ locations inputs may be read from/);
    }
  });

  it("refuses keys with empty, . or .. segments (a prefix check must mean what it says)", () => {
    const f = fetcher({ s3Allow: [`s3://${BUCKET}/data`] }, true);
    // Written out, `..` is resolved by the URL parser itself: what is checked is what is read.
    for (const key of ['data/../runs/x', 'data/%2e%2e/runs/x']) expect(() => f.check(`s3://${BUCKET}/${key}`)).toThrow(/s3:\/\/fetch-spec\/runs\/x is outside/);
    // Encoded slashes are not: the key they decode to is refused.
    for (const key of ['data//x', 'data/x%2F..%2F..%2Fruns', 'data/x%2F.%2Fy', 'data/x%2F%2Fy']) {
      expect(() => f.check(`s3://${BUCKET}/${key}`), key).toThrow(/empty, "\." or "\.\." segment/);
    }
  });

  it("never reads the object store's own keys, even in an allowed bucket; nor lists a prefix holding them", async () => {
    await s3.put(BUCKET, 'store/runs/other-run/outputs/secret.txt', 'another run\'s output\n');
    await s3.put(BUCKET, 'public/in.txt', 'public\n');
    const f = fetcher({ s3Allow: [`s3://${BUCKET}`], s3Deny: [`s3://${BUCKET}/store/`] }, true);
    await expect(f.fetchText(`s3://${BUCKET}/store/runs/other-run/outputs/secret.txt`)).rejects.toThrow(/the server's own object store/);
    await expect(f.listDirectory(`s3://${BUCKET}/store/runs`)).rejects.toThrow(/the server's own object store/);
    // A listing of the bucket would hold the store's keys.
    await expect(f.listDirectory(`s3://${BUCKET}/`)).rejects.toThrow(/the server's own object store/);
    expect((await f.fetchText(`s3://${BUCKET}/public/in.txt`)).text).toBe('public\n');
    // A store at the bucket's root: the whole bucket is the server's.
    const root = fetcher({ s3Allow: [`s3://${BUCKET}`], s3Deny: [`s3://${BUCKET}/`] }, true);
    await expect(root.fetchText(`s3://${BUCKET}/public/in.txt`)).rejects.toThrow(/the server's own object store/);
  });

  it("never reads the server's data or scratch folders over file://, even inside an allowed folder, nor through a link", async () => {
    const data = path.join(allowedDir, 'server-data');
    mkdirSync(path.join(data, 'runs'), { recursive: true });
    writeFileSync(path.join(data, 'runs', 'other.txt'), 'another run\n');
    symlinkSync(data, path.join(allowedDir, 'link-to-data'));
    const f = fetcher({ fileAllowDirs: [allowedDir], fileDenyDirs: [data] });
    const url = (p: string) => pathToFileURL(p).href;
    expect(() => f.check(url(path.join(data, 'runs', 'other.txt')))).toThrow(/the server's own data or scratch folders/);
    await expect(f.fetchText(url(path.join(allowedDir, 'link-to-data', 'runs', 'other.txt')))).rejects.toThrow(/the server's own data or scratch folders/);
    await expect(f.listDirectory(url(allowedDir))).rejects.toThrow(/the server's own data or scratch folders/);
    await expect(f.listDirectory(url(path.join(allowedDir, 'link-to-data')))).rejects.toThrow(/the server's own data or scratch folders/);
    expect((await f.fetchText(url(path.join(allowedDir, 'sub', 'in.txt')))).text).toBe('inside\n');
  });
});

describe('UrlFetcher over file://', () => {
  const url = (p: string) => pathToFileURL(p).href;

  it('reads a file under an allowed folder', async () => {
    const f = fetcher({ fileAllowDirs: [allowedDir] });
    expect((await f.fetchText(url(path.join(allowedDir, 'sub', 'in.txt')))).text).toBe('inside\n');
  });

  it('refuses a file outside the allowed folders, also through .. or a link', async () => {
    const f = fetcher({ fileAllowDirs: [allowedDir] });
    await expect(f.fetchText(url(path.join(outsideDir, 'secret.txt')))).rejects.toBeInstanceOf(FetchRefusedError);
    await expect(f.fetchText(`file://${allowedDir}/../outside/secret.txt`)).rejects.toBeInstanceOf(FetchRefusedError);
    await expect(f.fetchText(`file://${allowedDir}/sub/%2e%2e/%2e%2e/outside/secret.txt`)).rejects.toBeInstanceOf(FetchRefusedError);
    await expect(f.fetchText(url(path.join(allowedDir, 'link-out.txt')))).rejects.toBeInstanceOf(FetchRefusedError);
    await expect(f.fetchText(url(path.join(`${allowedDir}-evil`, 'x.txt')))).rejects.toBeInstanceOf(FetchRefusedError);
    await expect(f.fetchText('file:///etc/passwd')).rejects.toBeInstanceOf(FetchRefusedError);
  });

  it('does not tell whether a file outside the allowed folders exists', async () => {
    // Refused alike whether it exists or not: no probing of the server's filesystem.
    const f = fetcher({ fileAllowDirs: [allowedDir] });
    const existing = await f.fetchText(url(path.join(outsideDir, 'secret.txt'))).catch((e) => e);
    const missing = await f.fetchText(url(path.join(outsideDir, 'no-such-file.txt'))).catch((e) => e);
    expect(existing).toBeInstanceOf(FetchRefusedError);
    expect(missing).toBeInstanceOf(FetchRefusedError);
    expect(missing.name).toBe(existing.name);
  });

  it('a missing file inside an allowed folder, or a folder, is a FetchFailedError', async () => {
    const f = fetcher({ fileAllowDirs: [allowedDir] });
    await expect(f.fetchText(url(path.join(allowedDir, 'missing.txt')))).rejects.toBeInstanceOf(FetchFailedError);
    await expect(f.fetchText(url(path.join(allowedDir, 'sub')))).rejects.toBeInstanceOf(FetchFailedError);
  });

  it('refuses a file larger than maxBytes', async () => {
    writeFileSync(path.join(allowedDir, 'big.txt'), 'x'.repeat(2000));
    const file = path.join(tmp, 'dl', 'file-big.txt');
    await expect(fetcher({ fileAllowDirs: [allowedDir], maxBytes: 1000 }).fetchToFile(url(path.join(allowedDir, 'big.txt')), file)).rejects.toThrow(/larger than 1000/);
    expect(existsSync(file)).toBe(false);
  });
});
