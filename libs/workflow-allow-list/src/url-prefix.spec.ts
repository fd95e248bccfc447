import { describe, expect, it } from 'vitest';
import { normaliseUrlPrefix, whyNotUnderPrefix } from './url-prefix';

const under = (url: string, prefix: string) => whyNotUnderPrefix(url, normaliseUrlPrefix(prefix)) === undefined;

describe('URL prefixes of the allow-list', () => {
  it('take a URL under a folder prefix, written in any equivalent form', () => {
    const prefix = 'https://ok.example/wf/';
    for (const url of [
      'https://ok.example/wf/main.cwl',
      'https://ok.example/wf/tools/x.cwl',
      'HTTPS://OK.EXAMPLE:443/wf/./main.cwl',
      'https://ok.example/wf/a/../main.cwl',
      'https://ok.example/wf/main.cwl#main',
    ]) {
      expect(under(url, prefix), url).toBe(true);
    }
  });

  it('refuse what only looks as if it were under the prefix', () => {
    const prefix = 'https://ok.example/wf/';
    for (const url of [
      'https://ok.example/wf/../evil.cwl', // dot segments are resolved first
      'https://ok.example/wf/%2e%2e/evil.cwl',
      'https://ok.example/wf/%2E%2E/evil.cwl',
      'https://ok.example/wf\\..\\evil.cwl', // a backslash is a slash to the URL parser
      'https://ok.example/wf/..%2Fevil.cwl', // a server might decode %2F
      'https://ok.example/wf/x%5C..%5C..%5Cevil.cwl',
      'https://ok.example/wf/main.cwl%00.txt',
      'https://ok.example.evil.com/wf/main.cwl',
      'https://ok.example@evil.com/wf/main.cwl',
      'https://user:pw@ok.example/wf/main.cwl',
      'https://evil.com/https://ok.example/wf/main.cwl',
      'http://ok.example/wf/main.cwl',
      'https://ok.example:8443/wf/main.cwl',
      'https://ok.example/wf/main.cwl?redirect=https://evil.com/x.cwl',
      'https://ok.example/wfx/main.cwl',
      'https://ok.example/WF/main.cwl',
      'main.cwl',
    ]) {
      expect(under(url, prefix), url).toBe(false);
    }
  });

  it('match a prefix without a trailing slash on whole path segments only', () => {
    expect(under('https://ok.example/wf', 'https://ok.example/wf')).toBe(true);
    expect(under('https://ok.example/wf/main.cwl', 'https://ok.example/wf')).toBe(true);
    expect(under('https://ok.example/wf-evil/main.cwl', 'https://ok.example/wf')).toBe(false);
    expect(under('https://ok.example/wf.cwl', 'https://ok.example/wf')).toBe(false);
    expect(under('https://ok.example/anything.cwl', 'https://ok.example')).toBe(true);
  });

  it('take s3 and file prefixes', () => {
    expect(under('s3://bucket/wf/main.cwl', 's3://bucket/wf/')).toBe(true);
    expect(under('s3://bucket/wf/../other/main.cwl', 's3://bucket/wf/')).toBe(false);
    expect(under('s3://bucket-evil/wf/main.cwl', 's3://bucket')).toBe(false);
    expect(under('file:///srv/workflows/main.cwl', 'file:///srv/workflows/')).toBe(true);
    expect(under('file:///srv/workflows/../secret.cwl', 'file:///srv/workflows/')).toBe(false);
  });

  it('normalise a prefix, and refuse one that cannot be judged', () => {
    expect(normaliseUrlPrefix('HTTPS://Ok.Example:443/a/./b/')).toBe('https://ok.example/a/b/');
    expect(() => normaliseUrlPrefix('ok.example/wf/')).toThrow('not an absolute URL');
    expect(() => normaliseUrlPrefix('ftp://ok.example/')).toThrow('only http, https, s3 and file');
    expect(() => normaliseUrlPrefix('https://ok.example/wf/?x=1')).toThrow('no query');
    expect(() => normaliseUrlPrefix('https://ok.example/wf/#x')).toThrow('no query or fragment');
    expect(() => normaliseUrlPrefix('https://u:p@ok.example/')).toThrow('credentials');
    expect(() => normaliseUrlPrefix('https://ok.example/a%2Fb/')).toThrow('escaped');
  });
});
