import { describe, expect, it } from 'vitest';
import { wesBaseUrl } from './wes-api-client';

describe('wesBaseUrl', () => {
  it('appends /ga4gh/wes/v1 to an origin (or a path prefix) and keeps a full base as it is', () => {
    expect(wesBaseUrl('http://localhost:8080')).toBe('http://localhost:8080/ga4gh/wes/v1');
    expect(wesBaseUrl('http://localhost:8080/')).toBe('http://localhost:8080/ga4gh/wes/v1');
    expect(wesBaseUrl('https://h.example/ga4gh/wes/v1/')).toBe('https://h.example/ga4gh/wes/v1');
    expect(wesBaseUrl('https://h.example/wes')).toBe('https://h.example/wes/ga4gh/wes/v1');
    expect(wesBaseUrl('localhost:8080')).toBe('http://localhost:8080/ga4gh/wes/v1');
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => wesBaseUrl('ftp://h.example')).toThrow('--url: "ftp://h.example" is not an http(s) URL');
    expect(() => wesBaseUrl('http://')).toThrow('--url: "http://" is not a URL');
  });
});
