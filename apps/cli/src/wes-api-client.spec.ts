import { describe, expect, it } from 'vitest';
import { authorizationOf, wesBaseUrl } from './wes-api-client';

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

describe('authorizationOf', () => {
  it('sends a token as Bearer, a user and password as Basic, nothing without credentials', () => {
    expect(authorizationOf({ token: 't0k' })).toBe('Bearer t0k');
    expect(authorizationOf({ user: 'alice', password: 'p:w é' })).toBe(`Basic ${Buffer.from('alice:p:w é', 'utf8').toString('base64')}`);
    expect(authorizationOf({ token: 't0k', user: 'alice', password: 'x' })).toBe('Bearer t0k');
    expect(authorizationOf({})).toBeUndefined();
    expect(authorizationOf()).toBeUndefined();
  });
});
